"""Labelled-frame generation throughput at 64x64, with 1 and 2 worker processes, against baselines from the same run.

Rows (frames per second and CPU ms per frame, process + workers; median of ``--repeats`` runs):
1. baseline: unlabelled RGB observations of the same rollouts in this process (env + randomization + render);
2. labelled, in this process: + depth/segmentation renders, labels and shard encoding (no disk);
3. ``generate_dataset`` with ``workers=1`` and ``workers=2``, cold: spawned processes, start-up and disk writes
   included (each worker's imports, numba's sensor kernel, the model, the GL context and first frames cost about
   1 s of CPU, so ``--n`` should be large against that);
4. the same with warm workers: the pool is started and has built a one-frame shard on every worker (imports, env
   and GL context in its cache) before the clock starts: the steady-state rate with IPC, shard writing and the
   manifest. ``cold - warm`` is what a worker's start-up costs; ``workers_1`` vs ``labelled_in_process`` is
   that plus the shard writing.
The ratios ``workers_2 / workers_1`` are printed for both. The last lines give what one labelled frame costs in
calls (env steps, physics substeps, render passes) and its CPU split: physics, render passes, the rest; then the
floor: each piece that no labelled frame can skip (one env step's physics, an RGB render, the depth+segmentation
pass, a resample per episode), timed in isolation, and the rate they allow on one core.
``--stride`` sets the policy steps between kept frames (the dataset default is 5: see ``data/FORMAT.md``, "Frames
per episode and stride").

Usage: MUJOCO_GL=egl python benchmarks/datagen_throughput.py [--env simreal/Push-v0] [--domain train] [--n 1000]
"""

from __future__ import annotations

import argparse
import copy
import itertools
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import mujoco
import numpy as np

import simreal  # noqa: F401  (registers the ids, selects the GL backend)
from simreal.data import episodes
from simreal.data.config import DatasetConfig
from simreal.data.episodes import (
    Policy,
    RolloutSpec,
    camera_name,
    labelled_frames,
    make_data_env,
    make_policy,
    stream_frames,
)
from simreal.data.generate import ShardTask, build_shard, generate_dataset
from simreal.data.shards import encode_frame
from simreal.parallel import LocalExecutor
from simreal.randomization import SensorPipeline
from simreal.randomization.wrapper import DomainRandomization

Row = tuple[float, float]  # frames/s, CPU ms per frame


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a live process (``/proc/<pid>/stat``)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def in_process_rate(spec: RolloutSpec, n: int, labelled: bool, seed: int) -> Row:
    env = make_data_env(spec)
    sequence = np.random.SeedSequence(seed)
    frames = labelled_frames(env, spec, sequence) if labelled else stream_frames(env, spec, sequence)
    next(frames)  # warm-up: GL context, first textures
    started, cpu = time.perf_counter(), time.process_time()
    for frame in itertools.islice(frames, n):
        if labelled:
            encode_frame(frame)
    rate = n / (time.perf_counter() - started)
    cpu_ms = (time.process_time() - cpu) / n * 1e3
    env.close()
    return rate, cpu_ms


def dataset_config(args: argparse.Namespace, out: str, workers: int, seed: int) -> DatasetConfig:
    return DatasetConfig(
        args.env, domain=args.domain, image_size=64, n=args.n, out_dir=out, seed=seed, shard_size=args.shard_size,
        workers=workers, stride=args.stride, frames_per_episode=args.frames_per_episode,
    )  # fmt: skip


def cold_rate(args: argparse.Namespace, workers: int, seed: int) -> Row:
    """``generate_dataset`` end to end: spawning, start-up, frames, shard files and manifest."""
    with tempfile.TemporaryDirectory() as out:
        cpu = time.process_time() + _children_cpu()
        started = time.perf_counter()
        generate_dataset(dataset_config(args, out, workers, seed), progress=False)
        elapsed = time.perf_counter() - started
        return args.n / elapsed, (time.process_time() + _children_cpu() - cpu) / args.n * 1e3


def _children_cpu() -> float:
    times = os.times()
    return times.children_user + times.children_system


