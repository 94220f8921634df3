"""Scaling of the parallel commands: local process pools vs Ray, against the 1-process local rate of the same run.

Rows, each the median of ``--repeats`` timed runs after a warm-up on the same executor (workers started, envs built):
- ``local_1``, ``local_2``: :class:`~simreal.parallel.LocalExecutor` with 1 and 2 processes;
- ``ray_1node``, ``ray_2nodes``: Ray clusters made on this machine with ``ray.cluster_utils.Cluster``, one CPU per
  node, reached through ``RAY_ADDRESS`` as on a real cluster;
- ``ray_2nodes_default`` (only when asked for with ``--configs``): two nodes with Ray's default scheduling instead of
  simreal's ``SPREAD``.

The Ray clusters get the settings :class:`~simreal.parallel.ray_executor.RayExecutor` gives a Ray it starts itself
(workers at nice 0; ``RAY_worker_niceness=15`` in the environment restores Ray's default).

Measures dataset frames/s (``generate_dataset``, 64x64 labelled frames) and experiment cells/hour (a tiny state
Reach matrix: 2 methods x 2 seeds = 4 training cells, and 8 evaluation cells on canonical and test). Prints ratios
against ``local_1`` and Ray's overhead against the local pool at the same worker count. Targets: ``ray_2nodes``
dataset rate >= 1.7x ``local_1``; Ray at most 10% slower than the local pool at the same worker count.

Also prints what wall-clock rates on a shared machine cannot show (Linux ``/proc``): CPU milliseconds per frame of the
workers, of the driver and of Ray's daemons (GCS, raylets, agents, log monitor) over the timed dataset runs, and the
daemons' CPU while idle (``--idle`` seconds, in % of one core).

Usage: MUJOCO_GL=egl python benchmarks/scaling.py [--n 600] [--repeats 3] [--idle 10] [--skip-experiment]
[--out FILE.json]
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
from typing import Any

import yaml

import simreal  # noqa: F401  (registers the ids, selects the GL backend)
from simreal.data.config import DatasetConfig
from simreal.data.generate import generate_dataset
from simreal.experiments.policy_matrix import CELLS, run_experiment
from simreal.parallel import LocalExecutor

CONFIGS = ("local_1", "local_2", "ray_1node", "ray_2nodes")  # also: ray_2nodes_default
DAEMONS = {  # the first substring of a command line found here -> the process kind reported
    "gcs_server": "gcs_server",
    "DashboardAgent": "dashboard_agent",
    "RuntimeEnvAgent": "runtime_env_agent",
    "log_monitor": "log_monitor",
    "monitor.py": "autoscaler_monitor",
    "dashboard.py": "dashboard",
    "/raylet": "raylet",
}
PPO = "simreal/Reach-v0:\n  policy: MlpPolicy\n  n_steps: 128\n  batch_size: 64\n  n_epochs: 2\n"


def _kind(pid: int, cmdline: str) -> str:
    if pid == os.getpid():
        return "driver"
    if cmdline.startswith("ray::") or "multiprocessing" in cmdline:
        return "worker"
    return next((kind for key, kind in DAEMONS.items() if key in cmdline), "other")


def cpu_by_kind() -> dict[str, float]:
    """CPU seconds used so far by this process and its descendants (workers, Ray's daemons), summed by kind."""
    tick = os.sysconf("SC_CLK_TCK")
    parent, cpu, cmd = {}, {}, {}
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ValueError):
            continue
        fields = stat[stat.rfind(")") + 2 :].split()  # after "pid (comm) "
        pid = int(entry)
        parent[pid], cpu[pid], cmd[pid] = int(fields[1]), (int(fields[11]) + int(fields[12])) / tick, cmdline
    mine, frontier = {os.getpid()}, [os.getpid()]
    while frontier:
        children = [pid for pid, ppid in parent.items() if ppid in frontier and pid not in mine]
        mine.update(children)
        frontier = children
    totals: dict[str, float] = {}
    for pid in mine & cpu.keys():
        kind = _kind(pid, cmd[pid])
        totals[kind] = totals.get(kind, 0.0) + cpu[pid]
    return totals


