"""Per-frame labels from any simreal env and camera: RGB, depth, per-object segmentation, object poses, 2D boxes,
projected keypoints, camera intrinsics/extrinsics, randomization params, spec hash and seed.

Objects are geoms: every named, visible, non-plane geom of the model unless ``objects`` names them (glob patterns).
The segmentation map holds the geom id of each pixel (-1: background or non-geom).
"""

from __future__ import annotations

import fnmatch
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import gymnasium as gym
import mujoco
import numpy as np

from simreal.envs.camera import CameraModel, camera_model

__all__ = [
    "CORNER_SIGNS",
    "Frame",
    "FrameCapture",
    "PoseSnapshot",
    "box_keypoints",
    "capture_frame",
    "flat_labels",
    "label_frame",
    "label_geoms",
    "mask_bbox",
    "nested_labels",
    "object_arrays",
    "object_labels",
]

# The 8 box corners as signs of the half extents; keypoint 0 is the centre, keypoints 1..8 follow this order.
_GEOM_TYPE = int(mujoco.mjtObj.mjOBJ_GEOM)  # a plain int: comparing arrays with the enum is ~100x slower
CORNER_SIGNS = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], dtype=np.float64)


@dataclass(frozen=True)
class Frame:
    """One labelled frame: images, small JSON-able ``meta`` and the numeric ``labels`` as arrays.

    ``meta``: env_id, seed, step, camera (name, width, height, fovy_deg), objects (geom names, the label order),
    spec_hash, randomization. ``labels``: arrays by dotted name (see ``FORMAT.md``): ``camera.*``, ``objects.*``
    (one row per object), ``task_state.*``. :meth:`nested` gives the format-1 dict of both.
    """

    rgb: np.ndarray  # uint8 (H, W, 3), the observation (sensor effects included when randomized)
    depth: np.ndarray  # float32 (H, W), metres along the optical axis
    segmentation: np.ndarray  # int32 (H, W), geom id or -1
    meta: dict[str, Any]
    labels: dict[str, np.ndarray] = field(default_factory=dict)

    def nested(self) -> dict[str, Any]:
        """Labels and metadata as one JSON-able dict in the layout of format 1 (objects keyed by name)."""
        return nested_labels(self.meta, self.labels)


def geom_names(model: mujoco.MjModel) -> list[str]:
    """Every geom's name ('' when unnamed), read from the model's name buffer at once."""
    buffer = bytes(model.names)
    return [buffer[adr : buffer.index(b"\0", adr)].decode() for adr in model.name_geomadr.tolist()]


# Per compiled model: its geom names and which geoms are named and not planes. Names and types are fixed once a
# model is compiled (randomization changes colours, materials, sizes and masses, never these), so they are read
# once per model instead of once per frame; visibility (alpha, group) is read every frame.
_NAMED_SOLIDS: weakref.WeakKeyDictionary[mujoco.MjModel, tuple[list[str], np.ndarray]] = weakref.WeakKeyDictionary()


def _named_solids(model: mujoco.MjModel) -> tuple[list[str], np.ndarray]:
    cached = _NAMED_SOLIDS.get(model)
    if cached is None:
        names = geom_names(model)
        named = np.array([bool(name) for name in names], dtype=bool)
        cached = _NAMED_SOLIDS[model] = (names, named & (model.geom_type != mujoco.mjtGeom.mjGEOM_PLANE))
    return cached


def label_geoms(model: mujoco.MjModel, objects: Sequence[str] | None = None) -> list[int]:
    """Geom ids to label: those matching ``objects`` (glob patterns), else every named visible non-plane geom
    (alpha > 0 from its material or its own rgba, group 0-2: the groups that render by default)."""
    names, candidate = _named_solids(model)
    if objects is not None:
        return [g for g in np.flatnonzero(candidate).tolist() if any(fnmatch.fnmatchcase(names[g], p) for p in objects)]
    material = model.geom_matid
    alpha = np.where(material >= 0, model.mat_rgba[np.maximum(material, 0), 3], model.geom_rgba[:, 3])
    return np.flatnonzero(candidate & (alpha > 0) & (model.geom_group <= 2)).tolist()


