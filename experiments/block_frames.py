"""Labelled reset frames of the Push block and a point detector read through each frame's camera: what the
localization and transfer experiments share.

A frame is one reset of ``simreal/Push-v0`` seen by the ``front`` camera, labelled with the block's table position,
its centre's pixel and the camera's calibration; :class:`ViewFrames` hold the same scene seen by several cameras at
once (the multi-view pipeline's frames). Frames of a domain are seeded from the experiment seed and a key
(:func:`seeded_frames`), so adding domains or evaluating saved models later gives every domain the same frames.
"""

from __future__ import annotations

import json
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mujoco
import numpy as np

from simreal.atomic import atomic_write_text
from simreal.data.chunks import collect_chunks, concatenate
from simreal.data.episodes import make_data_env, stream_frames
from simreal.data.eval_domains import domain_seed, rollout_spec
from simreal.data.labels import geom_segmentation
from simreal.envs.arm import names
from simreal.envs.arm.base_task import OBJECT_RANGE
from simreal.envs.arm.scene import BLOCK_HALF_SIZE
from simreal.envs.camera import camera_model
from simreal.perception.detector import PointDetector, calibrate_threshold, detect, heatmap_cells
from simreal.perception.triangulation import pixels_to_plane

__all__ = [
    "CAMERA",
    "ENV_ID",
    "MISS_RATE",
    "N_VALIDATION",
    "SEARCH_MARGIN",
    "TOLERANCE_PX",
    "VISIBLE",
    "LocalizationFrames",
    "ViewFrames",
    "detector_positions",
    "detector_threshold",
    "localization_frames",
    "read_json",
    "search_cells",
    "search_region",
    "seeded_frames",
    "seeded_views",
    "view_frames",
    "write_json",
]

ENV_ID = "simreal/Push-v0"
CAMERA = "front"
MISS_RATE = 0.02  # the "not found" threshold gives up this fraction of correct detections in the training domain
TOLERANCE_PX = 2.0  # a validation detection this close to the label counts as correct
N_VALIDATION = 400  # frames of a detector's training domain that calibrate its threshold
SEARCH_MARGIN = 0.04  # metres around the block's reset range where a detector looks for it (the search region)
VISIBLE = 0.5  # a frame "shows the block" when the clutter leaves at least this share of its pixels visible


@dataclass(frozen=True)
class LocalizationFrames:
    """Reset frames of the Push block with their labels and the camera that took each one."""

    images: np.ndarray  # uint8 (N, S, S, 3)
    positions: np.ndarray  # (N, 2) the block's table (x, y), metres
    pixels: np.ndarray  # (N, 2) the block centre's pixel coordinates (u, v) (see simreal.envs.camera)
    intrinsics: np.ndarray  # (N, 3, 3)
    world_to_camera: np.ndarray  # (N, 4, 4)
    visible: np.ndarray  # (N,) share of the block's pixels the clutter leaves visible (NaN: not measured)

    def table_positions(self, pixels: np.ndarray) -> np.ndarray:
        """Table (x, y) of block-centre ``pixels`` (N, 2) seen through each frame's camera (NaN for a pixel whose
        ray misses the table plane, e.g. above the horizon)."""
        return pixels_to_plane(pixels, self.intrinsics, self.world_to_camera, BLOCK_HALF_SIZE, strict=False)[:, :2]


@dataclass(frozen=True)
class ViewFrames:
    """Reset frames of the Push block seen by ``V`` cameras at once (the same scene in every view); ``view(k)`` is
    camera ``k``'s :class:`LocalizationFrames`."""

    images: np.ndarray  # uint8 (N, V, S, S, 3)
    positions: np.ndarray  # (N, 2) the block's table (x, y), metres
    pixels: np.ndarray  # (N, V, 2) the block centre's pixel coordinates in each view
    intrinsics: np.ndarray  # (N, V, 3, 3)
    world_to_camera: np.ndarray  # (N, V, 4, 4)
    visible: np.ndarray  # (N, V) share of the block's pixels the clutter leaves visible per view (NaN: not measured)

    def view(self, k: int) -> LocalizationFrames:
        """Camera ``k``'s frames."""
        images = np.ascontiguousarray(self.images[:, k])
        return LocalizationFrames(images, self.positions, self.pixels[:, k], self.intrinsics[:, k],
                                  self.world_to_camera[:, k], self.visible[:, k])  # fmt: skip