def _warm(task: ShardTask) -> int:
    """Build a one-frame shard (imports, env, GL context, sensor kernel) and return this worker's pid."""
    build_shard(task)
    return os.getpid()


@contextmanager
def warm_pool(rollout: RolloutSpec, workers: int, folder: str) -> Iterator[tuple[Executor, list[int]]]:
    """A local pool whose every worker has built a shard of ``rollout`` (its env is in the worker's cache)."""
    with LocalExecutor(workers) as pool:
        pids: set[int] = set()
        for attempt in itertools.count():
            paths = [os.path.join(folder, f"warm{attempt}_{i}.tar") for i in range(workers)]
            tasks = [ShardTask(rollout, 0, 0, 1, 1, path) for path in paths]
            pids.update(pool.map(_warm, tasks))
            if len(pids) == workers or attempt == 10:
                break
        yield pool, sorted(pids)


def warm_rate(args: argparse.Namespace, rollout: RolloutSpec, workers: int, seed: int) -> Row:
    """``generate_dataset`` on a pool that finished its start-up before the clock started."""
    with tempfile.TemporaryDirectory() as out, warm_pool(rollout, workers, out) as (pool, pids):
        data = os.path.join(out, "data")
        cpu = time.process_time() + sum(map(process_cpu, pids))
        started = time.perf_counter()
        generate_dataset(dataset_config(args, data, workers, seed), executor=pool, progress=False)
        elapsed = time.perf_counter() - started
        return args.n / elapsed, (time.process_time() + sum(map(process_cpu, pids)) - cpu) / args.n * 1e3


