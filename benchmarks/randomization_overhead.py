"""Domain-randomization overhead, measured in one run against a baseline from the same run.

1. Steady-state step time of the ``full`` preset vs ``none`` (both wrapped, resample per episode), timed in
   interleaved blocks (each a fresh episode, so a fresh randomized scene) so that load from other processes
   hits both alike; prints medians and the median per-block ratio full/none (target <= 1.10) and the same
   ratio for ``full`` without its sensor group ("nosensor": no camera pipeline; target <= 1.05). A fourth env,
   ``full`` without its sensor and control groups ("scene"), splits the ratio into what the env itself spends
   simulating and rendering the randomized scene and what the wrapper spends per step (camera pipeline,
   control noise, info).
2. Cost of one per-episode resample with ``full``, as ``DomainRandomization.resample_now`` and the first
   frame pay it: sampling, apply (restore + writes + texture regeneration), the texture upload to the live
   renderer and the camera-pipeline setup (first frame minus a steady frame); each resample follows a
   rendered step, as in an episode reset. Medians per part; the total is the median of per-resample sums
   (target <= 2 ms).

3. The camera pipeline alone (``SensorPipeline``, every sensor effect on at the middle of the ``full`` ranges) on a
   64x64 frame, timed with ``timeit`` over many repeats: the whole pipeline, the compiled pass without JPEG and
   the JPEG round trip, as medians of the repeats and as a ratio to one 64x64 ``fast`` render timed in the same
   run (target <= 50 us per frame).

The texture upload runs MuJoCo's ``mjr_uploadTexture`` (mipmaps for every cube face); with Mesa's llvmpipe its
cost depends on ``LP_NUM_THREADS`` (its worker threads sleep when idle), which is printed with the results.

Usage: MUJOCO_GL=egl python benchmarks/randomization_overhead.py [--envs simreal/Reach-v0 ...] [--blocks 60]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import time
import timeit

import gymnasium as gym
import numpy as np

import simreal  # noqa: F401  (registers the ids, selects the GL backend)
from simreal.randomization import (
    ControlSpec,
    DomainRandomization,
    RandomizationSpec,
    SensorPipeline,
    SensorSpec,
    apply,
    env_family,
    load_preset,
)

CONFIGS = ("none", "scene", "nosensor", "full")
TARGETS = {"full": 1.10, "nosensor": 1.05}  # step time / none's


class InnerTimer(gym.Wrapper):
    """Records the duration of the last inner ``step`` (the env itself, without the randomization wrapper)."""

    last = 0.0

    def step(self, action):  # type: ignore[no-untyped-def]
        t0 = time.perf_counter()
        out = self.env.step(action)
        self.last = time.perf_counter() - t0
        return out

    def step_checked(self, action):  # type: ignore[no-untyped-def]
        """The randomization wrapper's path into a simreal env (the action checked once, by the wrapper)."""
        t0 = time.perf_counter()
        out = self.env.step_checked(action)
        self.last = time.perf_counter() - t0
        return out


def spec_for(config: str, family: str) -> RandomizationSpec:
    if config == "scene":  # the full scene randomization without per-step sensor and control work
        return dataclasses.replace(load_preset("full", family), sensor=SensorSpec(), control=ControlSpec())
    if config == "nosensor":  # full without the camera pipeline
        return dataclasses.replace(load_preset("full", family), sensor=SensorSpec())
    return load_preset(config, family)


def wrapped(env_id: str, config: str, obs_mode: str, image_size: int) -> DomainRandomization:
    env = gym.make(env_id, obs_mode=obs_mode, image_size=image_size).unwrapped
    return DomainRandomization(InnerTimer(env), spec_for(config, env_family(env)), resample="episode", seed=0)


def time_block(env: DomainRandomization, actions: np.ndarray) -> tuple[float, float]:
    """Median seconds per step and median inner-env seconds per step over ``actions`` (resets untimed).

    Every block starts a new episode, so the blocks see as many different randomized scenes.
    """
    env.reset()
    times, inner = [], []
    for a in actions:
        t0 = time.perf_counter()
        _, _, terminated, truncated, _ = env.step(a)
        times.append(time.perf_counter() - t0)
        inner.append(env.env.last)
        if terminated or truncated:
            env.reset()
    return statistics.median(times), statistics.median(inner)