def cpu_between(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {kind: round(after[kind] - before.get(kind, 0.0), 3) for kind in sorted(after)}


@contextmanager
def executor(name: str) -> Iterator[Executor]:
    if name.startswith("local"):
        with LocalExecutor(int(name[-1])) as pool:
            yield pool
        return
    import ray
    from ray.cluster_utils import Cluster

    from simreal.parallel.ray_executor import RayExecutor, local_system_config

    head = {"num_cpus": 1, "include_dashboard": False, "_system_config": local_system_config()}
    cluster = Cluster(initialize_head=True, head_node_args=head)
    if "2nodes" in name:
        cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    os.environ["RAY_ADDRESS"] = cluster.address
    try:
        with RayExecutor(scheduling_strategy="DEFAULT" if name.endswith("_default") else "SPREAD") as pool:
            yield pool
    finally:
        ray.shutdown()
        os.environ.pop("RAY_ADDRESS", None)
        cluster.shutdown()


def dataset_rate(pool: Executor, args: argparse.Namespace, n: int, seed: int, shard_size: int | None = None) -> float:
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        config = DatasetConfig(
            args.env, domain="train", image_size=64, n=n, out_dir=out, seed=seed,
            shard_size=shard_size or args.shard_size,
        )  # fmt: skip
        generate_dataset(config, pool, progress=False)
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


def measure(name: str, args: argparse.Namespace) -> dict[str, Any]:
    rows: dict[str, Any] = {"dataset_frames_per_s": [], "experiment_cells_per_hour": []}
    with executor(name) as pool:
        dataset_rate(pool, args, 80, seed=10**6, shard_size=5)  # warm-up: 16 small shards, so every worker has its env
        before, started = cpu_by_kind(), time.perf_counter()
        time.sleep(args.idle)
        idle = cpu_between(before, cpu_by_kind())
        rows["idle_cpu_s_per_s"] = {kind: v / (time.perf_counter() - started) for kind, v in idle.items()}
        before = cpu_by_kind()
        for repeat in range(args.repeats):
            rows["dataset_frames_per_s"].append(dataset_rate(pool, args, args.n, seed=repeat))
            print(f"  {name} dataset run {repeat}: {rows['dataset_frames_per_s'][-1]:.1f} frames/s", flush=True)
        rows["dataset_cpu_s"] = cpu_between(before, cpu_by_kind())  # over repeats x n frames
        if not args.skip_experiment:
            experiment_rate(pool, argparse.Namespace(**{**vars(args), "timesteps": 128}), seed=10**6)  # warm-up
            for repeat in range(args.experiment_repeats):
                rows["experiment_cells_per_hour"].append(experiment_rate(pool, args, seed=2 * repeat))
                print(f"  {name} experiment run {repeat}: {rows['experiment_cells_per_hour'][-1]:.0f} cells/h")
    return rows


def report(results: dict[str, dict[str, Any]], key: str, fmt: Callable[[float], str]) -> dict[str, float]:
    medians = {name: statistics.median(rows[key]) for name, rows in results.items() if rows[key]}
    if "local_1" not in medians:
        return medians
    print(f"\n{key} (median)  ratio vs local_1  vs local pool at the same worker count")
    for name, value in medians.items():
        same = medians.get(f"local_{2 if '2nodes' in name else 1}") if name.startswith("ray") else value
        vs_local = f"{value / same:.2f}" if same else "-"
        print(f"  {name:<19}{fmt(value):>10}  {value / medians['local_1']:>6.2f}x  {vs_local:>6}")
    return medians


def report_cpu(results: dict[str, dict[str, Any]], frames: int) -> None:
    print("\nCPU time (from /proc; depends little on the machine's load)")
    print(f"  {'ms per dataset frame':<19}{'workers':>9}{'driver':>9}{'Ray daemons':>13} | idle daemons, % of a core")
    for name, rows in results.items():
        if "dataset_cpu_s" not in rows:
            continue
        cpu, idle = rows["dataset_cpu_s"], rows["idle_cpu_s_per_s"]
        daemons = sum(v for k, v in cpu.items() if k in DAEMONS.values())
        idle_daemons = sum(v for k, v in idle.items() if k in DAEMONS.values())
        worker, driver, ray = (1000 * v / frames for v in (cpu.get("worker", 0.0), cpu.get("driver", 0.0), daemons))
        print(f"  {name:<19}{worker:>9.2f}{driver:>9.2f}{ray:>13.2f} | {100 * idle_daemons:>6.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="simreal/Push-v0")
    parser.add_argument("--n", type=int, default=600, help="frames per dataset measurement")
    parser.add_argument("--shard-size", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--idle", type=float, default=10.0, help="seconds of idle CPU accounting per executor")
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
    report_cpu(results, args.n * args.repeats)
    if args.out:
        Path(args.out).write_text(json.dumps({"args": vars(args), "runs": results, "medians": medians}, indent=1))


if __name__ == "__main__":
    main()
