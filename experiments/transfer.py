"""``simreal experiment transfer``: how much of the sim-to-real localization gap does image translation close, on
every reality proxy, and does it ever destroy the task?

The task model is a :class:`~simreal.perception.detector.PointDetector` trained on ``canonical`` Push-v0 frames
(camera ``front``) whose pixel the frame's calibrated camera lifts to the table (the localization experiment's
detector pipeline): translation has to fix appearance only, geometry is the calibration's job. On each evaluation
domain (default ``test`` and the reality family ``real:0`` .. ``real:4``; names or spec files) it is evaluated on
the raw frames (``no_adaptation``) and after each translator:

- ``cyclegan``: a real2sim CycleGAN (preset ``fast``) trained on unlabelled frames of *that* domain (the baseline;
  it needs the lab's images, so one per domain);
- ``semantic_cyclegan``: the same with CyCADA's semantic-consistency loss: a domain-randomized detector's
  log-heatmap must not change under translation, in both directions (the sim side's labels are free; the DR
  detector reads both domains, where a canonical-only one would anchor the real side to its wrong answers);
- ``rcan``: a randomized -> canonical translator trained once on paired renders of the same state
  (:mod:`simreal.transfer.paired`, :mod:`simreal.transfer.rcan`) with the detector's heatmap loss on its
  output: no real image at all, the same model for every domain.

Reported per domain and method: median / p90 / fraction > 5 cm, the gap closed
``(err_noadapt - err_method) / (err_noadapt - err_canonical)`` on median and p90, and the guard's verdict
(:mod:`simreal.transfer.guard`: object contrast around the block's labelled pixel and agreement of the DR detector
before/after translation on ``guard_frames`` frames);
``guarded`` is what a user of the guard gets: the translator's result, or no adaptation where the guard refuses.
Models and ``models.json`` are saved; :func:`evaluate_saved_translators` evaluates them on new domains (RCAN on
any; a CycleGAN only on the domains it was trained for). Output: ``results.json``, ``summary.md``, ``gap.png``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from collections.abc import Sequence
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from simreal.atomic import atomic_write_bytes
from simreal.data.eval_domains import check_domains, domain_seed
from simreal.envs.config import check_int_range
from simreal.experiments.localization import (
    CAMERA,
    ENV_ID,
    MISS_RATE,
    N_VALIDATION,
    TOLERANCE_PX,
    LocalizationFrames,
    localization_frames,
)
from simreal.experiments.transfer_report import plot_gap, summary_markdown, summary_table
from simreal.perception.detector import PointDetector, calibrate_threshold, detect, train_point_detector
from simreal.perception.localization import load_model, localization_errors_cm, save_model
from simreal.randomization.realities import reality_domains
from simreal.transfer.config import CycleGANConfig
from simreal.transfer.guard import content_survival, disc_masks
from simreal.transfer.paired import paired_frames
from simreal.transfer.rcan import train_rcan
from simreal.transfer.trainer import train_cyclegan
from simreal.transfer.wrapper import ImageTranslator

__all__ = [
    "DOMAINS",
    "METHODS",
    "evaluate_saved_translators",
    "gap_closed",
    "run_transfer_experiment",
    "summary_table",
]

METHODS = ("no_adaptation", "cyclegan", "semantic_cyclegan", "rcan")
TRANSLATORS = METHODS[1:]
DOMAINS = ("test", *reality_domains())
GAN_DOMAINS = ("test", "real:0")  # CycleGANs need each lab's own frames and training: by default on two labs
MODELS_FILE = "models.json"
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


class HeatmapTask(nn.Module):
    """A detector's heatmap as ``sqrt(p * cells)`` (N, cells): the mean squared difference of two outputs is twice
    the squared Hellinger distance of the two heatmaps (0 = same, 2 = disjoint), so the semantic-consistency loss
    weighs where the object is, not the log-probabilities of empty cells."""

    def __init__(self, detector: PointDetector) -> None:
        super().__init__()
        self.detector = detector

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        logits = self.detector(images.contiguous()).flatten(1)
        return torch.sqrt(torch.softmax(logits, dim=1) * logits.shape[1] + 1e-12)


def _translate(checkpoint: Path, images: np.ndarray) -> np.ndarray:
    translator = ImageTranslator(checkpoint, direction="real2sim")
    parts = [
        translator.translate_batch(images[i : i + _TRANSLATE_BATCH]) for i in range(0, len(images), _TRANSLATE_BATCH)
    ]
    return np.concatenate(parts)


def _localize(detector: PointDetector, frames: LocalizationFrames, images: np.ndarray) -> dict[str, float]:
    pixels, _ = detect(detector, images)
    positions = frames.table_positions(pixels)
    positions[np.isnan(positions).any(axis=1)] = frames.positions.mean(axis=0)  # a ray above the horizon
    return localization_errors_cm(positions, frames.positions)


def _evaluate_domain(
    detector: PointDetector,
    probe: PointDetector,
    probe_threshold: float,
    frames: LocalizationFrames,
    checkpoints: dict[str, Path],
    canonical_error: dict[str, float],
    guard_frames: int,
    domain: str,
) -> dict[str, Any]:
    raw = _localize(detector, frames, frames.images)
    out: dict[str, Any] = {"no_adaptation": {"error": raw, "gap_closed": {m: 0.0 for m in _METRICS}}}
    sample = slice(0, min(guard_frames, len(frames.images)))
    masks = disc_masks(frames.pixels[sample], frames.images.shape[1])
    for method, checkpoint in checkpoints.items():
        translated = _translate(checkpoint, frames.images)
        error = _localize(detector, frames, translated)
        guard = content_survival(
            frames.images[sample], translated[sample], masks, probe=lambda images: detect(probe, images), domain=domain,
            min_confidence=probe_threshold,
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


def _write(out: Path, results: dict[str, Any]) -> None:
    atomic_write_bytes(out / "results.json", (json.dumps(results, indent=2) + "\n").encode())
    atomic_write_bytes(out / "summary.md", summary_markdown(results).encode())
    plot_gap(results, out / "gap.png")


def _manifest(out: Path) -> dict[str, Any]:
    path = out / MODELS_FILE
    return json.loads(path.read_text()) if path.is_file() else {}


def run_transfer_experiment(
    out_dir: str | os.PathLike[str],
    n_train: int = 3000,
    n_eval: int = 400,
    epochs: int = 6,
    gan_steps: int = 1000,
    seed: int = 0,
    image_size: int = 64,
    workers: int = 0,
    lambda_semantic: float = 1.0,
    rcan_steps: int = 1500,
    progress: bool = False,
    executor: str | Executor = "local",
    domains: Sequence[str] = DOMAINS,
    gan_domains: Sequence[str] | None = None,
    guard_frames: int = 64,
) -> dict[str, Any]:
    """Run the experiment (module docstring) into ``out_dir``; resumable (a rerun with the same settings reuses
    the saved models and continues interrupted CycleGANs).

    ``n_train`` canonical frames train the detector (``epochs``) and are the CycleGANs' sim side; ``n_train`` fresh
    unlabelled frames of each domain in ``gan_domains`` (default: those of ``GAN_DOMAINS`` among ``domains``, else
    the first domain; a CycleGAN per lab is what makes the baseline expensive) are their real side; ``n_train``
    pairs train RCAN for ``rcan_steps``. Frames are seeded from ``seed`` and the domain name; collected by
    ``workers`` processes of ``executor``. On a shared CPU call ``torch.set_num_threads(1)`` first.
    """
    check_int_range("n_train", n_train, 8, 10**7)
    check_int_range("n_eval", n_eval, 4, 10**7)
    check_int_range("epochs", epochs, 1, 10_000)
    check_int_range("gan_steps", gan_steps, 1, 10**7)
    check_int_range("rcan_steps", rcan_steps, 1, 10**7)
    check_int_range("seed", seed, 0, 2**31 - 1)
    check_int_range("workers", workers, 0, 256)
    check_int_range("guard_frames", guard_frames, 4, 10**5)
    if (
        not isinstance(lambda_semantic, (int, float))
        or isinstance(lambda_semantic, bool)
        or not 0 < lambda_semantic <= 1e6
    ):
        raise ValueError(f"lambda_semantic must be a number > 0, got {lambda_semantic!r}")
    domains = check_domains(domains)
    if gan_domains is None:
        gan_domains = tuple(d for d in GAN_DOMAINS if d in domains) or domains[:1]
    gan_domains = check_domains(gan_domains)
    if set(gan_domains) - set(domains):
        raise ValueError(f"gan_domains must be among domains {list(domains)}, got {list(gan_domains)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    settings = {
        "n_train": n_train, "n_eval": n_eval, "epochs": epochs, "gan_steps": gan_steps, "rcan_steps": rcan_steps,
        "seed": seed, "image_size": image_size, "lambda_semantic": float(lambda_semantic), "guard_frames": guard_frames,
        "preset": "fast", "torch_threads": torch.get_num_threads(),
    }  # fmt: skip
    training = {k: v for k, v in settings.items() if k not in ("n_eval", "guard_frames", "torch_threads")}
    manifest = _manifest(out)
    fresh = manifest.get("training") != training  # another run's models in out_dir are not reused
    if fresh:
        manifest = {"env_id": ENV_ID, "camera": CAMERA, "training": training, "cyclegan": {}, "semantic_cyclegan": {}}
    timings: dict[str, float] = {}
    begun = time.perf_counter()

    def save_manifest() -> None:
        atomic_write_bytes(out / MODELS_FILE, (json.dumps(manifest, indent=2) + "\n").encode())

    def stamp(name: str, started: float) -> None:
        timings[name] = round(time.perf_counter() - started, 2)

    def frames(domain: str, n: int, tag: str) -> LocalizationFrames:
        return localization_frames(domain, n, image_size, domain_seed(seed, f"{tag}:{domain}"), workers, executor)

    started = time.perf_counter()
    train = frames("canonical", n_train, "train")
    stamp("frames_canonical_s", started)
    if "detector" in manifest and (out / manifest["detector"]).is_file():
        detector = load_model(out / manifest["detector"], PointDetector)
    else:
        started = time.perf_counter()
        detector = train_point_detector(train.images, train.pixels, epochs, seed)
        stamp("detector_train_s", started)
        manifest["detector"] = save_model(detector, out / "detector_canonical.pt").name
        save_manifest()
    detector.requires_grad_(False)
    if "probe" in manifest and (out / manifest["probe"]).is_file():
        probe = load_model(out / manifest["probe"], PointDetector)
    else:
        started = time.perf_counter()
        randomized = frames("train", n_train, "train")
        probe = train_point_detector(randomized.images, randomized.pixels, epochs, seed, hard_negatives=0.5)
        stamp("dr_detector_train_s", started)
        manifest["probe"] = save_model(probe, out / "detector_randomized.pt").name
        save_manifest()
    probe.requires_grad_(False)
    if "probe_threshold" not in manifest:
        validation = frames("train", min(N_VALIDATION, n_eval), "validation")
        pixels, confidence = detect(probe, validation.images)
        errors_px = np.linalg.norm(pixels - validation.pixels, axis=1)
        manifest["probe_threshold"] = calibrate_threshold(confidence, errors_px, TOLERANCE_PX, MISS_RATE)
        save_manifest()
    if "rcan" not in manifest or not (out / manifest["rcan"]).is_file():
        started = time.perf_counter()
        pairs_seed = domain_seed(seed, "pairs")
        pairs = paired_frames(ENV_ID, CAMERA, n_train, image_size, pairs_seed, "train", workers, executor)
        stamp("pairs_s", started)
        started = time.perf_counter()
        manifest["rcan"] = train_rcan(pairs, rcan_steps, seed, out / "rcan.pt", detector).name
        stamp("rcan_train_s", started)
        save_manifest()
    base = CycleGANConfig.preset("fast", image_size=image_size)
    every = max(1, gan_steps // 4)
    base = dataclasses.replace(base, sample_every=every, checkpoint_every=every)
    configs = {"cyclegan": base, "semantic_cyclegan": dataclasses.replace(base, lambda_semantic=float(lambda_semantic))}
    for domain in gan_domains:
        todo = [m for m in configs if domain not in manifest[m]]
        if not todo:
            continue
        target = frames(domain, n_train, "gan").images  # unlabelled: the labels are never read
        for method in todo:
            started = time.perf_counter()
            folder = out / method / domain.replace(":", "_").replace("/", "_")
            semantic = HeatmapTask(probe) if method == "semantic_cyclegan" else None
            checkpoint = train_cyclegan(
                train.images, target, configs[method], folder, gan_steps, seed, resume=not fresh,
                semantic_network=semantic, progress=progress,
            )  # fmt: skip
            stamp(f"{method}_{domain}_train_s", started)
            manifest[method][domain] = str(checkpoint.relative_to(out))
            save_manifest()
    timings["training_total_s"] = round(time.perf_counter() - begun, 2)
    results = _evaluate_all(
        out, manifest, detector, probe, domains, n_eval, seed, image_size, guard_frames, workers, executor
    )
    results["settings"] = {**settings, "domains": list(domains), "gan_domains": list(gan_domains)}
    timings["total_s"] = round(time.perf_counter() - begun, 2)
    results["timings_s"] = {**timings, **results["timings_s"]}
    _write(out, results)
    return results


def _evaluate_all(
    folder: Path,
    manifest: dict[str, Any],
    detector: PointDetector,
    probe: PointDetector,
    domains: Sequence[str],
    n_eval: int,
    seed: int,
    image_size: int,
    guard_frames: int,
    workers: int,
    executor: str | Executor,
) -> dict[str, Any]:
    started = time.perf_counter()

    def frames(domain: str) -> LocalizationFrames:
        return localization_frames(domain, n_eval, image_size, domain_seed(seed, f"eval:{domain}"), workers, executor)

    canonical = frames("canonical")
    canonical_error = _localize(detector, canonical, canonical.images)
    per_domain: dict[str, dict[str, Any]] = {}
    for domain in domains:
        checkpoints = {"rcan": folder / manifest["rcan"]}
        for method in ("cyclegan", "semantic_cyclegan"):
            if domain in manifest.get(method, {}):
                checkpoints[method] = folder / manifest[method][domain]
        per_domain[domain] = _evaluate_domain(
            detector,
            probe,
            float(manifest["probe_threshold"]),
            frames(domain),
            checkpoints,
            canonical_error,
            guard_frames,
            domain,
        )
    return {
        "env_id": ENV_ID,
        "camera": CAMERA,
        "canonical": {"error": canonical_error},
        "domains": per_domain,
        "summary": _aggregate(per_domain),
        "timings_s": {"evaluation_s": round(time.perf_counter() - started, 2)},
    }


def evaluate_saved_translators(
    models_dir: str | os.PathLike[str],
    domains: Sequence[str],
    n_eval: int = 400,
    seed: int = 0,
    out_dir: str | os.PathLike[str] | None = None,
    guard_frames: int = 64,
    workers: int = 0,
    executor: str | Executor = "local",
) -> dict[str, Any]:
    """Evaluate a finished run's detector, RCAN and CycleGANs (on the domains they were trained for) on
    ``domains`` without retraining; writes ``results.json``, ``summary.md`` and ``gap.png`` to ``out_dir``
    (default ``models_dir/eval``)."""
    check_int_range("n_eval", n_eval, 4, 10**7)
    check_int_range("guard_frames", guard_frames, 4, 10**5)
    domains = check_domains(domains)
    folder = Path(models_dir)
    manifest = _manifest(folder)
    if not {"detector", "probe", "probe_threshold", "rcan"} <= set(manifest):
        raise ValueError(f"models_dir: no finished transfer run in {folder} ({MODELS_FILE} lacks its models)")
    detector = load_model(folder / manifest["detector"], PointDetector)
    probe = load_model(folder / manifest["probe"], PointDetector)
    image_size = int(manifest["training"]["image_size"])
    results = _evaluate_all(folder, manifest, detector, probe, domains, n_eval, seed, image_size, guard_frames,
                            workers, executor)  # fmt: skip
    results["settings"] = {"models_dir": str(folder), "n_eval": n_eval, "seed": seed, "domains": list(domains),
                           "training": manifest["training"], "guard_frames": guard_frames}  # fmt: skip
    out = Path(out_dir) if out_dir is not None else folder / "eval"
    out.mkdir(parents=True, exist_ok=True)
    _write(out, results)
    return results
