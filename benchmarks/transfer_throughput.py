"""CycleGAN transfer throughput on CPU: ``fast`` vs ``reference`` presets, measured in the same run.

* Inference: images/s of ``ImageTranslator.translate_batch`` (uint8 in, uint8 out, what an RL wrapper pays)
  at 64x64 with batch 1 and batch 64. ``reference`` is the paper's generator for 64 px (6 residual blocks);
  the 9-block ResNet (the paper's 256 px network, the issue's "ResNet-9") is reported as an extra row.
* Training: iterations/s of ``CycleGANTrainer.train_step`` (both generators and discriminators, batch 1).

Repeats are interleaved across presets so machine-load drift hits all alike; medians are reported with the
fast/reference ratio. The thread count and load average are printed because other processes on a 2-core
machine change the numbers a lot; ``--threads 1 --cpu-time`` gives per-core rates that other load barely
moves (with 2 threads, OpenMP barrier waits make busy-machine wall-clock numbers meaningless).

Usage: python benchmarks/transfer_throughput.py [--repeats 5] [--threads N] [--cpu-time]
Target: fast >= 500 images/s at 64x64 batch 64, and >= 20x reference.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch

from simreal.perception.images import images_to_tensor
from simreal.transfer.config import CycleGANConfig, GeneratorConfig
from simreal.transfer.networks import ResnetGenerator
from simreal.transfer.trainer import CycleGANTrainer
from simreal.transfer.wrapper import ImageTranslator

SIZE = 64
TARGET_IMAGES_PER_S = 500.0
TARGET_RATIO = 20.0


def _rate(fn: Callable[[], object], items: int, min_seconds: float, clock: Callable[[], float]) -> float:
    """Items per second of ``fn`` over at least ``min_seconds`` of ``clock`` (at least one call)."""
    calls, start = 0, clock()
    while True:
        fn()
        calls += 1
        elapsed = clock() - start
        if elapsed >= min_seconds:
            return calls * items / elapsed


def _translators() -> dict[str, ImageTranslator]:
    configs = {
        "fast": CycleGANConfig.preset("fast", image_size=SIZE).generator,
        "reference": CycleGANConfig.preset("reference", image_size=SIZE).generator,
        "reference-9blocks": GeneratorConfig(ngf=64, n_blocks=9),
    }
    return {
        name: ImageTranslator(ResnetGenerator(cfg, torch.Generator().manual_seed(0))) for name, cfg in configs.items()
    }


def _trainers() -> dict[str, tuple[CycleGANTrainer, torch.Tensor, torch.Tensor]]:
    rng = np.random.default_rng(0)
    out = {}
    for name in ("fast", "reference"):
        config = CycleGANConfig.preset(name, image_size=SIZE)
        trainer = CycleGANTrainer(config, seed=0)
        cl = config.generator.channels_last
        x = images_to_tensor(rng.integers(0, 256, (1, SIZE, SIZE, 3), dtype=np.uint8), channels_last=cl)
        y = images_to_tensor(rng.integers(0, 256, (1, SIZE, SIZE, 3), dtype=np.uint8), channels_last=cl)
        out[name] = (trainer, x, y)
    return out


def run(
    repeats: int, min_seconds: float, clock: Callable[[], float] = time.perf_counter
) -> dict[str, dict[str, float]]:
    """Median rates per model: ``infer_b1``, ``infer_b64`` (images/s) and ``train_b1`` (iterations/s)."""
    rng = np.random.default_rng(0)
    batches = {b: rng.integers(0, 256, (b, SIZE, SIZE, 3), dtype=np.uint8) for b in (1, 64)}
    translators, trainers = _translators(), _trainers()
    samples: dict[str, dict[str, list[float]]] = {name: {} for name in translators}
    for translator in translators.values():  # warm-up: oneDNN primitive creation
        translator.translate_batch(batches[64])
        translator.translate_batch(batches[1])
    for trainer, x, y in trainers.values():
        trainer.train_step(x, y)
    for _ in range(repeats):
        for name, translator in translators.items():
            for b, images in batches.items():
                rate = _rate(lambda t=translator, i=images: t.translate_batch(i), b, min_seconds, clock)
                samples[name].setdefault(f"infer_b{b}", []).append(rate)
        for name, (trainer, x, y) in trainers.items():
            rate = _rate(lambda t=trainer, x=x, y=y: t.train_step(x, y), 1, min_seconds, clock)
            samples[name].setdefault("train_b1", []).append(rate)
    return {name: {k: statistics.median(v) for k, v in per.items()} for name, per in samples.items()}


def report(results: dict[str, dict[str, float]], cpu_time: bool) -> None:
    """Print the table, the fast/reference ratios and the target checks."""
    print(f"{'model':<20}{'infer b1 img/s':>16}{'infer b64 img/s':>17}{'train b1 it/s':>15}")
    for name, r in results.items():
        train = f"{r['train_b1']:.2f}" if "train_b1" in r else "-"
        print(f"{name:<20}{r['infer_b1']:>16.1f}{r['infer_b64']:>17.1f}{train:>15}")
    fast, ref = results["fast"], results["reference"]
    ratios = {key: fast[key] / ref[key] for key in ("infer_b1", "infer_b64", "train_b1")}
    print("fast/reference ratio: " + ", ".join(f"{k} {v:.1f}x" for k, v in ratios.items()))
    print(
        f"fast/reference-9blocks ratio: infer_b64 {fast['infer_b64'] / results['reference-9blocks']['infer_b64']:.1f}x"
    )
    ratio_ok = ratios["infer_b64"] >= TARGET_RATIO
    print(f"target fast infer_b64 >= {TARGET_RATIO:.0f}x reference: {'met' if ratio_ok else 'NOT met'}")
    if cpu_time:
        print(f"(the {TARGET_IMAGES_PER_S:.0f} img/s target is wall-clock on 2 cores: run without --cpu-time)")
    else:
        rate_ok = fast["infer_b64"] >= TARGET_IMAGES_PER_S
        print(f"target fast infer_b64 >= {TARGET_IMAGES_PER_S:.0f} img/s: {'met' if rate_ok else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="interleaved repeats (median reported)")
    parser.add_argument("--min-seconds", type=float, default=1.0, help="minimum timed seconds per sample")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    parser.add_argument(
        "--cpu-time",
        action="store_true",
        help="rate per second of process CPU time instead of wall time (with --threads 1: robust to other load)",
    )
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.2f}, {SIZE}x{SIZE} images, {args.repeats} repeats, "
        f"{'CPU' if args.cpu_time else 'wall'} time"
    )
    results = run(args.repeats, args.min_seconds, time.process_time if args.cpu_time else time.perf_counter)
    report(results, args.cpu_time)


if __name__ == "__main__":
    main()
