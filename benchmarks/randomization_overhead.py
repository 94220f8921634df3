"""Domain-randomization overhead, measured in one run against a baseline from the same run.

1. Steady-state step time of the ``full`` preset vs ``none`` (both wrapped, resample per episode), timed in
   interleaved blocks so machine-load drift hits both alike; prints medians and the ratio (target <= 1.05).
2. Cost of one per-episode resample with ``full``: sampling, apply (restore + writes + texture regeneration)
   and the texture upload to the live renderer (target <= 2 ms), with medians per part.

Usage: MUJOCO_GL=egl python benchmarks/randomization_overhead.py [--envs simreal/Reach-v0 ...] [--blocks 30]
"""

from __future__ import annotations

import argparse
import statistics
import time

import gymnasium as gym
import numpy as np

import simreal  # noqa: F401  (registers the ids, selects the GL backend)
from simreal.randomization import DomainRandomization, apply, env_family, load_preset


def wrapped(env_id: str, preset: str, obs_mode: str, image_size: int) -> DomainRandomization:
    env = gym.make(env_id, obs_mode=obs_mode, image_size=image_size).unwrapped
    return DomainRandomization(env, load_preset(preset, env_family(env)), resample="episode", seed=0)


def time_block(env: DomainRandomization, actions: np.ndarray) -> float:
    """Median seconds per step over ``actions`` (resets happen outside the timed region)."""
    times = []
    for a in actions:
        t0 = time.perf_counter()
        _, _, terminated, truncated, _ = env.step(a)
        times.append(time.perf_counter() - t0)
        if terminated or truncated:
            env.reset()
    return statistics.median(times)


def step_overhead(env_id: str, obs_mode: str, image_size: int, blocks: int, block_steps: int) -> None:
    envs = {p: wrapped(env_id, p, obs_mode, image_size) for p in ("none", "full")}
    rng = np.random.default_rng(0)
    space = envs["none"].action_space
    for env in envs.values():
        env.reset(seed=0)
        time_block(env, rng.uniform(space.low, space.high, (20, *space.shape)).astype(np.float32))  # warm-up
    medians: dict[str, list[float]] = {p: [] for p in envs}
    for b in range(blocks):
        actions = rng.uniform(space.low, space.high, (block_steps, *space.shape)).astype(np.float32)
        order = ("none", "full") if b % 2 == 0 else ("full", "none")
        for p in order:
            medians[p].append(time_block(envs[p], actions))
    none_ms = statistics.median(medians["none"]) * 1e3
    full_ms = statistics.median(medians["full"]) * 1e3
    ratio = statistics.median(f / n for f, n in zip(medians["full"], medians["none"], strict=True))
    status = "OK" if ratio <= 1.05 else "OVER TARGET"
    print(
        f"{env_id:24s} obs={obs_mode:6s} {image_size}px  step none {none_ms:.3f} ms  full {full_ms:.3f} ms  "
        f"ratio {ratio:.3f} (target <= 1.05: {status})"
    )


def resample_cost(env_id: str, image_size: int, n: int) -> None:
    env = wrapped(env_id, "full", "pixels", image_size)
    env.reset(seed=0)  # the renderer is live from here on, so refresh_textures really uploads
    base, sampler, defaults = env.unwrapped, env._sampler, env._defaults
    rng = np.random.default_rng(1)
    parts: dict[str, list[float]] = {"sample": [], "apply": [], "upload": [], "total": []}
    action = np.zeros(env.action_space.shape, dtype=np.float32)
    for _ in range(n):
        env.step(action)  # render a frame between resamples, as in real episodes (untimed)
        t0 = time.perf_counter()
        params = sampler(rng)
        t1 = time.perf_counter()
        changed = apply(base.model, defaults, params)
        t2 = time.perf_counter()
        base.refresh_textures(changed)
        t3 = time.perf_counter()
        for k, v in zip(parts, (t1 - t0, t2 - t1, t3 - t2, t3 - t0), strict=True):
            parts[k].append(v)
    med = {k: statistics.median(v) * 1e3 for k, v in parts.items()}
    status = "OK" if med["total"] <= 2.0 else "OVER TARGET"
    tex = ", ".join(
        f"{base.model.texture(i).name} {base.model.tex_width[i]}x{base.model.tex_height[i]}" for i in changed
    )
    print(
        f"{env_id:24s} per-episode resample (full): sample {med['sample']:.3f} + apply {med['apply']:.3f} + "
        f"upload {med['upload']:.3f} = {med['total']:.3f} ms (target <= 2 ms: {status}); textures: {tex}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--envs", nargs="+", default=["simreal/Reach-v0", "simreal/LaneFollow-v0"])
    parser.add_argument("--blocks", type=int, default=30)
    parser.add_argument("--block-steps", type=int, default=40)
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--resamples", type=int, default=200)
    args = parser.parse_args()
    for env_id in args.envs:
        for obs_mode in ("pixels", "state"):
            step_overhead(env_id, obs_mode, args.image_size, args.blocks, args.block_steps)
        resample_cost(env_id, args.image_size, args.resamples)


if __name__ == "__main__":
    main()
