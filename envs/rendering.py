"""Offscreen MuJoCo rendering: quality presets, RGB / depth / segmentation from named cameras.

The GL context is created lazily, on the first frame, in the process that renders: a context inherited through
``fork`` hangs, so nothing here touches OpenGL at construction time. Pickling or copying a renderer drops its context;
the copy creates its own on its first frame.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import mujoco
import numpy as np

from simreal.envs.gl_backend import INSTALL_HINT

FrameKind = Literal["rgb", "depth", "segmentation"]
_GEOM = int(mujoco.mjtObj.mjOBJ_GEOM)
FRAME_KINDS: tuple[str, ...] = ("rgb", "depth", "segmentation")


@dataclass(frozen=True)
class RenderQuality:
    """Visual settings baked into the GL context (shadow map, multisampling) and the scene flags."""

    shadowsize: int
    offsamples: int
    shadows: bool
    reflections: bool
    numslices: int  # tessellation of spheres, capsules and cylinders
    numstacks: int


# Process that created this interpreter's first GL context. A context (or the EGL/llvmpipe state behind it)
# inherited through fork() hangs when used, so a forked child must not render; it gets a clear error instead.
_gl_owner_pid: int | None = None

FORK_ERROR = (
    "This process was forked from a process that had already created an OpenGL context; rendering here would "
    "hang. Create vector envs before rendering anything in the parent, or use the 'spawn' start method "
    "(e.g. gymnasium.vector.AsyncVectorEnv(..., context='spawn'))."
)

QUALITY_PRESETS: dict[str, RenderQuality] = {
    # Training images: ~0.2-1 ms per 64x64 frame on a CPU (llvmpipe).
    "fast": RenderQuality(shadowsize=0, offsamples=0, shadows=False, reflections=False, numslices=12, numstacks=6),
    # Videos and figures: MuJoCo's look, ~25 ms per frame on a CPU.
    "high": RenderQuality(shadowsize=2048, offsamples=4, shadows=True, reflections=True, numslices=28, numstacks=16),
}


def check_quality(value: str) -> RenderQuality:
    """Return the preset called ``value`` or raise a ValueError that lists the presets."""
    if value not in QUALITY_PRESETS:
        raise ValueError(f"render_quality must be one of {sorted(QUALITY_PRESETS)}, got {value!r}")
    return QUALITY_PRESETS[value]


def segment_geoms(rgb: np.ndarray, geom_of_segid: np.ndarray) -> np.ndarray:
    """Geom id per pixel (a new C-ordered int32 array, rows top-down) of an ID-colour frame as OpenGL reads it
    (rows bottom-up), whose colour ``r | g << 8 | b << 16`` is a scene geom's segid + 1 (0: background), through
    ``geom_of_segid``. Without green or blue (fewer than 256 ids), the red byte alone is the colour."""
    if not rgb[..., 1:].any():
        return geom_of_segid[rgb[::-1, :, 0]]
    rgbx = np.zeros((*rgb.shape[:2], 4), dtype=np.uint8)
    rgbx[..., :3] = rgb[::-1]
    return geom_of_segid[rgbx.view("<u4")[..., 0]]


class SceneRenderer:
    """Renders one model at one image size and quality; the GL context is created on the first frame."""

    def __init__(self, model: mujoco.MjModel, width: int, height: int, quality: str = "fast") -> None:
        if width < 1 or height < 1:
            raise ValueError(f"image size must be >= 1 pixel, got {width}x{height}")
        self.model = model
        self.width = width
        self.height = height
        self.quality_name = quality
        self.quality = check_quality(quality)
        self._renderer: mujoco.Renderer | None = None

    def __getstate__(self) -> dict:
        """Pickle / deepcopy without the GL context (it holds ctypes pointers and belongs to one process); the copy
        creates its own on its first frame."""
        state = self.__dict__.copy()
        state["_renderer"] = None
        return state

    @property
    def started(self) -> bool:
        """Whether the GL context exists."""
        return self._renderer is not None

    def _start(self) -> mujoco.Renderer:
        global _gl_owner_pid
        if _gl_owner_pid is not None and _gl_owner_pid != os.getpid():
            raise RuntimeError(FORK_ERROR)
        vis = self.model.vis
        settings = [
            (vis.quality, "shadowsize", self.quality.shadowsize),
            (vis.quality, "offsamples", self.quality.offsamples),
            (vis.quality, "numslices", self.quality.numslices),
            (vis.quality, "numstacks", self.quality.numstacks),
            (vis.global_, "offwidth", self.width),
            (vis.global_, "offheight", self.height),
        ]
        saved = [(owner, field, getattr(owner, field)) for owner, field, _ in settings]
        for owner, field, value in settings:
            setattr(owner, field, value)
        try:
            renderer = mujoco.Renderer(self.model, height=self.height, width=self.width)
        except Exception as error:  # GL loading errors come as many types (ImportError, RuntimeError, ...)
            backend = os.environ.get("MUJOCO_GL", "<unset>")
            raise RuntimeError(
                f"Could not create an OpenGL context (MUJOCO_GL={backend}): {error}. {INSTALL_HINT}"
            ) from error
        finally:  # the context has copied what it needs; leave the model as it was
            for owner, field, value in saved:
                setattr(owner, field, value)
        _gl_owner_pid = os.getpid()
        flags = renderer.scene.flags
        flags[mujoco.mjtRndFlag.mjRND_SHADOW] = self.quality.shadows
        flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = self.quality.reflections
        self._renderer = renderer
        return renderer

    def render(self, data: mujoco.MjData, camera: str | int, kind: FrameKind = "rgb") -> np.ndarray:
        """A new array: RGB uint8 (H, W, 3), depth in metres float32 (H, W) or segmentation int32 (H, W, 2).

        Segmentation channels are ``[object id, mjtObj type]`` (-1 for background), as ``mujoco.Renderer`` gives.
        """
        if kind not in FRAME_KINDS:
            raise ValueError(f"kind must be one of {FRAME_KINDS}, got {kind!r}")
        renderer = self._renderer or self._start()
        renderer.update_scene(data, camera=camera)
        if kind == "rgb":
            return renderer.render()
        if kind == "depth":
            renderer.enable_depth_rendering()
            try:
                return renderer.render().astype(np.float32, copy=False)
            finally:
                renderer.disable_depth_rendering()
        renderer.enable_segmentation_rendering()
        try:
            return renderer.render()
        finally:
            renderer.disable_segmentation_rendering()

    def render_depth_segmentation(self, data: mujoco.MjData, camera: str | int) -> tuple[np.ndarray, np.ndarray]:
        """Depth in metres (float32 (H, W)) and the geom id of each pixel (int32 (H, W), -1: background or not a
        geom) from one render pass read back once: the pass (segment and ID-colour flags) and the conversions of
        ``render(kind="depth")`` and ``render(kind="segmentation")``, so the values equal theirs at half the cost."""
        renderer = self._renderer or self._start()
        renderer.update_scene(data, camera=camera)
        scene, context, rect = renderer.scene, renderer._mjr_context, renderer._rect  # no public accessors
        rgb = np.empty((self.height, self.width, 3), dtype=np.uint8)
        raw = np.empty((self.height, self.width), dtype=np.float32)
        flags = scene.flags.copy()
        try:
            scene.flags[mujoco.mjtRndFlag.mjRND_SEGMENT] = True
            scene.flags[mujoco.mjtRndFlag.mjRND_IDCOLOR] = True
            renderer._gl_context.make_current()
            mujoco.mjr_render(rect, scene, context)
            mujoco.mjr_readPixels(rgb, raw, rect, context)
        finally:
            np.copyto(scene.flags, flags)
        extent = self.model.stat.extent  # reversed-Z depth -> metres, as mujoco.Renderer computes it
        znear, zfar = np.float32(self.model.vis.map.znear * extent), np.float32(self.model.vis.map.zfar * extent)
        raw = raw[::-1]  # OpenGL's rows run bottom-up; each result below is a new C-ordered array of flipped rows
        if scene.camera[0].orthographic:
            depth64 = zfar - raw.astype(np.float64) * (zfar - znear)
        else:
            c_coef = np.float32(-0.5) * (-(zfar + znear) / (zfar - znear)) - np.float32(0.5)
            d_coef = np.float32(-0.5) * (-(np.float32(2) * zfar * znear) / (zfar - znear))
            depth64 = np.add(raw, c_coef, dtype=np.float64, order="C")  # in float64, as d / (float64(raw) + c)
            np.divide(d_coef, depth64, out=depth64)
        ngeom = scene.ngeom
        geom_of_segid = np.full(ngeom + 1, -1, dtype=np.int32)  # segid 0 is the background
        for geom in scene.geoms[:ngeom]:
            index = geom.segid
            if index != -1 and geom.objtype == _GEOM:  # an int: comparing with the enum costs ~1 us
                geom_of_segid[index + 1] = geom.objid
        return depth64.astype(np.float32, order="C"), segment_geoms(rgb, geom_of_segid)

    def upload_textures(self, texture_ids: Iterable[int]) -> None:
        """Copy changed ``model.tex_data`` of these textures to the GPU (no-op before the first frame)."""
        self._upload(mujoco.mjr_uploadTexture, texture_ids)

    def upload_meshes(self, mesh_ids: Iterable[int]) -> None:
        """Copy changed ``model.mesh_vert``/normals of these meshes to the GPU (no-op before the first frame)."""
        self._upload(mujoco.mjr_uploadMesh, mesh_ids)

    def _upload(self, upload, ids: Iterable[int]) -> None:
        if self._renderer is None:
            return  # the context reads the model when it is created
        context = self._renderer._mjr_context  # mujoco.Renderer exposes no public accessor for its MjrContext
        self._renderer._gl_context.make_current()
        for element_id in ids:
            upload(self.model, context, int(element_id))

    def close(self) -> None:
        """Free the GL context."""
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None


def gl_info() -> dict[str, str]:
    """Backend, GL vendor and renderer strings of a fresh context (for ``simreal doctor``)."""
    from OpenGL import GL  # PyOpenGL is a mujoco dependency

    renderer = SceneRenderer(mujoco.MjModel.from_xml_string("<mujoco><worldbody/></mujoco>"), 8, 8)
    context = renderer._start()
    try:
        context._gl_context.make_current()
        return {
            "backend": os.environ.get("MUJOCO_GL", "<unset>"),
            "vendor": GL.glGetString(GL.GL_VENDOR).decode(),
            "renderer": GL.glGetString(GL.GL_RENDERER).decode(),
            "version": GL.glGetString(GL.GL_VERSION).decode(),
        }
    finally:
        renderer.close()
