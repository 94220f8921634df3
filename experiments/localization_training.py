"""Training the localization experiment's models (:mod:`simreal.experiments.localization`): each pipeline once on
the randomized ``train`` domain (plus clean frames) and once on ``canonical``, saved with ``models.json`` so a rerun
with the same training settings resumes from them (per model: adding a pipeline trains only its models). The
``multiview`` detector's frames: :mod:`~simreal.experiments.localization_multiview`."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

import numpy as np

from simreal.data.chunks import concatenate
from simreal.experiments.block_frames import (
    CAMERA,
    ENV_ID,
    MISS_RATE,
    N_VALIDATION,
    SEARCH_MARGIN,
    LocalizationFrames,
    detector_threshold,
    localization_frames,
    read_json,
    search_region,
    seeded_frames,
    write_json,
)
from simreal.experiments.config import LocalizationConfig
from simreal.experiments.localization_multiview import CAMERAS, multiview_thresholds, multiview_training_frames
from simreal.perception.checkpoint import load_model, save_model
from simreal.perception.detector import DetectorSettings, PointDetector, train_point_detector
from simreal.perception.localization import LocalizationCNN, train_localization
from simreal.perception.training import FitSettings

__all__ = [
    "CLASSES",
    "DEFECTS",
    "DEPENDS_ON",
    "HARD_NEGATIVES",
    "MODELS_FILE",
    "TRAIN_DOMAINS",
    "Models",
    "load_models",
    "train_models",
    "training_settings",
]

TRAIN_DOMAINS = {"randomized": "train", "canonical": "canonical"}
HARD_NEGATIVES = 0.5  # fraction of detector training images that get pasted hard negatives
DEFECTS = 0.5  # fraction of detector training images that get sensor and lighting defects
MODELS_FILE = "models.json"
CLASSES = {"regression": LocalizationCNN, "detector": PointDetector, "multiview": PointDetector}
Models = dict[str, dict[str, tuple[Any, dict[str, Any]]]]  # pipeline -> name -> (model, models.json entry)
_SHARED = ("n_train", "seed", "image_size", "augment", "canonical_fraction")
_DETECTOR = (*_SHARED, "detector_epochs", "hard_negatives", "defects", "miss_rate")
DEPENDS_ON = {  # the training settings each pipeline's models depend on (a resume keeps a model when they match)
    "regression": (*_SHARED, "epochs"),
    "detector": (*_DETECTOR, "search_margin"),
    "multiview": (*_DETECTOR, "search_margin"),
}


def training_settings(config: LocalizationConfig) -> dict[str, Any]:
    """What a saved model depends on (a rerun resumes only from models trained with the same)."""
    return {
        "n_train": config.n_train, "epochs": config.epochs, "detector_epochs": config.detector_epochs,
        "seed": config.seed, "image_size": config.image_size, "augment": config.augment,
        "canonical_fraction": config.canonical_fraction, "hard_negatives": HARD_NEGATIVES if config.augment else 0.0,
        "defects": DEFECTS if config.augment else 0.0, "miss_rate": MISS_RATE, "search_margin": SEARCH_MARGIN,
    }  # fmt: skip


def _reporter(name: str, epochs: int) -> Callable[[int, float], None]:
    def report(epoch: int, loss: float) -> None:
        print(f"[{name}] epoch {epoch + 1}/{epochs} loss {loss:.4f}", flush=True)

    return report


def _train(
    pipeline: str, frames: LocalizationFrames, epochs: int, seed: int, augment: bool, progress_name: str | None
) -> Any:
    report = _reporter(progress_name, epochs) if progress_name else None
    fit = FitSettings(epochs, seed, augment=augment, on_epoch=report)
    if pipeline == "regression":
        return train_localization(frames.images, frames.positions, fit)
    extra = DetectorSettings(hard_negatives=HARD_NEGATIVES, defects=DEFECTS) if augment else DetectorSettings()
    return train_point_detector(frames.images, frames.pixels, fit, extra)


def _resumable(out: Path, training: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """Entries of an earlier run's ``models.json`` in ``out`` whose pipeline's settings (:data:`DEPENDS_ON`) were
    the same as in ``training`` (to resume): a change of a detector setting retrains the detectors only."""
    manifest = read_json(out / MODELS_FILE)
    before = manifest.get("training", {})
    return {
        p: {n: e for n, e in named.items() if (out / e["file"]).is_file()}
        for p, named in manifest.get("models", {}).items()
        if p in DEPENDS_ON and all(k in before and before[k] == training[k] for k in DEPENDS_ON[p])
    }


def _training_frames(
    config: LocalizationConfig, domain: str, seeds: tuple[np.random.SeedSequence, np.random.SeedSequence],
    executor: str | Executor,
) -> tuple[LocalizationFrames, LocalizationFrames]:  # fmt: skip
    """A model's training frames (``domain``'s, plus ``canonical_fraction`` clean ones unless it is ``canonical``)
    and the validation frames that calibrate a detector's threshold."""
    own, mix = seeds
    size, workers = config.image_size, config.workers
    n_clean = round(config.canonical_fraction * config.n_train) if domain != "canonical" else 0
    frames = localization_frames(domain, config.n_train - n_clean, size, own, workers, executor)
    if n_clean:
        clean = localization_frames("canonical", n_clean, size, mix, workers, executor)
        frames = concatenate([frames, clean])
    n_validation = min(N_VALIDATION, config.n_eval)
    validation = seeded_frames(domain, n_validation, size, config.seed, "validation", workers, executor)
    return frames, validation