class _Visibility:
    """The share of the block's pixels that the clutter (the distractor geoms) leaves visible in a camera's view:
    the block's pixels in the scene's segmentation over those with the clutter hidden (1 when the view shows no
    block pixel at all either way: nothing for the clutter to hide)."""

    def __init__(self, model: mujoco.MjModel, size: int) -> None:
        self.model, self.renderer = model, mujoco.Renderer(model, size, size)
        self.renderer.enable_segmentation_rendering()
        self.block = [g for g in range(model.ngeom) if model.body(model.geom_bodyid[g]).name == names.BLOCK_BODY]
        self.clutter = [model.geom(name).id for name in names.DISTRACTORS]

    def _block_pixels(self, data: mujoco.MjData, camera: str) -> int:
        self.renderer.update_scene(data, camera)
        return int(np.isin(geom_segmentation(self.renderer.render()), self.block).sum())

    def __call__(self, data: mujoco.MjData, camera: str) -> float:
        seen = self._block_pixels(data, camera)
        alpha = self.model.geom_rgba[self.clutter, 3].copy()
        self.model.geom_rgba[self.clutter, 3] = 0.0  # hidden geoms are not rendered
        try:
            unhidden = self._block_pixels(data, camera)
        finally:
            self.model.geom_rgba[self.clutter, 3] = alpha
        return seen / unhidden if unhidden else 1.0

    def close(self) -> None:
        self.renderer.close()


def _frames_chunk(
    domain: str, image_size: int, cameras: tuple[str, ...], visibility: bool, count: int,
    seed_sequence: np.random.SeedSequence,
) -> ViewFrames:  # fmt: skip
    spec = rollout_spec(ENV_ID, domain, cameras[0], image_size)
    env = make_data_env(spec, cameras)
    views = len(cameras)
    images = np.empty((count, views, image_size, image_size, 3), dtype=np.uint8)
    positions, pixels = np.empty((count, 2)), np.empty((count, views, 2))
    intrinsics, world_to_camera = np.empty((count, views, 3, 3)), np.empty((count, views, 4, 4))
    visible = np.full((count, views), np.nan)
    base: Any = env.unwrapped
    measure = _Visibility(base.model, image_size) if visibility else None
    try:
        frames = stream_frames(env, spec, seed_sequence)
        for i in range(count):
            rgb = next(frames).rgb
            block = base.data.body("block").xpos
            positions[i] = base.task_state()["block_position"][:2]
            for k, name in enumerate(cameras):
                images[i, k] = rgb[name] if views > 1 else rgb
                camera = camera_model(base.model, base.data, name, image_size, image_size)
                pixels[i, k] = camera.project(block[None])[0][0]
                intrinsics[i, k], world_to_camera[i, k] = camera.intrinsics, camera.world_to_camera
                if measure is not None:
                    visible[i, k] = measure(base.data, name)
    finally:
        if measure is not None:
            measure.close()
        env.close()
    return ViewFrames(images, positions, pixels, intrinsics, world_to_camera, visible)


def view_frames(
    domain: str,
    n: int,
    image_size: int,
    seed_sequence: np.random.SeedSequence,
    cameras: tuple[str, ...],
    workers: int = 0,
    executor: str | Executor = "local",
    visibility: bool = False,
) -> ViewFrames:
    """``n`` labelled reset frames of the Push block in ``domain``, each seen by every camera of ``cameras`` (see
    :class:`ViewFrames`). ``cameras[0]``'s images are those of :func:`localization_frames` of that camera with the
    same seed (the other views' sensor noise is drawn after it). Chunks of frames are seeded by
    ``seed_sequence.spawn``, so the result depends neither on ``workers`` (0 = this process; otherwise spawned
    processes) nor on ``executor`` (``local``, ``ray`` or an ``Executor``; see :mod:`simreal.parallel`). With
    ``visibility``, each view also measures how much of the block the clutter leaves visible (two segmentation
    renders per view; the images are the same either way), else ``visible`` is NaN."""
    if not cameras or len(set(cameras)) < len(cameras):
        raise ValueError(f"cameras: one or more distinct camera names, got {list(cameras)}")
    args = (domain, image_size, tuple(cameras), visibility)
    parts = collect_chunks(_frames_chunk, n, seed_sequence, args, executor, workers)
    return concatenate(parts)


def localization_frames(
    domain: str,
    n: int,
    image_size: int,
    seed_sequence: np.random.SeedSequence,
    workers: int = 0,
    executor: str | Executor = "local",
    camera: str = CAMERA,
) -> LocalizationFrames:
    """``n`` labelled reset frames of the Push block in ``domain`` seen by ``camera`` (see
    :class:`LocalizationFrames` and, for the seeding, :func:`view_frames`)."""
    return view_frames(domain, n, image_size, seed_sequence, (camera,), workers, executor).view(0)


