"""Labelled-frame generation throughput at 64x64, with 1 and 2 worker processes, against baselines from the same run.

Rows (frames per second, median of ``--repeats`` runs):
1. baseline: unlabelled RGB observations of the same rollouts in this process (env + randomization + render);
2. labelled, in this process: + depth/segmentation renders, labels and shard encoding (no disk);
3. ``generate_dataset`` with ``workers=1`` and ``workers=2`` (spawned processes, start-up and disk writes included:
   each worker's imports, GL context and first frames cost ~1-2 s, so ``--n`` should be large against that).

Usage: MUJOCO_GL=egl python benchmarks/datagen_throughput.py [--env simreal/Push-v0] [--domain train] [--n 400]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import tempfile
import time

import numpy as np

import simreal  # noqa: F401  (registers the ids, selects the GL backend)
from simreal.data.config import DatasetConfig
from simreal.data.episodes import RolloutSpec, labelled_frames, make_data_env, stream_frames
from simreal.data.generate import generate_dataset
from simreal.data.shards import encode_frame


def in_process_rate(spec: RolloutSpec, n: int, labelled: bool, seed: int) -> float:
    env = make_data_env(spec)
    sequence = np.random.SeedSequence(seed)
    frames = labelled_frames(env, spec, sequence) if labelled else stream_frames(env, spec, sequence)
    next(frames)  # warm-up: GL context, first textures
    started = time.perf_counter()
    for frame in itertools.islice(frames, n):
        if labelled:
            encode_frame(frame)
    rate = n / (time.perf_counter() - started)
    env.close()
    return rate


def generate_rate(args: argparse.Namespace, workers: int, seed: int) -> float:
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        config = DatasetConfig(
            args.env, domain=args.domain, image_size=64, n=args.n, out_dir=out, seed=seed,
            shard_size=args.shard_size, workers=workers,
        )  # fmt: skip
        generate_dataset(config, progress=False)
        return args.n / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="simreal/Push-v0")
    parser.add_argument("--domain", default="train")
    parser.add_argument("--n", type=int, default=1000, help="frames per measurement")
    parser.add_argument("--shard-size", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    spec = RolloutSpec(args.env, args.domain, image_size=64)
    rows: dict[str, list[float]] = {"baseline_unlabelled": [], "labelled_in_process": [], "workers_1": []}
    rows["workers_2"] = []
    for repeat in range(args.repeats):  # interleaved so load drift hits every row alike
        rows["baseline_unlabelled"].append(in_process_rate(spec, args.n, False, repeat))
        rows["labelled_in_process"].append(in_process_rate(spec, args.n, True, repeat))
        rows["workers_1"].append(generate_rate(args, 1, repeat))
        rows["workers_2"].append(generate_rate(args, 2, repeat))
    medians = {name: statistics.median(values) for name, values in rows.items()}
    base = medians["baseline_unlabelled"]
    print(f"{args.env} domain={args.domain} 64x64, n={args.n}, repeats={args.repeats}")
    for name, value in medians.items():
        print(f"{name:<22}{value:8.1f} frames/s   x{value / base:.2f} vs baseline")
    print(f"workers_2 / workers_1: x{medians['workers_2'] / medians['workers_1']:.2f}")


if __name__ == "__main__":
    main()