def step_overhead(env_id: str, obs_mode: str, image_size: int, blocks: int, block_steps: int) -> None:
    envs = {c: wrapped(env_id, c, obs_mode, image_size) for c in CONFIGS}
    rng = np.random.default_rng(0)
    space = envs["none"].action_space
    for env in envs.values():
        env.reset(seed=0)
        time_block(env, rng.uniform(space.low, space.high, (20, *space.shape)).astype(np.float32))  # warm-up
    step: dict[str, list[float]] = {c: [] for c in envs}
    inner: dict[str, list[float]] = {c: [] for c in envs}
    for b in range(blocks):
        actions = rng.uniform(space.low, space.high, (block_steps, *space.shape)).astype(np.float32)
        for c in CONFIGS if b % 2 == 0 else CONFIGS[::-1]:
            step_s, inner_s = time_block(envs[c], actions)
            step[c].append(step_s)
            inner[c].append(inner_s)

    def ratio(times: dict[str, list[float]], config: str) -> float:
        return statistics.median(f / n for f, n in zip(times[config], times["none"], strict=True))

    ms = {c: statistics.median(v) * 1e3 for c, v in step.items()}
    own_us = {c: (statistics.median(step[c]) - statistics.median(inner[c])) * 1e6 for c in envs}
    ratios = {c: ratio(step, c) for c in TARGETS}
    in_loop = own_us["full"] - own_us["nosensor"]
    camera = "" if obs_mode == "state" else f"; the camera pipeline in the loop (full - nosensor) {in_loop:.1f} us"
    status = {c: "OK" if ratios[c] <= target else "OVER TARGET" for c, target in TARGETS.items()}
    print(
        f"{env_id:24s} obs={obs_mode:6s} {image_size}px  step none {ms['none']:.3f} ms  full {ms['full']:.3f} ms  "
        f"ratio full/none {ratios['full']:.3f} (target <= {TARGETS['full']:.2f}: {status['full']}), without the "
        f"sensor group {ratios['nosensor']:.3f} (target <= {TARGETS['nosensor']:.2f}: {status['nosensor']})\n"
        f"{'':24s} split: randomized scene (full without sensor/control) ratio {ratio(step, 'scene'):.3f}, inner env "
        f"full/none {ratio(inner, 'full'):.3f}; wrapper's own time per step none {own_us['none']:.1f} us, scene "
        f"{own_us['scene']:.1f} us, nosensor {own_us['nosensor']:.1f} us, full {own_us['full']:.1f} us "
        f"(+{(own_us['full'] - own_us['none']) / (ms['none'] * 10):.1f}% of a step){camera}"
    )


def resample_cost(env_id: str, image_size: int, n: int) -> None:
    env = wrapped(env_id, "full", "pixels", image_size)
    env.reset(seed=0)  # the renderer is live from here on, so refresh_textures really uploads
    base, sampler, defaults = env.unwrapped, env._sampler, env._defaults
    rng = np.random.default_rng(1)
    parts: dict[str, list[float]] = {"sample": [], "apply": [], "upload": [], "sensor setup": [], "total": []}
    action = np.zeros(env.action_space.shape, dtype=np.float32)
    changed: list[int] = []
    for _ in range(n):
        frame, *_ = env.step(action)  # render a frame between resamples, as in real episodes (untimed)
        t0 = time.perf_counter()
        params = sampler(rng)
        t1 = time.perf_counter()
        changed = apply(base.model, defaults, params)
        t2 = time.perf_counter()
        base.refresh_textures(changed)
        t3 = time.perf_counter()
        pipeline = SensorPipeline(params.sensor_dict(), seed=params.seed)
        pipeline(frame, rng)  # first frame: per-size gain map, noise strip, buffers
        t4 = time.perf_counter()
        pipeline(frame, rng)  # a steady frame, subtracted: it is per-step cost, not per-episode
        t5 = time.perf_counter()
        setup = (t4 - t3) - (t5 - t4)
        for k, v in zip(parts, (t1 - t0, t2 - t1, t3 - t2, setup, t3 - t0 + setup), strict=True):
            parts[k].append(v)
    med = {k: statistics.median(v) * 1e3 for k, v in parts.items()}
    status = "OK" if med["total"] <= 2.0 else "OVER TARGET"
    tex = ", ".join(
        f"{base.model.texture(i).name} {base.model.tex_width[i]}x{base.model.tex_height[i]}" for i in changed
    )
    print(
        f"{env_id:24s} per-episode resample (full): sample {med['sample']:.3f} + apply {med['apply']:.3f} + "
        f"upload {med['upload']:.3f} + sensor setup {med['sensor setup']:.3f} -> total {med['total']:.3f} ms "
        f"(target <= 2 ms: {status}); upload p90 {np.percentile(parts['upload'], 90) * 1e3:.3f} ms; "
        f"textures: {tex}"
    )


