"""Evaluating the localization experiment's models (:mod:`simreal.experiments.localization`) on every domain's
frames: errors per model and domain, the reality-proxy summary, the nominal-camera floor and the targets."""

from __future__ import annotations

from concurrent.futures import Executor
from pathlib import Path
from typing import Any

import numpy as np

from simreal.data.eval_domains import domain_seed
from simreal.envs.arm.scene import BLOCK_HALF_SIZE
from simreal.experiments.block_frames import (
    VISIBLE,
    LocalizationFrames,
    ViewFrames,
    detector_positions,
    view_frames,
    write_json,
)
from simreal.experiments.localization_multiview import multiview_positions
from simreal.experiments.localization_report import (
    TARGET_CM,
    TARGETS,
    format_table,
    over_proxies,
    plot_errors,
    targets_met,
)
from simreal.experiments.localization_training import Models
from simreal.perception.localization import GROSS_ERROR_CM, localization_errors_cm, predict_positions
from simreal.perception.triangulation import pixels_to_plane

__all__ = ["evaluation_frames", "nominal_camera_floor", "summarize", "visible_metrics", "write_summary"]

Errors = dict[str, dict[str, dict[str, np.ndarray]]]  # pipeline -> model name -> domain -> per-frame errors (cm)


def evaluation_frames(
    domains: tuple[str, ...], n_eval: int, image_size: int, seed: int, cameras: tuple[str, ...], workers: int,
    executor: str | Executor,
) -> dict[str, ViewFrames]:  # fmt: skip
    """``n_eval`` frames of each domain seen by ``cameras`` (``front`` first), seeded by ``seed`` and the domain's
    name alone (the ``front`` views are the same whatever other cameras are rendered), with the share of the
    block the clutter leaves visible in each view."""
    return {
        d: view_frames(d, n_eval, image_size, domain_seed(seed, d), cameras, workers, executor, visibility=True)
        for d in domains
    }


def visible_metrics(errors: np.ndarray, found: np.ndarray | None, visible: np.ndarray) -> dict[str, float]:
    """The errors (cm, (N,)) split by whether the clutter leaves at least ``VISIBLE`` of the block visible in the
    ``front`` view (``visible`` (N,)): ``visible_share`` (the share of such frames), median, p90 and the fraction
    of frames > 5 cm over them (``*_visible``), and for a detector (``found``) its "not found" rate on them and on
    the others (``not_found_hidden``, where "not found" is the right answer). Empty when ``visible`` was not
    measured (NaN), zeros for an empty side."""
    if np.isnan(visible).any():
        return {}
    shown = visible >= VISIBLE
    seen = errors[shown]
    out = {
        "visible_share": float(shown.mean()),
        "median_cm_visible": float(np.median(seen)) if len(seen) else 0.0,
        "p90_cm_visible": float(np.percentile(seen, 90)) if len(seen) else 0.0,
        "tail_5cm_visible": float(np.mean(seen > GROSS_ERROR_CM)) if len(seen) else 0.0,
    }
    if found is not None:
        out["not_found_visible"] = float(1.0 - found[shown].mean()) if shown.any() else 0.0
        out["not_found_hidden"] = float(1.0 - found[~shown].mean()) if (~shown).any() else 0.0
    return out


def _predict(
    pipeline: str, model: Any, entry: dict[str, Any], frames: ViewFrames, rule: tuple[tuple[str, ...], float]
) -> tuple[np.ndarray, dict[str, Any]]:
    """Table positions and the extra metrics: the "found" verdicts (detectors), how many frames' detections missed
    the table (counted at ``entry["fallback"]``, the training mean, and as not found) and, for ``multiview``, the
    fraction of frames answered from 0..V agreeing views. ``rule``: the cameras of ``frames`` and the multi-view
    agreement distance (cm)."""
    front = frames.view(0)
    if pipeline == "regression":
        return predict_positions(model, front.images), {"missed_table": 0}
    if pipeline == "multiview":
        positions, fused, off_table = multiview_positions(model, entry, frames, *rule)
        shares = np.bincount(fused.views, minlength=len(entry["cameras"]) + 1) / len(fused.views)
        return positions, {"found": fused.found, "missed_table": off_table, "views_used": shares.tolist()}
    fallback, region = np.asarray(entry["fallback"]), entry.get("search_region")  # no region: the whole image
    positions, confidence, missed = detector_positions(model, front, front.images, fallback, region)
    return positions, {"found": (confidence >= entry["threshold"]) & ~missed, "missed_table": int(missed.sum())}


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


