"""Vector-env scaling: steps/s of ``gym.make_vec`` with 2 workers vs one env in this process, in the same run.

Rows (Reach, 64x64 pixels by default), timed in interleaved repeats so load drift hits each alike:
1. ``single``: one env stepped in this process (the baseline);
2. ``async``: ``gym.make_vec(..., vectorization_mode="async", vector_kwargs={"context": "spawn"})``, gymnasium's
   AsyncVectorEnv;
3. ``native``: ``gym.make_vec(...)``, simreal's ``vector_entry_point`` (``SimrealVectorEnv``: shared memory; by
   default this process steps one env itself and one worker the other, so its CPU per env step includes an env's);
   ``native workers``: the same with ``step_in_main=False``, every env in a worker (the default before);
4. ``native xK/w`` (one row per K > 1 in ``--envs-per-worker``): the same with ``K x --num-envs`` envs on ``--num-envs``
   workers (``envs_per_worker=K``, every env in a worker): each worker steps its K envs per round trip;
   ``native xK``: ``K x --num-envs`` envs in ``gym.make_vec``'s default layout (this process steps K of them, each
   worker K), so the main process's per-step work is shared by K env steps;
5. ``native spinN`` (one row per N in ``--spin-us``, default 0): ``native workers`` with ``spin_us=N`` instead of the
   default 200 (a waiting process polls N us before sleeping; 0: sleeps at once, waking idle cores at every hand-over);
6. ``independent``: ``--num-envs`` separate processes, each stepping one env with no communication at all, timed
   together: the ceiling for any vector env on this machine at this moment (on cores busy with other work it stays
   far below ``num_envs`` x ``single``);
7. ``lockstep bound``: the same run's per-step times, each batch step as long as its slowest process's step: the
   ceiling for a synchronous vector env (one whose ``step`` waits for every env, as gymnasium's API does) with free
   communication; ``independent`` minus this is what lockstep itself costs (step-time jitter, load spikes).
Each row prints env steps/s (medians), the median per-repeat ratio to ``single`` (target >= 1.7 with 2 workers), the
ratio to ``independent`` (how much of the machine's parallel capacity the vector env delivers) and the CPU time per
env step in the main process and in the workers (from /proc).

Usage: MUJOCO_GL=egl python benchmarks/vector_throughput.py [--env simreal/Reach-v0] [--num-envs 2]
[--envs-per-worker 1,2] [--spin-us 0] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

import simreal  # noqa: F401  (selects the GL backend, registers the ids)


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime, all threads


def single_rate(args: argparse.Namespace, kwargs: dict[str, Any], warm: Callable[[], Any] = int):
    """(env steps/s, CPU s per step, 0) of one env in this process, and each step's seconds (with its autoreset);
    ``warm()`` runs after the warm-up steps."""
    env = gym.make(args.env, **kwargs)
    env.reset(seed=0)
    actions = np.random.default_rng(0).uniform(-1, 1, (args.steps, *env.action_space.shape)).astype(np.float32)
    for action in actions[:20]:
        env.step(action)
    warm()
    ends = np.empty(args.steps)
    cpu, started = time.process_time(), time.perf_counter()
    for i, action in enumerate(actions):
        _, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            env.reset()
        ends[i] = time.perf_counter()
    rate = args.steps / (ends[-1] - started)
    cpu = (time.process_time() - cpu) / args.steps
    env.close()
    return (rate, cpu, 0.0), np.diff(ends, prepend=started)


def vector_rate(
    args: argparse.Namespace,
    kwargs: dict[str, Any],
    mode: str,
    per_process: int = 1,
    spin_us: int | None = None,
    step_in_main: bool | None = None,
    layout_default: bool = False,
):
    """(env steps/s, main CPU s and worker CPU s per env step) of ``gym.make_vec`` with ``per_process`` x
    ``--num-envs`` envs (gymnasium's async: one env per process): on ``--num-envs`` workers
    (``envs_per_worker=per_process``), or with ``layout_default`` in ``gym.make_vec``'s default layout (this
    process steps a share); ``spin_us`` and ``step_in_main`` if given, else the defaults."""
    extra: dict[str, Any] = {"vector_kwargs": {"context": "spawn"}} if mode == "async" else {}
    if step_in_main is not None:
        extra["step_in_main"] = step_in_main
    if per_process > 1 and not layout_default:
        extra["envs_per_worker"] = per_process
    if spin_us is not None:
        extra["spin_us"] = spin_us
    env = gym.make_vec(args.env, args.num_envs * per_process, vectorization_mode=mode, **extra, **kwargs)
    env.reset(seed=0)
    shape = env.action_space.shape
    actions = np.random.default_rng(0).uniform(-1, 1, (args.steps, *shape)).astype(np.float32)
    for action in actions[:20]:
        env.step(action)
    base: Any = env.unwrapped
    pids = [p.pid for p in (base.processes if mode == "async" else base._processes)]
    workers = sum(_cpu_seconds(pid) for pid in pids)
    cpu, started = time.process_time(), time.perf_counter()
    for action in actions:
        env.step(action)
    steps = args.steps * env.num_envs
    rate = steps / (time.perf_counter() - started)
    main_cpu = (time.process_time() - cpu) / steps
    worker_cpu = (sum(_cpu_seconds(pid) for pid in pids) - workers) / steps
    env.close()
    return rate, main_cpu, worker_cpu


def independent_rate(args: argparse.Namespace, kwargs: dict[str, Any]):
    """``--num-envs`` copies of this script, each timing :func:`single_rate` alone (``--child``); they start timing
    together (each reports ready after its warm-up and waits for a go), so the timed windows overlap.

    Returns the ``independent`` row and the ``lockstep bound`` row: the same processes' step times as if they had
    waited for each other at every step with free communication (step i of the batch takes the slowest process's
    step i), the most any synchronous vector env (gymnasium's ``step`` returns every env's result) can reach."""
    command = [sys.executable, __file__, "--child", "--env", args.env, "--image-size", str(args.image_size)]
    command += ["--steps", str(args.steps)] + (["--domain", args.domain] if args.domain else [])
    popen = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "text": True}
    processes = [subprocess.Popen(command, **popen) for _ in range(args.num_envs)]  # type: ignore[call-overload]
    for process in processes:
        assert process.stdout.readline().strip() == "ready"
    for process in processes:
        process.stdin.write("go\n")
        process.stdin.flush()
    outputs = [p.communicate()[0].split("\n", 1) for p in processes]
    results = [tuple(float(x) for x in head.split()) for head, _ in outputs]
    step_seconds = np.array([[float(x) for x in times.split()] for _, times in outputs])
    cpu = statistics.mean(r[1] for r in results)
    lockstep = args.num_envs * args.steps / step_seconds.max(axis=0).sum()
    return (sum(r[0] for r in results), 0.0, cpu), (lockstep, 0.0, cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="simreal/Reach-v0")
    parser.add_argument("--domain", default=None, help="e.g. train (randomized); default: the env's default")
    parser.add_argument("--num-envs", type=int, default=2, help="workers (processes); async: envs")
    parser.add_argument(
        "--envs-per-worker", default="1,2", help="comma list; one 'native' row each (num_envs = workers x this)"
    )
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--spin-us", default="0", help="comma list: a 'native spinN' row each ('': none)")
    parser.add_argument("--steps", type=int, default=400, help="vector steps per measurement")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)  # one 'independent' process
    args = parser.parse_args()
    kwargs: dict[str, Any] = {"obs_mode": "pixels", "image_size": args.image_size}
    if args.domain:
        kwargs["domain"] = args.domain
    if args.child:
        (rate, cpu, _), step_seconds = single_rate(
            args, kwargs, lambda: (print("ready", flush=True), sys.stdin.readline())
        )
        print(rate, cpu)
        print(" ".join(f"{t:.9f}" for t in step_seconds))
        return
    batches = [int(k) for k in args.envs_per_worker.split(",")]
    natives: dict[str, tuple[int, int | None, bool | None, bool]] = {
        ("native" if k == 1 else f"native x{k}/w"): (k, None, None, False) for k in batches
    }
    natives.update({f"native x{k}": (k, None, None, True) for k in batches if k > 1})
    natives["native workers"] = (1, None, False, False)
    natives.update({f"native spin{n}": (1, int(n), False, False) for n in args.spin_us.split(",") if n})
    rows: dict[str, list[tuple[float, float, float]]] = {"single": [], "async": [], **{n: [] for n in natives}}
    rows["independent"], rows["lockstep bound"] = [], []
    for _ in range(args.repeats):
        rows["single"].append(single_rate(args, kwargs)[0])
        rows["async"].append(vector_rate(args, kwargs, "async"))
        for name, (per_process, spin_us, in_main, default) in natives.items():
            rows[name].append(vector_rate(args, kwargs, "vector_entry_point", per_process, spin_us, in_main, default))
        independent, lockstep = independent_rate(args, kwargs)
        rows["independent"].append(independent)
        rows["lockstep bound"].append(lockstep)
    print(
        f"{args.env} {args.image_size}px pixels domain={args.domain} num_envs={args.num_envs} "
        f"repeats={args.repeats} LP_NUM_THREADS={os.environ.get('LP_NUM_THREADS')} cores={os.cpu_count()}"
    )
    for name, values in rows.items():
        rate = statistics.median(v[0] for v in values)
        ratio = statistics.median(v[0] / s[0] for v, s in zip(values, rows["single"], strict=True))
        ceiling = statistics.median(v[0] / c[0] for v, c in zip(values, rows["independent"], strict=True))
        main_us, worker_us = (statistics.median(v[i] for v in values) * 1e6 for i in (1, 2))
        bound = name in ("single", "independent", "lockstep bound")
        target = "" if bound else f" (target >= 1.7: {'OK' if ratio >= 1.7 else 'UNDER'})"
        print(
            f"{name:<15}{rate:7.0f} env steps/s  x{ratio:.2f} vs single{target}, x{ceiling:.2f} vs independent;"
            f"  CPU per env step: main {main_us:.0f} us, workers {worker_us:.0f} us"
        )


if __name__ == "__main__":
    main()