def sensor_cost(image_size: int, repeats: int) -> None:
    spec = load_preset("full", "arm").sensor
    settings = {  # every op on, at the middle of its range in the full preset
        name: (float(np.mean([dist.low, dist.high])),) * (3 if name == "white_balance" else 1)  # type: ignore[union-attr]
        for name, dist in vars(spec).items()
        if dist is not None
    }
    env = gym.make("simreal/Push-v0", obs_mode="pixels", image_size=image_size)
    frame, _ = env.reset(seed=0)
    rows = {
        "all effects": SensorPipeline(settings, seed=1),
        "without JPEG": SensorPipeline({k: v for k, v in settings.items() if k != "jpeg_quality"}, seed=1),
        "JPEG only": SensorPipeline({"jpeg_quality": settings["jpeg_quality"]}, seed=1),
    }
    rng = np.random.default_rng(0)
    base = env.unwrapped
    timers = {name: (lambda p=pipe: p(frame, rng)) for name, pipe in rows.items()}
    timers["render (baseline)"] = lambda: base.render_frame(base.camera_names[0], "rgb")
    for timer in timers.values():
        timer()  # first call: the compiled kernel loads, buffers are allocated
    number = 200
    times: dict[str, list[float]] = {name: [] for name in timers}
    for _ in range(repeats):  # interleaved repeats
        for name, timer in timers.items():
            times[name].append(timeit.timeit(timer, number=number) / number)
    render = statistics.median(times["render (baseline)"])
    parts = []
    for name, values in times.items():
        us = statistics.median(values) * 1e6
        parts.append(f"{name} {us:.1f} us (x{us / (render * 1e6):.2f} of a render)")
    total = statistics.median(times["all effects"]) * 1e6
    status = "OK" if total <= 50 else "OVER TARGET"
    print(f"sensor pipeline {image_size}x{image_size} (target <= 50 us: {status}): " + "; ".join(parts))
    env.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--envs", nargs="+", default=["simreal/Reach-v0", "simreal/LaneFollow-v0"])
    parser.add_argument("--obs-modes", nargs="+", default=["pixels", "state"])
    parser.add_argument("--blocks", type=int, default=60)
    parser.add_argument("--block-steps", type=int, default=40)
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--resamples", type=int, default=200)
    parser.add_argument("--sensor-repeats", type=int, default=30, help="timeit repeats (of 200 frames) per row")
    args = parser.parse_args()
    print(f"MUJOCO_GL={os.environ.get('MUJOCO_GL')} LP_NUM_THREADS={os.environ.get('LP_NUM_THREADS', '<unset>')}")
    sensor_cost(args.image_size, args.sensor_repeats)
    for env_id in args.envs:
        for obs_mode in args.obs_modes:
            step_overhead(env_id, obs_mode, args.image_size, args.blocks, args.block_steps)
        resample_cost(env_id, args.image_size, args.resamples)


if __name__ == "__main__":
    main()