def _evaluate(
    models: Models, evaluation: dict[str, ViewFrames], rule: tuple[tuple[str, ...], float]
) -> tuple[dict[str, dict[str, Any]], Errors]:
    """Every model (pipeline -> name -> (model, manifest entry)) on every domain's frames (``rule``: see
    :func:`_predict`): results and errors."""
    results: dict[str, dict[str, Any]] = {p: {} for p in models}
    errors: Errors = {p: {} for p in models}
    for pipeline, named in models.items():
        for name, (model, entry) in named.items():
            per_domain, errors[pipeline][name] = {}, {}
            for domain, frames in evaluation.items():
                predictions, extra = _predict(pipeline, model, entry, frames, rule)
                errors[pipeline][name][domain] = 100.0 * np.linalg.norm(predictions - frames.positions, axis=1)
                found = extra.pop("found", None)
                split = visible_metrics(errors[pipeline][name][domain], found, frames.visible[:, 0])
                per_domain[domain] = {**localization_errors_cm(predictions, frames.positions, found), **extra, **split}
            results[pipeline][name] = {
                "train_domain": entry["train_domain"],
                "model": entry["file"],
                "eval": per_domain,
                "reality_proxies": over_proxies(per_domain),
                "targets_met": targets_met(per_domain),
            }
    return results, errors


def summarize(
    summary: dict[str, Any], models: Models, evaluation: dict[str, ViewFrames], rule: tuple[tuple[str, ...], float]
) -> tuple[dict[str, Any], Errors]:
    """``summary`` with every model's results (``pipelines``), the nominal-camera floor (when ``canonical`` is
    evaluated), the targets' verdict (``met_every_proxy``: the randomized single-view detector's, as before the
    multi-view pipeline; ``met_every_proxy_by_pipeline``: each randomized model's), the table and (when the frames
    measured visibility) ``table_visible``, the same over the frames that show the block, added; and the
    per-frame errors (for the plot). ``rule``: the cameras of ``evaluation``'s frames and the multi-view agreement
    distance (cm)."""
    pipelines, errors = _evaluate(models, evaluation, rule)
    summary["pipelines"] = pipelines
    if "canonical" in evaluation:
        canonical = evaluation["canonical"].view(0)
        summary["nominal_camera_floor"] = {d: nominal_camera_floor(f.view(0), canonical) for d, f in evaluation.items()}

    def met(pipeline: str) -> bool:
        randomized = pipelines.get(pipeline, {}).get("randomized")
        return bool(randomized and randomized["targets_met"] and all(randomized["targets_met"].values()))

    summary["target"] = {
        "per_reality_proxy": TARGETS,
        "met_every_proxy": met("detector"),
        "met_every_proxy_by_pipeline": {p: met(p) for p in pipelines},
        "tobin_real_median_cm_max": TARGET_CM,
    }
    rows = {f"{p} trained on {e['train_domain']}": e["eval"] for p in pipelines for e in pipelines[p].values()}
    summary["table"] = format_table(rows)
    shown = {label: _on_visible(evaluation) for label, evaluation in rows.items()}
    if all(shown.values()):
        summary["table_visible"] = format_table(shown)
    return summary, errors


def _on_visible(evaluation: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Per domain, the metrics over the frames that show the block (:func:`visible_metrics`) under the names of
    the all-frames metrics (for :func:`format_table`); empty when visibility was not measured."""
    if not all("visible_share" in m for m in evaluation.values()):
        return {}
    names = {"median_cm": "median_cm_visible", "p90_cm": "p90_cm_visible", "tail_5cm": "tail_5cm_visible",
             "not_found": "not_found_visible"}  # fmt: skip
    return {d: {k: m[v] for k, v in names.items() if v in m} for d, m in evaluation.items()}


def write_summary(out: Path, summary: dict[str, Any], errors: Errors, filename: str) -> None:
    """``{filename}.json`` and the error CDFs (``errors.png`` beside ``results.json``, ``eval_errors.png`` beside
    ``eval_results.json``)."""
    write_json(out / f"{filename}.json", summary)
    pipelines = summary["pipelines"]
    train_domains = {name: e["train_domain"] for p in pipelines for name, e in pipelines[p].items()}
    plot_errors(errors, train_domains, out / f"{filename.replace('results', 'errors')}.png")