def seeded_views(
    domain: str, n: int, image_size: int, seed: int, tag: str, cameras: tuple[str, ...], workers: int,
    executor: str | Executor,
) -> ViewFrames:  # fmt: skip
    """:func:`view_frames` of ``domain`` seeded by ``seed`` and the key ``"{tag}:{domain}"`` (``domain`` alone for
    an empty ``tag``; see :func:`~simreal.data.eval_domains.domain_seed`)."""
    key = f"{tag}:{domain}" if tag else domain
    return view_frames(domain, n, image_size, domain_seed(seed, key), cameras, workers, executor)


def seeded_frames(
    domain: str, n: int, image_size: int, seed: int, tag: str, workers: int, executor: str | Executor,
    camera: str = CAMERA,
) -> LocalizationFrames:  # fmt: skip
    """:func:`seeded_views` of ``camera`` alone."""
    return seeded_views(domain, n, image_size, seed, tag, (camera,), workers, executor).view(0)


def search_region(margin: float = SEARCH_MARGIN) -> list[list[float]]:
    """The table rectangle ``[[x_low, y_low], [x_high, y_high]]`` (metres) where a reset block can be: the envs'
    reset range widened by ``margin`` on every side."""
    if not margin >= 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    low, high = OBJECT_RANGE
    return [(low - margin).tolist(), (high + margin).tolist()]


def search_cells(frames: LocalizationFrames, region: list[list[float]]) -> np.ndarray:
    """Each frame's search region over the detector's heatmap cells, bool (N, M, M): the cells whose centre pixel,
    lifted through the frame's calibrated camera to the block-centre plane, lands inside ``region`` (see
    :func:`search_region`)."""
    (x_low, y_low), (x_high, y_high) = region
    size = frames.images.shape[1]
    cells = heatmap_cells(size)
    flat = cells.reshape(-1, 2)
    allowed = np.empty((len(frames.images), *cells.shape[:2]), dtype=bool)
    for i, (k, w) in enumerate(zip(frames.intrinsics, frames.world_to_camera, strict=True)):
        points = pixels_to_plane(flat, np.broadcast_to(k, (len(flat), 3, 3)), np.broadcast_to(w, (len(flat), 4, 4)),
                                 BLOCK_HALF_SIZE, strict=False)  # fmt: skip
        x, y = points[:, 0], points[:, 1]
        with np.errstate(invalid="ignore"):  # NaN (a ray that misses the table) compares False: outside
            inside = (x >= x_low) & (x <= x_high) & (y >= y_low) & (y <= y_high)
        allowed[i] = inside.reshape(cells.shape[:2])
    return allowed


def detector_positions(
    detector: PointDetector, frames: LocalizationFrames, images: np.ndarray, fallback: np.ndarray,
    region: list[list[float]] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """The detector's block pixel on ``images`` (``frames``' images, or translations of them) lifted to the table
    through each frame's camera: ``(positions (N, 2), confidence (N,), missed (N,))``; a detection whose ray misses
    the table is ``missed`` and placed at ``fallback``. With ``region`` (:func:`search_region`), the detector looks
    for the block only where the frame's camera sees that table rectangle (:func:`search_cells`)."""
    allowed = None if region is None else search_cells(frames, region)
    pixels, confidence = detect(detector, images, allowed=allowed)
    positions = frames.table_positions(pixels)
    missed = np.isnan(positions).any(axis=1)
    positions[missed] = fallback
    return positions, confidence, missed


def detector_threshold(
    detector: PointDetector, frames: LocalizationFrames, region: list[list[float]] | None = None
) -> float:
    """The "not found" confidence threshold calibrated on ``frames`` of the detector's own training domain:
    ``MISS_RATE`` of the detections within ``TOLERANCE_PX`` of the label fall below it (detections in ``region``
    when given, as :func:`detector_positions` makes them)."""
    allowed = None if region is None else search_cells(frames, region)
    pixels, confidence = detect(detector, frames.images, allowed=allowed)
    return calibrate_threshold(confidence, np.linalg.norm(pixels - frames.pixels, axis=1), TOLERANCE_PX, MISS_RATE)


def write_json(path: Path, data: Any) -> None:
    """``data`` as indented JSON with a final newline, written atomically."""
    atomic_write_text(path, json.dumps(data, indent=2) + "\n")


def read_json(path: Path) -> dict[str, Any]:
    """The JSON object in ``path``; ``{}`` when there is no such file."""
    return json.loads(path.read_text()) if path.is_file() else {}
