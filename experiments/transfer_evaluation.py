"""Evaluating the transfer experiment (:mod:`simreal.experiments.transfer`): the canonical detector on each
domain's raw frames and after each translator, the gap closed, the guard's verdict, and the summary over domains."""

from __future__ import annotations

import math
import time
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

import numpy as np

from simreal.experiments.block_frames import CAMERA, ENV_ID, LocalizationFrames, detector_positions, seeded_frames
from simreal.experiments.config import TransferConfig
from simreal.experiments.transfer_training import GAN_METHODS, TrainedModels
from simreal.perception.detector import PointDetector, detect
from simreal.perception.localization import localization_errors_cm
from simreal.transfer.guard import content_survival, disc_masks
from simreal.transfer.wrapper import ImageTranslator

__all__ = ["METHODS", "TRANSLATORS", "evaluate_all", "gap_closed"]

METHODS = ("no_adaptation", "cyclegan", "semantic_cyclegan", "rcan")
TRANSLATORS = METHODS[1:]
_METRICS = ("median_cm", "p90_cm")
_TRANSLATE_BATCH = 256


def gap_closed(err_noadapt: float, err_method: float, err_canonical: float) -> float | None:
    """Fraction of the sim-to-real gap a method closes: ``(err_noadapt - err_method) / (err_noadapt - err_canonical)``.

    1 = as good as on canonical sim, 0 = no better than no adaptation, < 0 = worse. ``None`` when there is no gap
    (``err_noadapt <= err_canonical``), where the fraction is undefined.
    """
    for name, value in (("err_noadapt", err_noadapt), ("err_method", err_method), ("err_canonical", err_canonical)):
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    gap = err_noadapt - err_canonical
    if gap <= 0:
        return None
    return (err_noadapt - err_method) / gap


def _translate(checkpoint: Path, images: np.ndarray) -> np.ndarray:
    translator = ImageTranslator(checkpoint, direction="real2sim")
    parts = [
        translator.translate_batch(images[i : i + _TRANSLATE_BATCH]) for i in range(0, len(images), _TRANSLATE_BATCH)
    ]
    return np.concatenate(parts)


def _localize(detector: PointDetector, frames: LocalizationFrames, images: np.ndarray) -> dict[str, float]:
    """Errors of the detector on ``images`` (a ray above the horizon counts at the frames' mean position)."""
    positions, _, _ = detector_positions(detector, frames, images, frames.positions.mean(axis=0))
    return localization_errors_cm(positions, frames.positions)


def _evaluate_domain(
    models: TrainedModels,
    frames: LocalizationFrames,
    checkpoints: dict[str, Path],
    canonical_error: dict[str, float],
    guard_frames: int,
    domain: str,
) -> dict[str, Any]:
    detector, probe = models.detector, models.probe
    raw = _localize(detector, frames, frames.images)
    out: dict[str, Any] = {"no_adaptation": {"error": raw, "gap_closed": {m: 0.0 for m in _METRICS}}}
    sample = slice(0, min(guard_frames, len(frames.images)))
    masks = disc_masks(frames.pixels[sample], frames.images.shape[1])
    for method, checkpoint in checkpoints.items():
        translated = _translate(checkpoint, frames.images)
        error = _localize(detector, frames, translated)
        guard = content_survival(
            frames.images[sample], translated[sample], masks, probe=lambda images: detect(probe, images), domain=domain,
            min_confidence=float(models.manifest["probe_threshold"]),
        )  # fmt: skip
        refused = guard.verdict == "fail"
        out[method] = {
            "error": error,
            "gap_closed": {m: gap_closed(raw[m], error[m], canonical_error[m]) for m in _METRICS},
            "guard": guard.to_dict(),
            "guarded_error": raw if refused else error,
            "worse_than_no_adaptation": bool(error["median_cm"] > raw["median_cm"] or error["p90_cm"] > raw["p90_cm"]),
        }
    return out


def _aggregate(per_domain: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Per translator: mean and worst gap closed over domains, domains made worse, and whether the guard flagged
    every domain it made worse."""
    out: dict[str, Any] = {}
    for method in TRANSLATORS:
        entries = {d: r[method] for d, r in per_domain.items() if method in r}
        if not entries:
            continue
        closed = [e["gap_closed"]["median_cm"] for e in entries.values() if e["gap_closed"]["median_cm"] is not None]
        worse = [d for d, e in entries.items() if e["worse_than_no_adaptation"]]
        out[method] = {
            "domains": list(entries),
            "mean_gap_closed": float(np.mean(closed)) if closed else None,
            "worst_gap_closed": float(np.min(closed)) if closed else None,
            "worse_domains": worse,
            "guard_flagged_every_worse_domain": all(entries[d]["guard"]["verdict"] != "ok" for d in worse),
        }
    best = max(
        (m for m in out if out[m]["worst_gap_closed"] is not None),
        key=lambda m: out[m]["worst_gap_closed"],
        default=None,
    )
    return {
        "per_method": out,
        "best": best,
        "target_met": bool(best and out[best]["worst_gap_closed"] >= 0.5 and not out[best]["worse_domains"]),
    }


def evaluate_all(
    folder: Path, models: TrainedModels, config: TransferConfig, image_size: int, executor: str | Executor
) -> dict[str, Any]:
    """Every method on ``config.domains`` (``n_eval`` frames each, seeded by ``seed`` and ``eval:<domain>``): RCAN
    everywhere, a CycleGAN on the domains it was trained for; the models' files are relative to ``folder``."""
    started = time.perf_counter()

    def frames(domain: str) -> LocalizationFrames:
        return seeded_frames(domain, config.n_eval, image_size, config.seed, "eval", config.workers, executor)

    canonical = frames("canonical")
    canonical_error = _localize(models.detector, canonical, canonical.images)
    per_domain: dict[str, dict[str, Any]] = {}
    manifest = models.manifest
    for domain in config.domains:
        checkpoints = {"rcan": folder / manifest["rcan"]}
        for method in GAN_METHODS:
            if domain in manifest.get(method, {}):
                checkpoints[method] = folder / manifest[method][domain]
        per_domain[domain] = _evaluate_domain(
            models, frames(domain), checkpoints, canonical_error, config.guard_frames, domain
        )
    return {
        "env_id": ENV_ID,
        "camera": CAMERA,
        "canonical": {"error": canonical_error},
        "domains": per_domain,
        "summary": _aggregate(per_domain),
        "timings_s": {"evaluation_s": round(time.perf_counter() - started, 2)},
    }