def box_keypoints(model: mujoco.MjModel, data: mujoco.MjData, geom: int) -> np.ndarray:
    """World coordinates ``(9, 3)`` of a geom's centre and the 8 corners of its oriented bounding box."""
    rotation = data.geom_xmat[geom].reshape(3, 3)
    centre, half = model.geom_aabb[geom, :3], model.geom_aabb[geom, 3:]
    local = np.vstack([centre, centre + CORNER_SIGNS * half])
    local[0] = 0.0  # keypoint 0 is the geom frame origin (the object centre)
    return data.geom_xpos[geom] + local @ rotation.T


def mask_bbox(mask: np.ndarray) -> list[int] | None:
    """Tight box ``[x0, y0, x1, y1]`` (pixels, x1/y1 exclusive) of a boolean mask, or None when it is empty."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return None
    return [int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1]


def object_arrays(
    model: mujoco.MjModel,
    data: mujoco.MjData | PoseSnapshot,
    camera: CameraModel,
    segmentation: np.ndarray,
    geoms: Sequence[int],
) -> dict[str, np.ndarray]:
    """Pose, keypoints, projected and visible boxes and pixel count of all ``geoms`` at once, one row each.

    ``objects.bbox`` is ``[x0, y0, x1, y1]`` (x1/y1 exclusive) of the visible pixels, ``-1`` rows when hidden.
    """
    ids = np.asarray(geoms, dtype=np.int64)
    k = len(ids)
    rotation = data.geom_xmat[ids].reshape(k, 3, 3)
    centre, half = model.geom_aabb[ids, :3], model.geom_aabb[ids, 3:]
    local = np.concatenate([np.zeros((k, 1, 3)), centre[:, None] + CORNER_SIGNS[None] * half[:, None]], axis=1)
    points = data.geom_xpos[ids][:, None] + local @ rotation.transpose(0, 2, 1)  # keypoint 0: the geom origin
    pixels, depth = camera.project(points.reshape(-1, 3))
    pixels, depth = pixels.reshape(k, 9, 2), depth.reshape(k, 9)
    quaternion = np.zeros((k, 4))
    xmat = data.geom_xmat
    for row, geom in enumerate(ids.tolist()):
        mujoco.mju_mat2Quat(quaternion[row], xmat[geom])
    corners = pixels[:, 1:]
    bbox, counts = _visible_boxes(segmentation, ids, model.ngeom)
    return {
        "objects.geom_id": ids.astype(np.int32),
        "objects.position": points[:, 0].copy(),
        "objects.quaternion_wxyz": quaternion,
        "objects.keypoints_2d": pixels,
        "objects.keypoints_depth": depth,
        "objects.bbox": bbox,
        "objects.bbox_projected": np.concatenate([corners.min(axis=1), corners.max(axis=1)], axis=1),
        "objects.visible_pixels": counts,
    }


def _visible_boxes(segmentation: np.ndarray, ids: np.ndarray, ngeom: int) -> tuple[np.ndarray, np.ndarray]:
    """Tight boxes (int32 (K, 4), -1 rows when hidden) and pixel counts (int64 (K,)) of geoms ``ids`` in one pass."""
    h, w = segmentation.shape
    label = np.maximum(segmentation, -1) + 1  # 0: background, geom g: g + 1
    n = ngeom + 1
    counts = np.bincount(label.ravel(), minlength=n)[ids + 1].astype(np.int64)
    in_row = np.bincount((label * h + _arange(h)[:, None]).ravel(), minlength=n * h).reshape(n, h)[ids + 1] > 0
    in_col = np.bincount((label * w + _arange(w)[None, :]).ravel(), minlength=n * w).reshape(n, w)[ids + 1] > 0
    first_col, first_row = in_col.argmax(axis=1), in_row.argmax(axis=1)  # (K,): geom k's first column / row
    end_col, end_row = w - in_col[:, ::-1].argmax(axis=1), h - in_row[:, ::-1].argmax(axis=1)  # last + 1
    bbox = np.stack([first_col, first_row, end_col, end_row], axis=1)
    bbox[counts == 0] = -1
    return bbox.astype(np.int32), counts


@lru_cache(maxsize=8)
def _arange(n: int) -> np.ndarray:
    index = np.arange(n)
    index.flags.writeable = False
    return index


def object_labels(
    model: mujoco.MjModel, data: mujoco.MjData, camera: CameraModel, segmentation: np.ndarray, geoms: Sequence[int]
) -> dict[str, dict[str, Any]]:
    """Pose, keypoints, projected and visible boxes and pixel count of each geom, keyed by geom name."""
    names = [model.geom(geom).name for geom in geoms]
    return nested_labels({"objects": names}, object_arrays(model, data, camera, segmentation, geoms))["objects"]


def geom_segmentation(raw: np.ndarray) -> np.ndarray:
    """MuJoCo's ``[object id, object type]`` segmentation -> int32 geom id per pixel (-1 elsewhere)."""
    is_geom = raw[..., 1] == _GEOM_TYPE
    return np.where(is_geom, raw[..., 0], -1).astype(np.int32)