def train_models(
    config: LocalizationConfig, out: Path, executor: str | Executor, progress: bool, timings: dict[str, float]
) -> Models:
    """Train (or load, when ``out`` holds them from a run with the same training settings) every model of
    ``config.pipelines``; ``models.json`` lists every saved model after each one. Adds ``*_s`` timings."""
    root = np.random.SeedSequence(config.seed)
    train_seeds = dict(zip(TRAIN_DOMAINS, root.spawn(len(TRAIN_DOMAINS)), strict=True))
    (mix_seed,) = root.spawn(1)
    training = training_settings(config)
    done = _resumable(out, training)
    models: Models = {p: {} for p in config.pipelines}
    saved = {p: dict(done.get(p, {})) for p in config.pipelines}  # what models.json lists, kept across a resume
    manifest = {"env_id": ENV_ID, "camera": CAMERA, "image_size": config.image_size, "training": training,
                "models": saved}  # fmt: skip

    def keep(pipeline: str, name: str, fitted: tuple[Any, dict[str, Any]]) -> None:
        models[pipeline][name], saved[pipeline][name] = fitted, fitted[1]
        save_model(fitted[0], out / fitted[1]["file"])
        write_json(out / MODELS_FILE, manifest)

    for name, domain in TRAIN_DOMAINS.items():
        todo = [p for p in config.pipelines if name not in done.get(p, {})]
        for pipeline in set(config.pipelines) - set(todo):
            kept = done[pipeline][name]
            models[pipeline][name] = (load_model(out / kept["file"], CLASSES[pipeline]), kept)
        single = [p for p in todo if p != "multiview"]
        if single:
            started = time.perf_counter()
            frames, validation = _training_frames(config, domain, (train_seeds[name], mix_seed), executor)
            timings[f"{name}_frames_s"] = time.perf_counter() - started
            for pipeline in single:
                keep(pipeline, name, _fit(pipeline, name, domain, frames, validation, config, progress, timings))
        if "multiview" in todo:
            started = time.perf_counter()
            views, per_camera = multiview_training_frames(config, domain, executor)
            timings[f"multiview_{name}_frames_s"] = time.perf_counter() - started
            keep("multiview", name, _fit("multiview", name, domain, views, per_camera, config, progress, timings))
    return models


def _fit(
    pipeline: str, name: str, domain: str, frames: LocalizationFrames, validation: Any, config: LocalizationConfig,
    progress: bool, timings: dict[str, float],
) -> tuple[Any, dict[str, Any]]:  # fmt: skip
    """Train one model of ``pipeline`` on ``frames``: the model and its ``models.json`` entry (a detector's
    "not found" threshold calibrated on ``validation``, per camera for ``multiview``). Adds its timing."""
    budgets = {"regression": config.epochs, "detector": config.detector_epochs, "multiview": config.detector_epochs}
    started = time.perf_counter()
    label = f"{pipeline}/{name}" if progress else None
    model = _train(pipeline, frames, budgets[pipeline], config.seed, config.augment, label)
    timings[f"{pipeline}_{name}_train_s"] = time.perf_counter() - started
    entry: dict[str, Any] = {
        "file": f"{pipeline}_{name}.pt",
        "train_domain": domain,
        "fallback": frames.positions.mean(axis=0).tolist(),
        "train_s": round(timings[f"{pipeline}_{name}_train_s"], 2),
    }
    if pipeline in ("detector", "multiview"):
        entry["search_region"] = search_region(SEARCH_MARGIN)
    if pipeline == "detector":
        entry["threshold"] = detector_threshold(model, validation, entry["search_region"])
    if pipeline == "multiview":
        entry["cameras"] = list(CAMERAS)
        entry["thresholds"] = multiview_thresholds(model, validation, entry["search_region"])
    return model, entry


def load_models(folder: Path) -> tuple[dict[str, Any], Models]:
    """``models.json`` of a finished run in ``folder`` and its models; ``ValueError`` when there is none."""
    manifest = read_json(folder / MODELS_FILE)
    if not manifest:
        raise ValueError(f"models_dir: no {MODELS_FILE} in {folder} (run the experiment without --eval-only first)")
    models = {
        pipeline: {name: (load_model(folder / e["file"], CLASSES[pipeline]), e) for name, e in named.items()}
        for pipeline, named in manifest["models"].items()
    }
    return manifest, models