class CpuSplit:
    """Process CPU time split by what runs: a call wrapped by :meth:`timed` charges its time, minus that of the
    wrapped calls inside it, to its name; everything else goes to ``base``."""

    def __init__(self, base: str) -> None:
        self.cpu: dict[str, float] = {}
        self._stack = [base]
        self._mark = time.process_time()

    def start(self) -> None:
        """Zero every part and start the clock."""
        self.cpu.clear()
        self._mark = time.process_time()

    def stop(self) -> None:
        """Charge the time since the last call to the part that is running."""
        self._charge()

    def _charge(self) -> None:
        now = time.process_time()
        self.cpu[self._stack[-1]] = self.cpu.get(self._stack[-1], 0.0) + now - self._mark
        self._mark = now

    def timed(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            self._charge()
            self._stack.append(name)
            try:
                return function(*args, **kwargs)
            finally:
                self._charge()
                self._stack.pop()

        return call


@contextmanager
def patched(*changes: tuple[object, str, object]) -> Iterator[None]:
    """Set attributes ``(owner, name, value)`` for the block, then restore them."""
    saved = [(owner, name, getattr(owner, name)) for owner, name, _ in changes]
    for owner, name, value in changes:
        setattr(owner, name, value)
    try:
        yield
    finally:
        for owner, name, value in saved:
            setattr(owner, name, value)


SPLIT = ("physics", "rendering", "env step/reset Python", "resample", "sensor effects", "policy", "labels")
SPLIT += ("encoding",)


def frame_profile(spec: RolloutSpec, n: int) -> dict[str, float]:
    """Per labelled frame (``n`` frames, encoding included): env steps, physics substeps and render passes, and the
    CPU ms of each part, exclusive of the parts inside it: physics (``mj_step``), rendering (``mjr_render`` +
    ``mjr_readPixels``), the resample at each reset (draw, model writes, texture uploads), the sensor effects, the
    policy, the labels (capturing a frame's state and labelling it, without the render pass), the shard encoding
    and the rest: the env's and wrappers' step/reset Python (actions, controller, rewards, info) and the generators;
    ``total`` is their sum."""
    counts = dict.fromkeys(("mj_step calls", "physics substeps", "render passes"), 0.0)
    split = CpuSplit("env step/reset Python")
    step, render = mujoco.mj_step, mujoco.mjr_render

    def counted_step(model: mujoco.MjModel, data: mujoco.MjData, nstep: int = 1) -> None:
        counts["mj_step calls"] += 1
        counts["physics substeps"] += nstep
        step(model, data, nstep=nstep)

    def counted_render(*args: object) -> None:
        counts["render passes"] += 1
        render(*args)

    def timed_policy(*args: Any) -> Policy:
        return split.timed("policy", make_policy(*args))

    env = make_data_env(spec)
    frames = labelled_frames(env, spec, np.random.SeedSequence(0))
    encode_frame(next(frames))
    encode = split.timed("encoding", encode_frame)
    changes = [
        (mujoco, "mj_step", split.timed("physics", counted_step)),
        (mujoco, "mjr_render", split.timed("rendering", counted_render)),
        (mujoco, "mjr_readPixels", split.timed("rendering", mujoco.mjr_readPixels)),
        (DomainRandomization, "resample_now", split.timed("resample", DomainRandomization.resample_now)),
        (SensorPipeline, "__call__", split.timed("sensor effects", SensorPipeline.__call__)),
        (episodes, "make_policy", timed_policy),
        (episodes, "capture_frame", split.timed("labels", episodes.capture_frame)),
        (episodes, "label_frame", split.timed("labels", episodes.label_frame)),
    ]
    with patched(*changes):  # the next episode's generator picks up the patched policy and labels
        split.start()
        for frame in itertools.islice(frames, n):
            encode(frame)
        split.stop()
    env.close()
    per_frame = {name: value / n for name, value in counts.items()}
    per_frame.update({name: split.cpu.get(name, 0.0) / n * 1e3 for name in SPLIT})
    per_frame["total"] = sum(per_frame[name] for name in SPLIT)
    return per_frame


def _cpu_us(call: Callable[[], object], reps: int, blocks: int = 5) -> float:
    """Median over ``blocks`` of the mean process CPU microseconds of ``call()``."""
    means = []
    for _ in range(blocks):
        started = time.process_time()
        for _ in range(reps):
            call()
        means.append((time.process_time() - started) / reps * 1e6)
    return statistics.median(means)


def floor_profile(spec: RolloutSpec, reps: int = 100) -> dict[str, float]:
    """CPU microseconds of each piece of a labelled frame that no pipeline can skip, in isolation: one env step's
    physics (``mj_step`` of ``frame_skip`` substeps, the mean over the states every step of three episodes started
    from), one RGB, depth and segmentation render (as ``render_frame`` gives them) and the pass that gives depth and
    segmentation together, on the last frame's scene, and one resample of the scene (draw, write into the model,
    texture upload)."""
    env = make_data_env(spec)
    base: Any = env.unwrapped
    model, data, camera = base.model, base.data, camera_name(env)
    states: list[mujoco.MjData] = []
    step = mujoco.mj_step

    def saving_step(model: mujoco.MjModel, data: mujoco.MjData, nstep: int = 1) -> None:
        states.append(copy.copy(data))  # the state every env step of the rollout starts from
        step(model, data, nstep=nstep)

    frames = labelled_frames(env, spec, np.random.SeedSequence(0))
    encode_frame(next(frames))
    mujoco.mj_step = saving_step  # type: ignore[assignment]
    try:
        for frame in itertools.islice(frames, 3 * spec.frames_per_episode - 1):  # three episodes
            encode_frame(frame)
    finally:
        mujoco.mj_step = step  # type: ignore[assignment]
    end = copy.copy(data)

    def physics() -> None:
        for state in states:
            mujoco.mj_copyData(data, model, state)
            step(model, data, nstep=base.frame_skip)

    def copies() -> None:
        for state in states:
            mujoco.mj_copyData(data, model, state)

    blocks = max(1, reps // len(states))
    out = {"physics step": (_cpu_us(physics, blocks) - _cpu_us(copies, blocks)) / len(states)}
    mujoco.mj_copyData(data, model, end)
    renderer = base._renderer(spec.image_size, "fast")
    for kind in ("rgb", "depth", "segmentation"):
        out[f"{kind} render"] = _cpu_us(lambda kind=kind: renderer.render(data, camera, kind), reps)
    out["depth+segmentation pass"] = _cpu_us(lambda: renderer.render_depth_segmentation(data, camera), reps)
    out["resample"] = _cpu_us(env.get_wrapper_attr("resample_now"), max(1, reps // 5))
    env.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="simreal/Push-v0")
    parser.add_argument("--domain", default="train")
    parser.add_argument("--n", type=int, default=1000, help="frames per measurement")
    parser.add_argument("--shard-size", type=int, default=50)
    parser.add_argument("--stride", type=int, default=5, help="policy steps between kept frames (dataset default 5)")
    parser.add_argument("--frames-per-episode", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    spec = RolloutSpec(
        args.env, args.domain, image_size=64, stride=args.stride, frames_per_episode=args.frames_per_episode
    )
    probe = make_data_env(spec)
    rollout = replace(spec, camera=camera_name(probe))  # as generate_dataset resolves it (the workers' cache key)
    probe.close()
    measurements: dict[str, Callable[[int], Row]] = {
        "baseline_unlabelled": lambda seed: in_process_rate(spec, args.n, False, seed),
        "labelled_in_process": lambda seed: in_process_rate(spec, args.n, True, seed),
        "workers_1": lambda seed: cold_rate(args, 1, seed),
        "workers_2": lambda seed: cold_rate(args, 2, seed),
        "workers_1_warm": lambda seed: warm_rate(args, rollout, 1, seed),
        "workers_2_warm": lambda seed: warm_rate(args, rollout, 2, seed),
    }
    rows: dict[str, list[Row]] = {name: [] for name in measurements}
    for repeat in range(args.repeats):  # interleaved so load drift hits every row alike
        for name, measure in measurements.items():
            rows[name].append(measure(repeat))
    rates = {name: statistics.median(r for r, _ in values) for name, values in rows.items()}
    cpus = {name: statistics.median(c for _, c in values) for name, values in rows.items()}
    base = rates["baseline_unlabelled"]
    print(
        f"{args.env} domain={args.domain} 64x64, stride={args.stride} frames_per_episode={args.frames_per_episode}, "
        f"n={args.n}, shard_size={args.shard_size}, repeats={args.repeats}, "
        f"LP_NUM_THREADS={os.environ.get('LP_NUM_THREADS')}, cores={os.cpu_count()}"
    )
    print(f"{'row':<22}{'frames/s':>9}  {'vs baseline':>11}  {'CPU ms/frame (process + workers)':>32}")
    for name, value in rates.items():
        print(f"{name:<22}{value:9.1f}  {'x' + format(value / base, '.2f'):>11}  {cpus[name]:32.2f}")
    print(f"workers_2 / workers_1: x{rates['workers_2'] / rates['workers_1']:.2f} (cold), "
          f"x{rates['workers_2_warm'] / rates['workers_1_warm']:.2f} (warm)")  # fmt: skip
    profile = frame_profile(spec, min(args.n, 300))
    print("per labelled frame: " + ", ".join(f"{profile[name]:.2f} {name}" for name in list(profile)[:3]))
    print(
        f"CPU ms per labelled frame in this process: {profile['total']:.2f} = "
        + " + ".join(f"{name} {profile[name]:.2f}" for name in SPLIT)
    )
    pieces = floor_profile(spec)
    steps = profile["mj_step calls"]
    floor_ms = (steps * pieces["physics step"] + pieces["rgb render"] + pieces["depth+segmentation pass"]) / 1e3
    floor_ms += pieces["resample"] / args.frames_per_episode / 1e3
    print("in isolation, CPU us: " + ", ".join(f"{name} {value:.0f}" for name, value in pieces.items()))
    print(
        f"floor per labelled frame: {steps:.2f} physics steps + RGB + depth+segmentation pass + resample / "
        f"{args.frames_per_episode} = {floor_ms:.2f} ms -> {1e3 / floor_ms:.0f} frames/s per core at most; "
        f"the pipeline above spends {profile['total']:.2f} ms ({profile['total'] - floor_ms:.2f} ms above the floor)"
    )


if __name__ == "__main__":
    main()