_OBJECT_FIELDS = ("geom_id", "position", "quaternion_wxyz", "keypoints_2d", "keypoints_depth", "bbox")
_OBJECT_FIELDS += ("bbox_projected", "visible_pixels")
_CAMERA_FIELDS = ("intrinsics", "world_to_camera", "position")


def nested_labels(meta: dict[str, Any], labels: dict[str, np.ndarray]) -> dict[str, Any]:
    """``meta`` + ``labels`` arrays -> the format-1 dict: camera with its matrices, objects keyed by name with
    lists (``bbox`` None when hidden), ``task_state`` as lists."""
    nested = {k: v for k, v in meta.items() if k not in ("camera", "objects")}
    if "camera" in meta:
        nested["camera"] = {**meta["camera"], **{f: labels[f"camera.{f}"].tolist() for f in _CAMERA_FIELDS}}
    objects = {}
    for row, name in enumerate(meta.get("objects", [])):
        entry = {f: labels[f"objects.{f}"][row].tolist() for f in _OBJECT_FIELDS}
        if entry["bbox"][0] < 0:
            entry["bbox"] = None
        objects[name] = entry
    nested["objects"] = objects
    prefix = "task_state."
    nested["task_state"] = {k[len(prefix) :]: v.tolist() for k, v in labels.items() if k.startswith(prefix)}
    return nested


