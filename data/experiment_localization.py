"""The Tobin et al. (2017) domain-randomization test on ``simreal/Push-v0``.

Two pipelines estimate the block's table (x, y) from one reset frame of the ``front`` camera, each trained once on
the randomized ``train`` domain (plus a quarter of clean frames) and once on ``canonical`` frames:

- ``regression`` (Tobin et al.'s protocol): a :class:`~simreal.data.localization.LocalizationCNN` maps the image
  straight to table coordinates, knowing nothing of the camera;
- ``detector``: a :class:`~simreal.data.point_detector.PointDetector` finds the block centre's pixel and the frame's
  calibrated camera (intrinsics and extrinsics, as a real camera's calibration gives them) lifts it to the table.

All are evaluated on fresh ``canonical``, ``test`` and ``real`` frames; results (median / 90th-percentile error in
cm) go to ``results.json`` and ``errors.png``. The held-out domains move the camera (position, orientation and a
field of view outside the training range), so the results also hold ``nominal_camera_floor``: the error of a
*perfect* detector read through the nominal camera, which bounds what camera-agnostic regression can do without
recovering the camera pose from the scene.

Why ``front``: it is the envs' default pixel camera (what pixel policies and the transfer module see), and it faces
the arm from beyond the block's range, so the arm never hides the block at reset; from ``top`` the hovering gripper
occludes the block in about 8% of resets (measured with the segmentation labels).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from simreal.atomic import atomic_write, atomic_write_bytes
from simreal.data.camera import camera_model, pixels_to_plane
from simreal.data.episodes import RolloutSpec, make_data_env, stream_frames
from simreal.data.localization import (
    localization_errors_cm,
    predict_positions,
    save_model,
    train_localization,
)
from simreal.data.point_detector import predict_pixels, train_point_detector
from simreal.envs.arm.scene import BLOCK_HALF_SIZE
from simreal.envs.config import check_int_range

__all__ = [
    "CAMERA",
    "ENV_ID",
    "EVAL_DOMAINS",
    "PIPELINES",
    "TARGET_CM",
    "LocalizationFrames",
    "localization_frames",
    "nominal_camera_floor",
    "run_localization_experiment",
]

ENV_ID = "simreal/Push-v0"
CAMERA = "front"
TRAIN_DOMAINS = {"randomized": "train", "canonical": "canonical"}
EVAL_DOMAINS = ("canonical", "test", "real")
PIPELINES = ("regression", "detector")
TARGET_CM = 1.5
CANONICAL_FRACTION = 0.25  # clean frames in the randomized model's training set
_CHUNK = 250  # frames per worker task


@dataclass(frozen=True)
class LocalizationFrames:
    """Reset frames of the Push block with their labels and the camera that took each one."""

    images: np.ndarray  # uint8 (N, S, S, 3)
    positions: np.ndarray  # (N, 2) the block's table (x, y), metres
    pixels: np.ndarray  # (N, 2) the block centre's pixel coordinates (u, v) (see simreal.data.camera)
    intrinsics: np.ndarray  # (N, 3, 3)
    world_to_camera: np.ndarray  # (N, 4, 4)

    @classmethod
    def concatenate(cls, parts: Sequence[LocalizationFrames]) -> LocalizationFrames:
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in cls.__dataclass_fields__))

    def table_positions(self, pixels: np.ndarray) -> np.ndarray:
        """Table (x, y) of block-centre ``pixels`` (N, 2) seen through each frame's camera (NaN for a pixel whose
        ray misses the table plane, e.g. above the horizon)."""
        return pixels_to_plane(pixels, self.intrinsics, self.world_to_camera, BLOCK_HALF_SIZE, strict=False)[:, :2]


def _frames_chunk(
    domain: str, count: int, image_size: int, seed_sequence: np.random.SeedSequence
) -> LocalizationFrames:
    spec = RolloutSpec(ENV_ID, domain, camera=CAMERA, image_size=image_size, frames_per_episode=1)
    env = make_data_env(spec)
    images = np.empty((count, image_size, image_size, 3), dtype=np.uint8)
    positions, pixels = np.empty((count, 2)), np.empty((count, 2))
    intrinsics, world_to_camera = np.empty((count, 3, 3)), np.empty((count, 4, 4))
    base: Any = env.unwrapped
    try:
        frames = stream_frames(env, spec, seed_sequence)
        for i in range(count):
            images[i] = next(frames).rgb
            block = base.data.body("block").xpos
            positions[i] = base.task_state()["block_position"][:2]
            camera = camera_model(base.model, base.data, CAMERA, image_size, image_size)
            pixels[i] = camera.project(block[None])[0][0]
            intrinsics[i], world_to_camera[i] = camera.intrinsics, camera.world_to_camera
    finally:
        env.close()
    return LocalizationFrames(images, positions, pixels, intrinsics, world_to_camera)


def localization_frames(
    domain: str, n: int, image_size: int, seed_sequence: np.random.SeedSequence, workers: int = 0
) -> LocalizationFrames:
    """``n`` labelled reset frames of the Push block in ``domain`` (see :class:`LocalizationFrames`).

    Chunks of frames are seeded by ``seed_sequence.spawn``, so the result does not depend on ``workers``
    (0 = this process; otherwise spawned processes).
    """
    counts = [min(_CHUNK, n - start) for start in range(0, n, _CHUNK)]
    seeds = seed_sequence.spawn(len(counts))
    jobs = [(domain, count, image_size, child) for count, child in zip(counts, seeds, strict=True)]
    if workers == 0:
        parts = [_frames_chunk(*job) for job in jobs]
    else:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            parts = list(pool.map(_frames_chunk, *zip(*jobs, strict=True)))
    return LocalizationFrames.concatenate(parts)


def _reporter(name: str, epochs: int) -> Callable[[int, float], None]:
    def report(epoch: int, loss: float) -> None:
        print(f"[{name}] epoch {epoch + 1}/{epochs} loss {loss:.4f}", flush=True)

    return report


def _plot(errors: dict[str, dict[str, dict[str, np.ndarray]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    rows, columns = len(PIPELINES), len(EVAL_DOMAINS)
    figure, axes = plt.subplots(rows, columns, figsize=(4 * columns, 3.2 * rows), sharey=True, squeeze=False)
    for row, pipeline in zip(axes, PIPELINES, strict=True):
        for axis, domain in zip(row, EVAL_DOMAINS, strict=True):
            for name, per_domain in errors[pipeline].items():
                values = np.sort(per_domain[domain])
                axis.plot(values, np.linspace(0, 1, len(values)), label=f"trained on {TRAIN_DOMAINS[name]}")
            axis.axvline(TARGET_CM, color="grey", linestyle="--", linewidth=1)
            axis.set(title=f"{pipeline} | eval: {domain}", xlabel="position error (cm)", xscale="log")
            axis.grid(alpha=0.3)
        row[0].set_ylabel("fraction of frames")
    axes[0][0].legend(loc="lower right", fontsize=8)
    figure.suptitle("Push block localization from one 'front' image (Tobin et al. 2017 test)")
    figure.tight_layout()
    atomic_write(path, lambda tmp: figure.savefig(tmp, format="png", dpi=120))
    plt.close(figure)


def _train(
    pipeline: str, frames: LocalizationFrames, epochs: int, seed: int, augment: bool, progress_name: str | None
) -> Any:
    report = _reporter(progress_name, epochs) if progress_name else None
    if pipeline == "regression":
        return train_localization(frames.images, frames.positions, epochs, seed, augment=augment, on_epoch=report)
    return train_point_detector(frames.images, frames.pixels, epochs, seed, augment=augment, on_epoch=report)


def _predict(pipeline: str, model: Any, frames: LocalizationFrames, fallback: np.ndarray) -> tuple[np.ndarray, int]:
    """Table positions and how many detections missed the table (counted at ``fallback``, the training mean)."""
    if pipeline == "regression":
        return predict_positions(model, frames.images), 0
    positions = frames.table_positions(predict_pixels(model, frames.images))
    missed = np.isnan(positions).any(axis=1)
    positions[missed] = fallback
    return positions, int(missed.sum())


def nominal_camera_floor(frames: LocalizationFrames, nominal: LocalizationFrames) -> dict[str, float]:
    """Errors of a perfect block detector whose pixels are read through ``nominal``'s first camera instead of
    each frame's own: what a camera-agnostic estimator loses to the camera shift alone."""
    n = len(frames.pixels)
    lifted = pixels_to_plane(
        frames.pixels,
        np.repeat(nominal.intrinsics[:1], n, axis=0),
        np.repeat(nominal.world_to_camera[:1], n, axis=0),
        BLOCK_HALF_SIZE,
    )
    return localization_errors_cm(lifted[:, :2], frames.positions)


