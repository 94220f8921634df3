"""The Tobin et al. (2017) domain-randomization test on ``simreal/Push-v0``.

Two :class:`~simreal.data.localization.LocalizationCNN` are trained on reset frames of the ``front`` camera: one on
the randomized ``train`` domain (plus a quarter of clean frames), one on ``canonical`` frames. Both are evaluated on
fresh ``canonical``, ``test`` and ``real`` frames; results (median / 90th-percentile error in cm) go to
``results.json`` and ``errors.png``.

Why ``front``: it is the envs' default pixel camera (what pixel policies and the transfer module see), and it faces
the arm from beyond the block's range, so the arm never hides the block at reset; from ``top`` the hovering gripper
occludes the block in about 8% of resets (measured with the segmentation labels).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from simreal.atomic import atomic_write, atomic_write_bytes
from simreal.data.episodes import RolloutSpec, make_data_env, stream_frames
from simreal.data.localization import (
    localization_errors_cm,
    predict_positions,
    save_localization_model,
    train_localization,
)
from simreal.envs.config import check_int_range

__all__ = ["CAMERA", "ENV_ID", "EVAL_DOMAINS", "TARGET_CM", "localization_frames", "run_localization_experiment"]

ENV_ID = "simreal/Push-v0"
CAMERA = "front"
TRAIN_DOMAINS = {"randomized": "train", "canonical": "canonical"}
EVAL_DOMAINS = ("canonical", "test", "real")
TARGET_CM = 1.5
CANONICAL_FRACTION = 0.25  # clean frames in the randomized model's training set
_CHUNK = 250  # frames per worker task


def _frames_chunk(
    domain: str, count: int, image_size: int, seed_sequence: np.random.SeedSequence
) -> tuple[np.ndarray, np.ndarray]:
    spec = RolloutSpec(ENV_ID, domain, camera=CAMERA, image_size=image_size, frames_per_episode=1)
    env = make_data_env(spec)
    images = np.empty((count, image_size, image_size, 3), dtype=np.uint8)
    targets = np.empty((count, 2), dtype=np.float64)
    try:
        frames = stream_frames(env, spec, seed_sequence)
        for i in range(count):
            images[i] = next(frames).rgb
            targets[i] = env.unwrapped.task_state()["block_position"][:2]  # type: ignore[attr-defined]
    finally:
        env.close()
    return images, targets


def localization_frames(
    domain: str, n: int, image_size: int, seed_sequence: np.random.SeedSequence, workers: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` reset frames of the Push block in ``domain`` (uint8 (n, S, S, 3)) and its table (x, y) in metres.

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
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _reporter(name: str, epochs: int) -> Callable[[int, float], None]:
    def report(epoch: int, loss: float) -> None:
        print(f"[{name}] epoch {epoch + 1}/{epochs} loss {loss:.4f}", flush=True)

    return report


def _plot(errors: dict[str, dict[str, np.ndarray]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    figure, axes = plt.subplots(1, len(EVAL_DOMAINS), figsize=(4 * len(EVAL_DOMAINS), 3.4), sharey=True)
    for axis, domain in zip(axes, EVAL_DOMAINS, strict=True):
        for name, per_domain in errors.items():
            values = np.sort(per_domain[domain])
            axis.plot(values, np.linspace(0, 1, len(values)), label=f"trained on {TRAIN_DOMAINS[name]}")
        axis.axvline(TARGET_CM, color="grey", linestyle="--", linewidth=1)
        axis.set(title=f"eval: {domain}", xlabel="position error (cm)", xscale="log")
        axis.grid(alpha=0.3)
    axes[0].set_ylabel("fraction of frames")
    axes[0].legend(loc="lower right", fontsize=8)
    figure.suptitle("Push block localization from one 'front' image (Tobin et al. 2017 test)")
    figure.tight_layout()
    atomic_write(path, lambda tmp: figure.savefig(tmp, format="png", dpi=120))
    plt.close(figure)


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
) -> dict[str, Any]:
    """Train with and without randomization, evaluate on canonical/test/real; write JSON, plot and models.

    Both models get the same budget and the same image-space augmentation (``augment``, see
    :func:`~simreal.data.localization.augment_images`), so they differ only in the scene randomization. The
    randomized model's ``n_train`` frames include ``canonical_fraction`` clean ones (a curriculum: measured, from
    only randomized frames the net often sat at the mean prediction for the whole budget).
    """
    if not 0.0 <= canonical_fraction < 1.0:
        raise ValueError(f"canonical_fraction must be in [0, 1), got {canonical_fraction}")
    check_int_range("n_train", n_train, 8, 10**7)
    check_int_range("n_eval", n_eval, 2, 10**7)
    check_int_range("epochs", epochs, 1, 10_000)
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
    models: dict[str, Any] = {}
    errors: dict[str, dict[str, np.ndarray]] = {}
    for name, domain in TRAIN_DOMAINS.items():
        started = time.perf_counter()
        n_clean = round(canonical_fraction * n_train) if domain != "canonical" else 0
        images, targets = localization_frames(domain, n_train - n_clean, image_size, train_seeds[name], workers)
        if n_clean:
            clean_images, clean_targets = localization_frames("canonical", n_clean, image_size, mix_seed, workers)
            images, targets = np.concatenate([images, clean_images]), np.concatenate([targets, clean_targets])
        timings[f"{name}_frames_s"] = time.perf_counter() - started
        started = time.perf_counter()
        report = _reporter(name, epochs) if progress else None
        model = train_localization(images, targets, epochs, seed, augment=augment, on_epoch=report)
        timings[f"{name}_train_s"] = time.perf_counter() - started
        save_localization_model(model, out / f"localization_{name}.pt")
        errors[name] = {}
        results = {}
        for eval_domain, (eval_images, eval_targets) in evaluation.items():
            predictions = predict_positions(model, eval_images)
            errors[name][eval_domain] = 100.0 * np.linalg.norm(predictions - eval_targets, axis=1)
            results[eval_domain] = localization_errors_cm(predictions, eval_targets)
        models[name] = {"train_domain": domain, "model": f"localization_{name}.pt", "eval": results}
    real_median = models["randomized"]["eval"]["real"]["median_cm"]
    summary = {
        "env_id": ENV_ID,
        "camera": CAMERA,
        "settings": {
            "n_train": n_train,
            "n_eval": n_eval,
            "epochs": epochs,
            "seed": seed,
            "image_size": image_size,
            "augment": augment,
            "canonical_fraction": canonical_fraction,
        },
        "models": models,
        "target": {"real_median_cm_max": TARGET_CM, "met": bool(real_median <= TARGET_CM)},
        "timings_s": {k: round(v, 2) for k, v in timings.items()},
    }
    atomic_write_bytes(out / "results.json", (json.dumps(summary, indent=2) + "\n").encode())
    _plot(errors, out / "errors.png")
    return summary