def flat_labels(nested: dict[str, Any]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The inverse of :func:`nested_labels`: a format-1 dict -> (``meta``, ``labels`` arrays)."""
    camera = nested["camera"]
    meta = {k: v for k, v in nested.items() if k not in ("camera", "objects", "task_state")}
    meta["camera"] = {k: v for k, v in camera.items() if k not in _CAMERA_FIELDS}
    meta["objects"] = list(nested["objects"])
    labels = {f"camera.{f}": np.asarray(camera[f], dtype=np.float64) for f in _CAMERA_FIELDS}
    rows = list(nested["objects"].values())
    dtypes = {"geom_id": np.int32, "bbox": np.int32, "visible_pixels": np.int64}
    shapes = {"position": (3,), "quaternion_wxyz": (4,), "keypoints_2d": (9, 2), "keypoints_depth": (9,), "bbox": (4,)}
    shapes["bbox_projected"] = (4,)
    for f in _OBJECT_FIELDS:
        values = [[-1] * 4 if f == "bbox" and r[f] is None else r[f] for r in rows]
        array = np.asarray(values, dtype=dtypes.get(f, np.float64))
        labels[f"objects.{f}"] = array.reshape(len(rows), *shapes.get(f, ()))
    for k, v in nested["task_state"].items():
        labels[f"task_state.{k}"] = np.asarray(v, dtype=np.float64)
    return meta, labels


@dataclass(frozen=True)
class PoseSnapshot:
    """Copies of the ``MjData`` fields the labels read (geom and camera poses): a frame's state kept for labelling
    it later, for a few microseconds instead of the ~0.5 ms of a new ``MjData``."""

    geom_xpos: np.ndarray
    geom_xmat: np.ndarray
    cam_xpos: np.ndarray
    cam_xmat: np.ndarray

    @classmethod
    def of(cls, data: mujoco.MjData) -> PoseSnapshot:
        return cls(data.geom_xpos.copy(), data.geom_xmat.copy(), data.cam_xpos.copy(), data.cam_xmat.copy())


@dataclass(frozen=True)
class FrameCapture:
    """A rendered frame and the state its labels are computed from (see :func:`capture_frame`)."""

    rgb: np.ndarray  # uint8 (H, W, 3)
    depth: np.ndarray  # float32 (H, W)
    segmentation: np.ndarray  # int32 (H, W)
    data: mujoco.MjData | PoseSnapshot  # the poses of the frame: the env's own data, or copies
    task_state: dict[str, np.ndarray]  # float64 copies
    info: dict[str, Any]
    seed: int | None
    step: int | None


def capture_frame(
    env: gym.Env,
    camera: str,
    size: int,
    rgb: np.ndarray | None = None,
    info: dict[str, Any] | None = None,
    seed: int | None = None,
    step: int | None = None,
    keep: bool = False,
) -> FrameCapture:
    """Render what a labelled frame of the env's current state, seen by ``camera`` at ``size`` x ``size`` pixels,
    needs now (``rgb``, the observation to store, rendered here when None; depth and segmentation from one pass) and
    what its labels read: the env's ``MjData`` itself, or with ``keep`` a :class:`PoseSnapshot`, so that
    :func:`label_frame` can run later, after more steps, as long as the model stays as it is (within an episode).
    ``info`` supplies the randomization params and spec hash (from
    :class:`~simreal.randomization.DomainRandomization`); ``seed``/``step`` record the provenance. Labelling now:
    ``label_frame(env, camera, capture_frame(env, camera, size, ...))``."""
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"size must be an int >= 1 pixel, got {size!r}")
    base: Any = env.unwrapped
    if rgb is None:
        rgb = base.render_frame(camera, "rgb", size)
    if rgb.shape != (size, size, 3) or rgb.dtype != np.uint8:
        raise ValueError(f"rgb must be uint8 of shape {(size, size, 3)}, got {rgb.dtype} {rgb.shape}")
    depth, segmentation = base.render_depth_segmentation(camera, size)
    data = PoseSnapshot.of(base.data) if keep else base.data
    task_state = {k: np.array(v, dtype=np.float64) for k, v in base.task_state().items()}
    return FrameCapture(rgb, depth, segmentation, data, task_state, info or {}, seed, step)


def label_frame(env: gym.Env, camera: str, capture: FrameCapture, objects: Sequence[str] | None = None) -> Frame:
    """The labelled frame of a capture of ``env``, whose model must be the one the frame was captured with."""
    base: Any = env.unwrapped
    model, data = base.model, capture.data
    height, width = capture.depth.shape
    cam = camera_model(model, data, camera, width, height)
    geoms = label_geoms(model, objects)
    names = _named_solids(model)[0]
    info = capture.info
    meta = {
        "env_id": env.spec.id if env.spec is not None else type(base).__name__,
        "seed": capture.seed,
        "step": capture.step,
        "camera": {"name": cam.name, "width": cam.width, "height": cam.height, "fovy_deg": cam.fovy_deg},
        "objects": [names[geom] for geom in geoms],
        "spec_hash": info.get("spec_hash"),
        "randomization": info.get("randomization"),  # the wrapper's JSON-able summary, not copied
    }
    labels = {
        "camera.intrinsics": cam.intrinsics,
        "camera.world_to_camera": cam.world_to_camera,
        "camera.position": cam.position,
        **object_arrays(model, data, cam, capture.segmentation, geoms),
        **{f"task_state.{k}": v for k, v in capture.task_state.items()},
    }
    return Frame(rgb=capture.rgb, depth=capture.depth, segmentation=capture.segmentation, meta=meta, labels=labels)
