"""Scaling of the parallel commands: local process pools vs Ray, against the 1-process local rate of the same run.

Rows, each the median of ``--repeats`` timed runs after a warm-up on the same executor (workers started, envs built):
- ``local_1``, ``local_2``: :class:`~simreal.parallel.LocalExecutor` with 1 and 2 processes;
- ``ray_1node``, ``ray_2nodes``: Ray clusters made on this machine with ``ray.cluster_utils.Cluster``, one CPU per
  node, reached through ``RAY_ADDRESS`` as on a real cluster.

Measures dataset frames/s (``generate_dataset``, 64x64 labelled frames) and experiment cells/hour (a tiny state
Reach matrix: 2 methods x 2 seeds = 4 training cells, and 8 evaluation cells on canonical and test). Prints ratios
against ``local_1`` and Ray's overhead against the local pool at the same worker count. Targets: ``ray_2nodes``
dataset rate >= 1.7x ``local_1``; Ray at most 10% slower than the local pool at the same worker count.

Usage: MUJOCO_GL=egl python benchmarks/scaling.py [--n 600] [--repeats 3] [--skip-experiment] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from pathlib import Path

import yaml

import simreal  # noqa: F401  (registers the ids, selects the GL backend)
from simreal.data.generate import generate_dataset
from simreal.experiments.policy_matrix import CELLS, run_experiment
from simreal.parallel import LocalExecutor

CONFIGS = ("local_1", "local_2", "ray_1node", "ray_2nodes")
PPO = "simreal/Reach-v0:\n  policy: MlpPolicy\n  n_steps: 128\n  batch_size: 64\n  n_epochs: 2\n"


@contextmanager
def executor(name: str) -> Iterator[Executor]:
    if name.startswith("local"):
        with LocalExecutor(int(name[-1])) as pool:
            yield pool
        return
    import ray
    from ray.cluster_utils import Cluster

    from simreal.parallel.ray_executor import RayExecutor

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    if name == "ray_2nodes":
        cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    os.environ["RAY_ADDRESS"] = cluster.address
    try:
        with RayExecutor() as pool:
            yield pool
    finally:
        ray.shutdown()
        os.environ.pop("RAY_ADDRESS", None)
        cluster.shutdown()


def dataset_rate(pool: Executor, args: argparse.Namespace, n: int, seed: int, shard_size: int | None = None) -> float:
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        generate_dataset(
            args.env, n, out, domain="train", seed=seed, shard_size=shard_size or args.shard_size, image_size=64,
            progress=False, executor=pool,
        )  # fmt: skip
        return n / (time.perf_counter() - started)


def experiment_rate(pool: Executor, args: argparse.Namespace, seed: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "ppo.yml").write_text(PPO)
        cfg = {
            "name": "scaling", "env_id": "simreal/Reach-v0", "algo": "ppo", "config_path": str(root / "ppo.yml"),
            "methods": [{"name": "no-DR"}, {"name": "DR", "randomization": "train"}], "seeds": [seed, seed + 1],
            "timesteps": args.timesteps, "domains": ["canonical", "test"], "episodes": 5, "eval_freq": 0,
            "gif_frames": 0, "out_dir": str(root / "runs"), "report_dir": str(root / "report"),
        }  # fmt: skip
        (root / "exp.yaml").write_text(yaml.safe_dump(cfg))
        started = time.perf_counter()
        run_experiment(root / "exp.yaml", executor=pool)
        elapsed = time.perf_counter() - started
        trained = len(list(root.glob("runs/train/*/*/model.zip")))
        cells = trained + len(list(root.rglob(f"{CELLS}/*.json")))  # training + evaluation cells
        return cells * 3600 / elapsed


def measure(name: str, args: argparse.Namespace) -> dict[str, list[float]]:
    rows: dict[str, list[float]] = {"dataset_frames_per_s": [], "experiment_cells_per_hour": []}
    with executor(name) as pool:
        dataset_rate(pool, args, 80, seed=10**6, shard_size=5)  # warm-up: 16 small shards, so every worker has its env
        for repeat in range(args.repeats):
            rows["dataset_frames_per_s"].append(dataset_rate(pool, args, args.n, seed=repeat))
            print(f"  {name} dataset run {repeat}: {rows['dataset_frames_per_s'][-1]:.1f} frames/s", flush=True)
        if not args.skip_experiment:
            experiment_rate(pool, argparse.Namespace(**{**vars(args), "timesteps": 128}), seed=10**6)  # warm-up
            for repeat in range(args.experiment_repeats):
                rows["experiment_cells_per_hour"].append(experiment_rate(pool, args, seed=2 * repeat))
                print(f"  {name} experiment run {repeat}: {rows['experiment_cells_per_hour'][-1]:.0f} cells/h")
    return rows


def report(results: dict[str, dict[str, list[float]]], key: str, fmt: Callable[[float], str]) -> dict[str, float]:
    medians = {name: statistics.median(rows[key]) for name, rows in results.items() if rows[key]}
    if "local_1" not in medians:
        return medians
    print(f"\n{key} (median)  ratio vs local_1  vs local pool at the same worker count")
    for name, value in medians.items():
        same = medians.get(f"local_{2 if name.endswith('2nodes') else 1}") if name.startswith("ray") else value
        vs_local = f"{value / same:.2f}" if same else "-"
        print(f"  {name:<11}{fmt(value):>10}  {value / medians['local_1']:>6.2f}x  {vs_local:>6}")
    return medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="simreal/Push-v0")
    parser.add_argument("--n", type=int, default=600, help="frames per dataset measurement")
    parser.add_argument("--shard-size", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--timesteps", type=int, default=1024, help="PPO steps per training cell")
    parser.add_argument("--experiment-repeats", type=int, default=1)
    parser.add_argument("--skip-experiment", action="store_true")
    parser.add_argument("--configs", default=",".join(CONFIGS))
    parser.add_argument("--out", default=None, help="write the raw numbers and medians to this JSON file")
    args = parser.parse_args()
    results = {}
    for name in args.configs.split(","):
        print(f"== {name}", flush=True)
        results[name] = measure(name, args)
    medians = {
        "dataset_frames_per_s": report(results, "dataset_frames_per_s", lambda v: f"{v:.1f}"),
        "experiment_cells_per_hour": report(results, "experiment_cells_per_hour", lambda v: f"{v:.0f}"),
    }
    if args.out:
        Path(args.out).write_text(json.dumps({"args": vars(args), "runs": results, "medians": medians}, indent=1))


if __name__ == "__main__":
    main()
