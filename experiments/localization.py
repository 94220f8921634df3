"""The Tobin et al. (2017) domain-randomization test on ``simreal/Push-v0``.

Three pipelines estimate the block's table (x, y) from one reset of the scene, each trained once on the randomized
``train`` domain (plus a quarter of clean frames) and once on ``canonical`` frames:

- ``regression`` (Tobin et al.'s protocol): a :class:`~simreal.perception.localization.LocalizationCNN` maps the image
  straight to table coordinates, knowing nothing of the camera;
- ``detector``: a :class:`~simreal.perception.detector.PointDetector` finds the block centre's pixel and the frame's
  calibrated camera (intrinsics and extrinsics, as a real camera's calibration gives them) lifts it to the table;
- ``multiview``: one point detector for the ``front``, ``side`` and ``top`` cameras (shared weights, ``n_train``
  training images per camera), each view looking in its search region through its own calibrated camera; the views'
  heatmaps are fused on a table grid (each point scored by the sum of the views' log-probabilities where it
  appears), and the answer is the mean of the found views within ``agree_cm`` of the grid's best point, "not found"
  when none is (:mod:`~simreal.experiments.localization_multiview`, :func:`~simreal.perception.fusion.fuse_heatmaps`).

``regression`` and ``detector`` see the ``front`` image only and are the default ``pipelines``; ``multiview`` is
opt-in (worse than the front detector on every lab, and 3x its training images: see the bundled config).

All are evaluated on fresh frames of every domain (default: ``canonical``, ``test`` and the reality family's members
``real:0`` .. ``real:4``; any named domain or a user's spec file can be given); results (median, p90, the fraction of
frames more than 5 cm off, and the detector's "not found" rate, per domain and worst over the reality proxies) go
to ``results.json`` and ``errors.png``. Models are saved with ``models.json`` (files, thresholds) and
:func:`evaluate_saved_models` evaluates them on new domains without retraining. Settings: a
:class:`~simreal.experiments.config.LocalizationConfig` (``kind: localization``,
``configs/experiments/localization.yaml``).

Gross failures (the detector picking another object) are what a deployed localizer cannot afford, so the detectors
train against hard negatives: the ``train`` preset's clutter includes boxes (the target's shape) of any colour (the
target's colour among them) crowded around the block's range, and training images get pasted rectangles of the
block's own colour and occluders (:func:`~simreal.perception.detector.paste_hard_negatives`). Each detector also
scores its confidence (:func:`~simreal.perception.detector.heatmap_confidence`) and answers "not found" below a
threshold calibrated on its own training domain. The single-view detector looks for the block only in its search
region: the table cells where a reset block can be, seen through the frame's calibrated camera
(:func:`~simreal.experiments.block_frames.search_region`); without it, three in four of its gross errors on ``test``
were answers on the sky, the arm or the far table. The evaluation frames measure how much of the block the clutter
leaves visible, and the results repeat the metrics over the frames that show it (``table_visible``): where no
camera sees the block, "not found" is the right answer and a gross error no perception failure.
The held-out domains move the camera (position, orientation and a
field of view outside the training range), so the results also hold ``nominal_camera_floor``: the error of a
*perfect* detector read through the nominal camera, which bounds what camera-agnostic regression can do without
recovering the camera pose from the scene.

Why ``front`` for the single-view pipelines: it is the envs' default pixel camera (what pixel policies and the
transfer module see), and it faces the arm from beyond the block's range, so the arm never hides the block at reset;
from ``top`` the hovering gripper occludes the block in about 8% of resets (measured with the segmentation labels;
the multi-view fusion outvotes or ignores such a view).

Frames: :mod:`~simreal.experiments.block_frames`; training: :mod:`~simreal.experiments.localization_training`;
evaluation: :mod:`~simreal.experiments.localization_evaluation`; tables and plot:
:mod:`~simreal.experiments.localization_report`.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

from simreal.experiments.block_frames import CAMERA, ENV_ID, MISS_RATE
from simreal.experiments.config import LocalizationConfig
from simreal.experiments.localization_evaluation import evaluation_frames, summarize, write_summary
from simreal.experiments.localization_multiview import CAMERAS
from simreal.experiments.localization_training import DEFECTS, HARD_NEGATIVES, load_models, train_models

__all__ = ["evaluate_saved_models", "run_localization_experiment"]


def _cameras(pipelines: tuple[str, ...]) -> tuple[str, ...]:
    """The cameras the evaluation frames need: all of the multi-view pipeline's when it is evaluated, else
    ``front`` (its frames are the same either way)."""
    return CAMERAS if "multiview" in pipelines else (CAMERA,)


def run_localization_experiment(
    config: LocalizationConfig, executor: str | Executor = "local", progress: bool = False
) -> dict[str, Any]:
    """Train ``config.pipelines`` with and without randomization, save them (``models.json`` + one ``.pt``
    each), evaluate on ``config.domains`` (names or spec files, see :mod:`simreal.data.eval_domains`); write
    ``results.json`` and ``errors.png`` to ``config.out_dir``. A run resumes from the models an earlier run with
    the same training settings saved there. Frames are collected by ``config.workers`` processes of ``executor``;
    ``progress`` prints a line per training epoch.

    Every model of a pipeline gets the same budget (``epochs`` for regression, ``detector_epochs`` for the
    detectors) and the same image-space augmentation (``augment``, see
    :func:`~simreal.perception.images.augment_appearance`; detectors also get ``HARD_NEGATIVES`` pasted
    rectangles, :func:`~simreal.perception.detector.paste_hard_negatives`, and ``DEFECTS`` of them dim, flat light
    and dead pixels, :func:`~simreal.perception.detector.sensor_defects`), so they differ only in the scene
    randomization. The randomized models' ``n_train`` frames include ``canonical_fraction`` clean ones (a
    curriculum: measured, from only randomized frames the regression net often sat at the mean prediction for the
    whole budget). Each detector's "not found" threshold is calibrated on ``N_VALIDATION`` fresh frames of its own
    training domain (:func:`~simreal.experiments.block_frames.detector_threshold`, ``MISS_RATE``); no evaluation
    domain is used for it.
    """
    out = Path(config.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    begun = started = time.perf_counter()
    rule = (_cameras(config.pipelines), float(config.agree_cm))
    evaluation = evaluation_frames(
        config.domains, config.n_eval, config.image_size, config.seed, rule[0], config.workers, executor
    )
    timings["eval_frames_s"] = time.perf_counter() - started
    models = train_models(config, out, executor, progress, timings)
    started = time.perf_counter()
    settings = {
        "n_train": config.n_train, "n_eval": config.n_eval, "epochs": config.epochs,
        "detector_epochs": config.detector_epochs, "seed": config.seed, "image_size": config.image_size,
        "augment": config.augment, "canonical_fraction": config.canonical_fraction,
        "hard_negatives": HARD_NEGATIVES if config.augment else 0.0, "defects": DEFECTS if config.augment else 0.0,
        "miss_rate": MISS_RATE, "domains": list(config.domains), "agree_cm": config.agree_cm,
    }  # fmt: skip
    summary: dict[str, Any] = {"env_id": ENV_ID, "camera": CAMERA, "settings": settings, "timings_s": timings}
    summary, errors = summarize(summary, models, evaluation, rule)
    timings["evaluation_s"] = time.perf_counter() - started
    timings["total_s"] = time.perf_counter() - begun
    summary["timings_s"] = {k: round(v, 2) for k, v in timings.items()}
    write_summary(out, summary, errors, "results")
    return summary


def evaluate_saved_models(
    models_dir: str | os.PathLike[str], config: LocalizationConfig, executor: str | Executor = "local"
) -> dict[str, Any]:
    """Evaluate the models saved by :func:`run_localization_experiment` in ``models_dir`` on ``config.domains``
    without retraining (``config``'s training settings are not read); writes ``eval_results.json`` and
    ``eval_errors.png`` to ``config.out_dir``. With the run's ``seed`` and ``n_eval``, a domain gets the same frames
    (and numbers) as in the run."""
    folder = Path(models_dir)
    manifest, models = load_models(folder)
    out = Path(config.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    rule = (_cameras(tuple(models)), float(config.agree_cm))
    evaluation = evaluation_frames(
        config.domains, config.n_eval, manifest["image_size"], config.seed, rule[0], config.workers, executor
    )
    settings = {"n_eval": config.n_eval, "seed": config.seed, "domains": list(config.domains),
                "agree_cm": config.agree_cm}  # fmt: skip
    summary: dict[str, Any] = {"env_id": manifest["env_id"], "camera": manifest["camera"], "models_dir": str(folder),
                               "settings": settings}  # fmt: skip
    summary, errors = summarize(summary, models, evaluation, rule)
    summary["timings_s"] = {"total_s": round(time.perf_counter() - started, 2)}
    write_summary(out, summary, errors, "eval_results")
    return summary
