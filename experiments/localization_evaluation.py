"""Evaluating the localization experiment's models (:mod:`simreal.experiments.localization`) on every domain's
frames: errors per model and domain, the reality-proxy summary, the nominal-camera floor and the targets."""

from __future__ import annotations

from concurrent.futures import Executor
from pathlib import Path
from typing import Any

import numpy as np

from simreal.envs.arm.scene import BLOCK_HALF_SIZE
from simreal.experiments.block_frames import LocalizationFrames, detector_positions, seeded_frames, write_json
from simreal.experiments.localization_report import (
    TARGET_CM,
    TARGETS,
    format_table,
    over_proxies,
    plot_errors,
    targets_met,
)
from simreal.experiments.localization_training import Models
from simreal.perception.localization import localization_errors_cm, predict_positions
from simreal.perception.triangulation import pixels_to_plane

__all__ = ["evaluation_frames", "nominal_camera_floor", "summarize", "write_summary"]

Errors = dict[str, dict[str, dict[str, np.ndarray]]]  # pipeline -> model name -> domain -> per-frame errors (cm)


def evaluation_frames(
    domains: tuple[str, ...], n_eval: int, image_size: int, seed: int, workers: int, executor: str | Executor
) -> dict[str, LocalizationFrames]:
    """``n_eval`` frames of each domain, seeded by ``seed`` and the domain's name alone."""
    return {d: seeded_frames(d, n_eval, image_size, seed, "", workers, executor) for d in domains}


def _predict(
    pipeline: str, model: Any, entry: dict[str, Any], frames: LocalizationFrames
) -> tuple[np.ndarray, np.ndarray | None, int]:
    """Table positions, the "found" verdicts (detector only) and how many detections missed the table (those are
    counted at ``entry["fallback"]``, the training mean, and as not found)."""
    if pipeline == "regression":
        return predict_positions(model, frames.images), None, 0
    positions, confidence, missed = detector_positions(model, frames, frames.images, np.asarray(entry["fallback"]))
    return positions, (confidence >= entry["threshold"]) & ~missed, int(missed.sum())


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


def _evaluate(models: Models, evaluation: dict[str, LocalizationFrames]) -> tuple[dict[str, dict[str, Any]], Errors]:
    """Every model (pipeline -> name -> (model, manifest entry)) on every domain's frames: results and errors."""
    results: dict[str, dict[str, Any]] = {p: {} for p in models}
    errors: Errors = {p: {} for p in models}
    for pipeline, named in models.items():
        for name, (model, entry) in named.items():
            per_domain, errors[pipeline][name] = {}, {}
            for domain, frames in evaluation.items():
                predictions, found, missed = _predict(pipeline, model, entry, frames)
                errors[pipeline][name][domain] = 100.0 * np.linalg.norm(predictions - frames.positions, axis=1)
                per_domain[domain] = {
                    **localization_errors_cm(predictions, frames.positions, found),
                    "missed_table": missed,
                }
            results[pipeline][name] = {
                "train_domain": entry["train_domain"],
                "model": entry["file"],
                "eval": per_domain,
                "reality_proxies": over_proxies(per_domain),
                "targets_met": targets_met(per_domain),
            }
    return results, errors


def summarize(
    summary: dict[str, Any], models: Models, evaluation: dict[str, LocalizationFrames]
) -> tuple[dict[str, Any], Errors]:
    """``summary`` with every model's results (``pipelines``), the nominal-camera floor (when ``canonical`` is
    evaluated), the targets' verdict and the table added; and the per-frame errors (for the plot)."""
    pipelines, errors = _evaluate(models, evaluation)
    summary["pipelines"] = pipelines
    if "canonical" in evaluation:
        canonical = evaluation["canonical"]
        summary["nominal_camera_floor"] = {d: nominal_camera_floor(f, canonical) for d, f in evaluation.items()}
    detector = pipelines.get("detector", {}).get("randomized")
    summary["target"] = {
        "per_reality_proxy": TARGETS,
        "met_every_proxy": bool(detector and detector["targets_met"] and all(detector["targets_met"].values())),
        "tobin_real_median_cm_max": TARGET_CM,
    }
    summary["table"] = format_table(
        {f"{p} trained on {e['train_domain']}": e["eval"] for p in pipelines for e in pipelines[p].values()}
    )
    return summary, errors


def write_summary(out: Path, summary: dict[str, Any], errors: Errors, filename: str) -> None:
    """``{filename}.json`` and the error CDFs (``errors.png`` beside ``results.json``, ``eval_errors.png`` beside
    ``eval_results.json``)."""
    write_json(out / f"{filename}.json", summary)
    pipelines = summary["pipelines"]
    train_domains = {name: e["train_domain"] for p in pipelines for name, e in pipelines[p].items()}
    plot_errors(errors, train_domains, out / f"{filename.replace('results', 'errors')}.png")