def run_localization_experiment(
    out_dir: str | os.PathLike[str],
    n_train: int,
    n_eval: int,
    epochs: int,
    seed: int,
    image_size: int = 64,
    workers: int = 0,
    progress: bool = False,
    augment: bool = True,
    canonical_fraction: float = CANONICAL_FRACTION,
    detector_epochs: int = 8,
) -> dict[str, Any]:
    """Train both pipelines with and without randomization, evaluate on canonical/test/real; write JSON, plot
    and models.

    Every model of a pipeline gets the same budget (``epochs`` for regression, ``detector_epochs`` for the
    detector) and the same image-space augmentation (``augment``, see
    :func:`~simreal.data.localization.augment_appearance`), so they differ only in the scene randomization. The
    randomized models' ``n_train`` frames include ``canonical_fraction`` clean ones (a curriculum: measured, from
    only randomized frames the regression net often sat at the mean prediction for the whole budget).
    """
    if not 0.0 <= canonical_fraction < 1.0:
        raise ValueError(f"canonical_fraction must be in [0, 1), got {canonical_fraction}")
    check_int_range("n_train", n_train, 8, 10**7)
    check_int_range("n_eval", n_eval, 2, 10**7)
    check_int_range("epochs", epochs, 1, 10_000)
    check_int_range("detector_epochs", detector_epochs, 1, 10_000)
    check_int_range("seed", seed, 0, 2**63 - 1)
    check_int_range("workers", workers, 0, 256)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    root = np.random.SeedSequence(seed)
    train_seeds = dict(zip(TRAIN_DOMAINS, root.spawn(len(TRAIN_DOMAINS)), strict=True))
    eval_seeds = dict(zip(EVAL_DOMAINS, root.spawn(len(EVAL_DOMAINS)), strict=True))
    (mix_seed,) = root.spawn(1)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    evaluation = {d: localization_frames(d, n_eval, image_size, eval_seeds[d], workers) for d in EVAL_DOMAINS}
    timings["eval_frames_s"] = time.perf_counter() - started
    budgets = {"regression": epochs, "detector": detector_epochs}
    pipelines: dict[str, dict[str, Any]] = {p: {} for p in PIPELINES}
    errors: dict[str, dict[str, dict[str, np.ndarray]]] = {p: {} for p in PIPELINES}
    for name, domain in TRAIN_DOMAINS.items():
        started = time.perf_counter()
        n_clean = round(canonical_fraction * n_train) if domain != "canonical" else 0
        frames = localization_frames(domain, n_train - n_clean, image_size, train_seeds[name], workers)
        if n_clean:
            clean = localization_frames("canonical", n_clean, image_size, mix_seed, workers)
            frames = LocalizationFrames.concatenate([frames, clean])
        timings[f"{name}_frames_s"] = time.perf_counter() - started
        for pipeline in PIPELINES:
            started = time.perf_counter()
            label = f"{pipeline}/{name}" if progress else None
            model = _train(pipeline, frames, budgets[pipeline], seed, augment, label)
            timings[f"{pipeline}_{name}_train_s"] = time.perf_counter() - started
            filename = f"{pipeline}_{name}.pt"
            save_model(model, out / filename)
            errors[pipeline][name], results = {}, {}
            for eval_domain, eval_frames in evaluation.items():
                predictions, missed = _predict(pipeline, model, eval_frames, frames.positions.mean(axis=0))
                errors[pipeline][name][eval_domain] = 100.0 * np.linalg.norm(
                    predictions - eval_frames.positions, axis=1
                )
                results[eval_domain] = {
                    **localization_errors_cm(predictions, eval_frames.positions),
                    "missed_table": missed,
                }
            pipelines[pipeline][name] = {"train_domain": domain, "model": filename, "eval": results}
    medians = {p: pipelines[p]["randomized"]["eval"]["real"]["median_cm"] for p in PIPELINES}
    summary = {
        "env_id": ENV_ID,
        "camera": CAMERA,
        "settings": {
            "n_train": n_train,
            "n_eval": n_eval,
            "epochs": epochs,
            "detector_epochs": detector_epochs,
            "seed": seed,
            "image_size": image_size,
            "augment": augment,
            "canonical_fraction": canonical_fraction,
        },
        "pipelines": pipelines,
        "nominal_camera_floor": {d: nominal_camera_floor(f, evaluation["canonical"]) for d, f in evaluation.items()},
        "target": {
            "real_median_cm_max": TARGET_CM,
            "met": {p: bool(medians[p] <= TARGET_CM) for p in PIPELINES},
        },
        "timings_s": {k: round(v, 2) for k, v in timings.items()},
    }
    atomic_write_bytes(out / "results.json", (json.dumps(summary, indent=2) + "\n").encode())
    _plot(errors, out / "errors.png")
    return summary
