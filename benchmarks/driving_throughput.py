"""LaneFollow throughput: env steps per second (single process) with pixel and state observations.

The car is driven by the pure-pursuit oracle (outside the timed region) so episodes look like real driving;
``step`` and the ``reset`` that follows a finished episode are timed. Pixel modes are compared with the
``state`` mode measured in the same run, in interleaved blocks so machine-load drift hits all alike.
Also prints the median time to generate one track (uncached).

Usage: MUJOCO_GL=egl python benchmarks/driving_throughput.py [--steps 3000] [--sizes 64 84]
Target: >= 800 steps/s at 64x64 pixels.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import simreal  # noqa: F401  (selects the GL backend before MuJoCo loads)
from simreal.envs.driving.config import LaneFollowConfig
from simreal.envs.driving.env import LaneFollowEnv
from simreal.envs.driving.oracle import pure_pursuit_action
from simreal.envs.driving.track import generate_track

BLOCK = 250  # steps per timed block
TARGET_64 = 800.0


def _make(obs_mode: str, image_size: int) -> LaneFollowEnv:
    env = LaneFollowEnv(LaneFollowConfig(obs_mode=obs_mode, image_size=image_size))
    env.reset(seed=0)
    return env


def _block_rate(env: LaneFollowEnv, steps: int) -> float:
    """Steps per second over ``steps`` oracle-driven steps (step + reset time only)."""
    elapsed = 0.0
    for _ in range(steps):
        action = pure_pursuit_action(env)
        t0 = time.perf_counter()
        _, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            env.reset()
        elapsed += time.perf_counter() - t0
    return steps / elapsed


def lanefollow_steps_per_second(image_size: int = 64, steps: int = 3000, obs_mode: str = "pixels") -> float:
    """Median over blocks of env steps per second for one LaneFollow env in this process."""
    env = _make(obs_mode, image_size)
    try:
        _block_rate(env, 50)  # warm-up: GL context, caches
        return statistics.median(_block_rate(env, BLOCK) for _ in range(max(steps // BLOCK, 1)))
    finally:
        env.close()


def track_generation_ms(count: int = 50, start_seed: int = 10_000) -> float:
    """Median milliseconds to generate one track, bypassing the cache."""
    times = []
    for seed in range(start_seed, start_seed + count):
        t0 = time.perf_counter()
        generate_track.__wrapped__(seed)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def compare(sizes: list[int], steps: int) -> None:
    """Interleave blocks of the state baseline and each pixel size; print medians and ratios."""
    envs = {"state": _make("state", 64)} | {f"pixels{s}": _make("pixels", s) for s in sizes}
    for env in envs.values():
        _block_rate(env, 50)
    rates: dict[str, list[float]] = {name: [] for name in envs}
    for b in range(max(steps // BLOCK, 1)):
        names = list(envs) if b % 2 == 0 else list(reversed(envs))
        for name in names:
            rates[name].append(_block_rate(envs[name], BLOCK))
    base = statistics.median(rates["state"])
    print(f"state (baseline)   {base:8.0f} steps/s  ({1e3 / base:.3f} ms/step)")
    for size in sizes:
        rate = statistics.median(rates[f"pixels{size}"])
        ratio = statistics.median(p / s for p, s in zip(rates[f"pixels{size}"], rates["state"], strict=True))
        note = f"  target >= {TARGET_64:.0f}: {'OK' if rate >= TARGET_64 else 'BELOW'}" if size == 64 else ""
        print(f"pixels {size}x{size}     {rate:8.0f} steps/s  ({1e3 / rate:.3f} ms/step)  x{ratio:.2f} of state{note}")
    for env in envs.values():
        env.close()
    print(f"track generation   {track_generation_ms():8.2f} ms median (uncached; cached per seed afterwards)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=3000, help="timed steps per configuration")
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 84], help="pixel observation sizes")
    args = parser.parse_args()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"LaneFollow, single process, oracle driving; load average {load}")
    compare(args.sizes, args.steps)


if __name__ == "__main__":
    main()
