"""The localization experiment's ``multiview`` pipeline (:mod:`simreal.experiments.localization`): one point
detector for the Push env's three calibrated cameras, each view lifted to the table through its own camera and the
views fused: their heatmaps' evidence summed on a table grid (:func:`~simreal.perception.fusion.fuse_heatmaps`),
the answer refined by the views that back it; models saved before the search region fuse the views' answers by
vote (:func:`~simreal.perception.fusion.fuse_views`: agreeing views averaged, a disagreeing one outvoted).

The detector has one set of weights for every camera and gets ``n_train`` training images *per camera* (each image a
different reset, clean frames mixed in at ``canonical_fraction``), the single-view detector's budget for each view:
three times its images and training time. Measured on the ``train`` domain (500 fresh frames): with the single-view
budget split over the three cameras, each view was worse than the single-view detector (front 24.6% of frames
> 5 cm against 15.8%) and the fusion (19.6%) did not make up for it. Its "not found" threshold is calibrated per
camera on fresh frames of its own training domain, as the single-view detector's is. Like the single-view
detector, each view looks for the block only in its search region (the table rectangle where a reset block can
be, seen through that view's calibrated camera; :func:`~simreal.experiments.block_frames.search_cells`) when its
``models.json`` entry has one (models saved before it was added look everywhere).
"""

from __future__ import annotations

from concurrent.futures import Executor
from typing import Any

import numpy as np
import torch

from simreal.data.chunks import concatenate
from simreal.envs.arm.scene import BLOCK_HALF_SIZE
from simreal.experiments.block_frames import (
    N_VALIDATION,
    LocalizationFrames,
    ViewFrames,
    detector_threshold,
    search_cells,
    seeded_frames,
)
from simreal.experiments.config import LocalizationConfig
from simreal.perception.detector import STRIDE, PointDetector, detect_heatmaps
from simreal.perception.fusion import FusedViews, fuse_heatmaps, fuse_views, supported_answer

__all__ = ["CAMERAS", "multiview_positions", "multiview_thresholds", "multiview_training_frames"]

CAMERAS = ("front", "side", "top")  # front first: its images are the single-view pipelines' (same seeds)


def multiview_training_frames(
    config: LocalizationConfig, domain: str, executor: str | Executor
) -> tuple[LocalizationFrames, dict[str, LocalizationFrames]]:
    """The multi-view detector's training images, ``config.n_train`` per camera of :data:`CAMERAS`
    (``domain``'s, plus ``canonical_fraction`` clean ones unless it is ``canonical``), and per camera the validation
    frames that calibrate its threshold. Seeded by ``config.seed`` and keys of their own, so the single-view
    models' frames are untouched."""

    def frames(of: str, n: int, tag: str, camera: str) -> LocalizationFrames:  # of: the frames' domain
        size, seed, workers = config.image_size, config.seed, config.workers
        return seeded_frames(of, n, size, seed, f"{tag}:{camera}", workers, executor, camera)

    parts, validation = [], {}
    n_clean = round(config.canonical_fraction * config.n_train) if domain != "canonical" else 0
    n_validation = min(N_VALIDATION, config.n_eval)
    for camera in CAMERAS:
        parts.append(frames(domain, config.n_train - n_clean, "multiview-train", camera))
        if n_clean:
            parts.append(frames("canonical", n_clean, "multiview-clean", camera))
        validation[camera] = frames(domain, n_validation, "validation", camera)
    return concatenate(parts), validation


def multiview_thresholds(
    detector: PointDetector, validation: dict[str, LocalizationFrames], region: list[list[float]] | None = None
) -> dict[str, float]:
    """Per camera, the "not found" threshold calibrated on its validation frames, detections in ``region`` when
    given (:func:`~simreal.experiments.block_frames.detector_threshold`)."""
    return {camera: detector_threshold(detector, frames, region) for camera, frames in validation.items()}


def multiview_positions(
    detector: PointDetector, entry: dict[str, Any], frames: ViewFrames, cameras: tuple[str, ...], agree_cm: float
) -> tuple[np.ndarray, FusedViews, int]:
    """Fused table positions ``(N, 2)`` of ``frames`` (views in the order of ``cameras``, which must hold every
    camera of ``entry["cameras"]``): each view detected, lifted through its own camera, found when its confidence
    reaches ``entry["thresholds"][camera]``. With ``entry["search_region"]``, each view looks there (seen through
    its own camera), the views' heatmaps are fused on the table (:func:`~simreal.perception.fusion.fuse_heatmaps`)
    and the answer is refined by, and found with, the found views within ``agree_cm`` of it
    (:func:`~simreal.perception.fusion.supported_answer`). Without (models saved before the region), the views'
    answers are fused by vote (:func:`~simreal.perception.fusion.fuse_views`, views agreeing within ``agree_cm``).
    Returns the positions (frames where no view met the table at ``entry["fallback"]``), the fusion and how many
    frames had no view on the table."""
    used = entry["cameras"]
    missing = [c for c in used if c not in cameras]
    if missing:
        raise ValueError(f"frames: the multiview detector needs cameras {used}, these frames lack {missing}")
    positions, confidence, found, log_probs, projections = [], [], [], [], []
    region = entry.get("search_region")
    for camera in used:
        view = frames.view(cameras.index(camera))
        allowed = None if region is None else search_cells(view, region)
        pixels, score, heatmap = detect_heatmaps(detector, view.images, allowed=allowed)
        lifted = view.table_positions(pixels)
        positions.append(lifted)
        confidence.append(score)
        found.append((score >= entry["thresholds"][camera]) & np.isfinite(lifted).all(axis=1))
        log_probs.append(heatmap)
        projections.append(view.intrinsics @ view.world_to_camera[:, :3])
    views, scores, verdicts, agree = np.stack(positions, 1), np.stack(confidence, 1), np.stack(found, 1), agree_cm / 100
    if region is None:
        fused = fuse_views(views, scores, verdicts, agree)
    else:
        answer = fuse_heatmaps(torch.stack(log_probs, 1), np.stack(projections, 1), STRIDE, region, BLOCK_HALF_SIZE)
        fused = supported_answer(answer, views, scores, verdicts, agree)
    off_table = np.isnan(fused.positions).any(axis=1)
    answer = fused.positions.copy()
    answer[off_table] = entry["fallback"]
    return answer, fused, int(off_table.sum())
