"""``simreal experiment transfer``: how much of the sim-to-real gap does CycleGAN observation adaptation close?

A :class:`~simreal.data.localization.LocalizationCNN` is trained on ``canonical`` Push-v0 frames only (camera
``front``) and evaluated on held-out ``real`` frames four ways: without adaptation, after a ``real2sim`` CycleGAN
(preset ``fast``), after a task-consistent ``real2sim`` CycleGAN (the frozen CNN as task network, RL-CycleGAN
style) and, as the reference, on held-out ``canonical`` frames. The CycleGANs see unpaired, unlabelled frames
drawn with their own seeds (the CNN's canonical training frames and fresh real frames), never the evaluation
frames. Both CycleGANs share the seed, data and step budget, so they differ only in the task loss.

Reported: median / p90 error in cm, the fraction of the gap closed
``(err_noadapt - err_method) / (err_noadapt - err_canonical)`` and the domain-classifier two-sample test accuracy
against held-out canonical frames (~0.5 = indistinguishable). Output: ``results.json``, ``gap.png``,
``summary.md`` (all written atomically) and the models.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from simreal.atomic import atomic_write
from simreal.data.experiment_localization import CAMERA, ENV_ID, localization_frames
from simreal.data.localization import (
    LocalizationCNN,
    localization_errors_cm,
    predict_positions,
    save_localization_model,
    train_localization,
)
from simreal.envs.config import check_int_range
from simreal.transfer.config import CycleGANConfig
from simreal.transfer.metrics import domain_classifier_test
from simreal.transfer.trainer import train_cyclegan
from simreal.transfer.wrapper import ImageTranslator

__all__ = ["METHODS", "gap_closed", "run_transfer_experiment", "transfer_experiment_main"]

METHODS = ("no_adaptation", "cyclegan", "task_cyclegan")
_LABELS = {
    "canonical": "canonical (reference)",
    "no_adaptation": "real, no adaptation",
    "cyclegan": "real -> real2sim CycleGAN",
    "task_cyclegan": "real -> task-consistent CycleGAN",
}
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


class NormalizedTask(nn.Module):
    """The localization CNN's output in standardised target units (the scale it was trained on).

    In metres the task-consistency MSE of a cm-level disagreement is ~1e-4, invisible next to the cycle loss;
    in standardised units it is of order 0.01-1."""

    def __init__(self, model: LocalizationCNN) -> None:
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.model.normalized(images)


def _translate(checkpoint: Path, images: np.ndarray) -> np.ndarray:
    translator = ImageTranslator(checkpoint, direction="real2sim")
    parts = [
        translator.translate_batch(images[i : i + _TRANSLATE_BATCH]) for i in range(0, len(images), _TRANSLATE_BATCH)
    ]
    return np.concatenate(parts)


def _evaluate(model: LocalizationCNN, images: np.ndarray, targets: np.ndarray) -> dict[str, float]:
    return localization_errors_cm(predict_positions(model, images), targets)


def _plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    names = ["canonical", *METHODS]
    errors = [results["canonical"]["error"], *(results["methods"][m]["error"] for m in METHODS)]
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
    positions = np.arange(len(names))
    for offset, metric in zip((-0.2, 0.2), _METRICS, strict=True):
        left.bar(positions + offset, [e[metric] for e in errors], width=0.4, label=metric.replace("_cm", ""))
    left.set_xticks(positions, [_LABELS[n] for n in names], rotation=15, ha="right", fontsize=8)
    left.set(ylabel="block position error (cm)", title="Localization CNN trained on canonical sim")
    left.legend()
    for x, method in enumerate(METHODS, start=1):
        closed = results["methods"][method]["gap_closed"]["median_cm"]
        if closed is not None:
            top = max(errors[x][m] for m in _METRICS)
            left.annotate(f"{100 * closed:.0f}% of median gap", (x, top), ha="center", va="bottom", fontsize=8)
    accuracies = [results["methods"][m]["domain_accuracy"] for m in METHODS]
    right.bar(np.arange(len(METHODS)), accuracies, color="tab:green")
    right.axhline(0.5, color="grey", linestyle="--", linewidth=1, label="chance (indistinguishable)")
    right.set_xticks(np.arange(len(METHODS)), [_LABELS[m] for m in METHODS], rotation=15, ha="right", fontsize=8)
    right.set(ylim=(0, 1.05), ylabel="accuracy vs canonical", title="Domain classifier two-sample test")
    right.legend(fontsize=8)
    figure.tight_layout()
    atomic_write(path, lambda tmp: figure.savefig(tmp, format="png", dpi=120))
    plt.close(figure)


def _fmt(value: float | None, percent: bool = False) -> str:
    if value is None:
        return "n/a"
    return f"{100 * value:.0f}%" if percent else f"{value:.2f}"


def summary_table(results: dict[str, Any]) -> str:
    """Markdown table of errors, gap closed and domain-classifier accuracy per condition."""
    lines = [
        "| condition | median (cm) | p90 (cm) | gap closed (median) | gap closed (p90) | domain acc. vs canonical |",
        "|---|---|---|---|---|---|",
        f"| {_LABELS['canonical']} | {_fmt(results['canonical']['error']['median_cm'])} "
        f"| {_fmt(results['canonical']['error']['p90_cm'])} | - | - | - |",
    ]
    for method in METHODS:
        entry = results["methods"][method]
        lines.append(
            f"| {_LABELS[method]} | {_fmt(entry['error']['median_cm'])} | {_fmt(entry['error']['p90_cm'])} "
            f"| {_fmt(entry['gap_closed']['median_cm'], True)} | {_fmt(entry['gap_closed']['p90_cm'], True)} "
            f"| {_fmt(entry['domain_accuracy'])} |"
        )
    return "\n".join(lines)


def _summary_markdown(results: dict[str, Any]) -> str:
    s = results["settings"]
    return (
        "# Transfer experiment: localization CNN trained on canonical sim, evaluated on real\n\n"
        f"{ENV_ID}, camera `{CAMERA}`, {s['image_size']} px; CNN: {s['n_train']} canonical frames, "
        f"{s['epochs']} epochs; CycleGAN preset `fast`, {s['gan_steps']} steps (task-consistent: "
        f"lambda_task={s['lambda_task']} on standardised CNN outputs); {s['n_eval']} evaluation frames per domain; "
        f"seed {s['seed']}.\n\n"
        "gap closed = (err_noadapt - err_method) / (err_noadapt - err_canonical); domain accuracy ~0.5 means the "
        "images are indistinguishable from canonical sim.\n\n" + summary_table(results) + "\n"
    )


def run_transfer_experiment(
    out_dir: str | os.PathLike[str],
    n_train: int = 4000,
    n_eval: int = 500,
    epochs: int = 12,
    gan_steps: int = 3000,
    seed: int = 0,
    image_size: int = 64,
    workers: int = 0,
    lambda_task: float = 10.0,
    domain_test_steps: int = 400,
    progress: bool = False,
    executor: str | Executor = "local",
) -> dict[str, Any]:
    """Run the experiment (module docstring) and write ``results.json``, ``gap.png`` and ``summary.md``.

    ``n_train`` canonical frames train the CNN and serve as the CycleGANs' sim side; ``n_train`` fresh real frames
    are their real side. Frames come from ``np.random.SeedSequence(seed)`` children, the networks from ``seed``;
frames are collected by ``workers`` processes of ``executor`` (``local``, ``ray``; see :mod:`simreal.parallel`).
    On a CPU shared with other jobs, call ``torch.set_num_threads(1)`` first: on a loaded 2-core machine a
    ``fast`` CycleGAN step ran at 0.16 steps/s with 2 threads and 4.0 steps/s with 1.
    """
    check_int_range("n_train", n_train, 8, 10**7)
    check_int_range("n_eval", n_eval, 4, 10**7)
    check_int_range("epochs", epochs, 1, 10_000)
    check_int_range("gan_steps", gan_steps, 1, 10**7)
    check_int_range("seed", seed, 0, 2**31 - 1)
    check_int_range("workers", workers, 0, 256)
    check_int_range("domain_test_steps", domain_test_steps, 1, 10**6)
    if isinstance(lambda_task, bool) or not isinstance(lambda_task, (int, float)) or not 0 < lambda_task <= 1e6:
        raise ValueError(f"lambda_task must be a number in (0, 1e6], got {lambda_task!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}

    def timed(name: str, started: float) -> None:
        timings[name] = round(time.perf_counter() - started, 2)

    started = time.perf_counter()
    names = ("train", "gan_real", "eval_canonical", "eval_real")
    seeds = dict(zip(names, np.random.SeedSequence(seed).spawn(len(names)), strict=True))
    train = localization_frames("canonical", n_train, image_size, seeds["train"], workers, executor)
    train_images, train_targets = train.images, train.positions
    gan_frames = localization_frames("real", n_train, image_size, seeds["gan_real"], workers, executor)
    gan_real = gan_frames.images  # labels unused
    canonical = localization_frames("canonical", n_eval, image_size, seeds["eval_canonical"], workers, executor)
    canon_images, canon_targets = canonical.images, canonical.positions
    real = localization_frames("real", n_eval, image_size, seeds["eval_real"], workers, executor)
    real_images, real_targets = real.images, real.positions
    timed("frames_s", started)

    started = time.perf_counter()
    model = train_localization(train_images, train_targets, epochs, seed)
    save_localization_model(model, out / "localization_canonical.pt")
    timed("cnn_train_s", started)

    base = CycleGANConfig.preset("fast", image_size=image_size)
    every = max(1, gan_steps // 4)
    base = dataclasses.replace(base, sample_every=every, checkpoint_every=every)
    configs = {"cyclegan": base, "task_cyclegan": dataclasses.replace(base, lambda_task=float(lambda_task))}
    evaluated = {"no_adaptation": real_images}
    for method, config in configs.items():
        started = time.perf_counter()
        task = NormalizedTask(model) if method == "task_cyclegan" else None
        checkpoint = train_cyclegan(
            train_images, gan_real, config, out / method, gan_steps, seed, task_network=task, resume=False,
            progress=progress,
        )  # fmt: skip
        evaluated[method] = _translate(checkpoint, real_images)
        timed(f"{method}_train_s", started)

    started = time.perf_counter()
    canonical_error = _evaluate(model, canon_images, canon_targets)
    methods: dict[str, Any] = {}
    for method in METHODS:
        error = _evaluate(model, evaluated[method], real_targets)
        domain = domain_classifier_test(evaluated[method], canon_images, seed=seed, train_steps=domain_test_steps)
        methods[method] = {"error": error, "domain_accuracy": domain.accuracy, "domain_p_value": domain.p_value}
    for method in METHODS:
        methods[method]["gap_closed"] = {
            m: gap_closed(methods["no_adaptation"]["error"][m], methods[method]["error"][m], canonical_error[m])
            for m in _METRICS
        }
    timed("evaluation_s", started)

    results: dict[str, Any] = {
        "env_id": ENV_ID,
        "camera": CAMERA,
        "settings": {
            "n_train": n_train,
            "n_eval": n_eval,
            "epochs": epochs,
            "gan_steps": gan_steps,
            "seed": seed,
            "image_size": image_size,
            "lambda_task": float(lambda_task),
            "domain_test_steps": domain_test_steps,
            "preset": "fast",
            "torch_threads": torch.get_num_threads(),
        },
        "canonical": {"error": canonical_error},
        "methods": methods,
        "timings_s": timings,
    }
    payload = (json.dumps(results, indent=2) + "\n").encode()
    atomic_write(out / "results.json", lambda tmp: tmp.write_bytes(payload))
    _plot(results, out / "gap.png")
    summary = _summary_markdown(results)
    atomic_write(out / "summary.md", lambda tmp: tmp.write_text(summary))
    return results


def transfer_experiment_main(
    out: str, n_train: int, n_eval: int, epochs: int, gan_steps: int, seed: int, executor: str = "local"
) -> dict:
    """CLI entry of ``simreal experiment transfer``: run, print the summary table and the output folder."""
    results = run_transfer_experiment(
        out, n_train=n_train, n_eval=n_eval, epochs=epochs, gan_steps=gan_steps, seed=seed, executor=executor
    )
    print(summary_table(results))
    print(f"results: {Path(out) / 'results.json'}, plot: {Path(out) / 'gap.png'}")
    return results
