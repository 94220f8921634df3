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


class InnerTimer(gym.Wrapper):
    """Records the duration of the last inner ``step`` (the env itself, without the randomization wrapper)."""

    last = 0.0

    def step(self, action):  # type: ignore[no-untyped-def]
        t0 = time.perf_counter()
        out = self.env.step(action)
        self.last = time.perf_counter() - t0
        return out


def wrapped(env_id: str, preset: str, obs_mode: str, image_size: int) -> DomainRandomization:
    env = gym.make(env_id, obs_mode=obs_mode, image_size=image_size).unwrapped
    return DomainRandomization(InnerTimer(env), load_preset(preset, env_family(env)), resample="episode", seed=0)


def time_block(env: DomainRandomization, actions: np.ndarray) -> tuple[float, float]:
    """Median seconds per step and median wrapper-only seconds per step over ``actions`` (resets untimed)."""
    times, own = [], []
    for a in actions:
        t0 = time.perf_counter()
        _, _, terminated, truncated, _ = env.step(a)
        times.append(time.perf_counter() - t0)
        own.append(times[-1] - env.env.last)
        if terminated or truncated:
            env.reset()
    return statistics.median(times), statistics.median(own)


def step_overhead(env_id: str, obs_mode: str, image_size: int, blocks: int, block_steps: int) -> None:
    envs = {p: wrapped(env_id, p, obs_mode, image_size) for p in ("none", "full")}
    rng = np.random.default_rng(0)
    space = envs["none"].action_space
    for env in envs.values():
        env.reset(seed=0)
        time_block(env, rng.uniform(space.low, space.high, (20, *space.shape)).astype(np.float32))  # warm-up
    medians: dict[str, list[float]] = {p: [] for p in envs}
    own: dict[str, list[float]] = {p: [] for p in envs}
    for b in range(blocks):
        actions = rng.uniform(space.low, space.high, (block_steps, *space.shape)).astype(np.float32)
        order = ("none", "full") if b % 2 == 0 else ("full", "none")
        for p in order:
            step_s, own_s = time_block(envs[p], actions)
            medians[p].append(step_s)
            own[p].append(own_s)
    none_ms = statistics.median(medians["none"]) * 1e3
    full_ms = statistics.median(medians["full"]) * 1e3
    ratio = statistics.median(f / n for f, n in zip(medians["full"], medians["none"], strict=True))
    own_us = {p: statistics.median(v) * 1e6 for p, v in own.items()}
    own_ratio = 1.0 + (own_us["full"] - own_us["none"]) / (none_ms * 1e3)
    status = "OK" if ratio <= 1.05 else "OVER TARGET"
    print(
        f"{env_id:24s} obs={obs_mode:6s} {image_size}px  step none {none_ms:.3f} ms  full {full_ms:.3f} ms  "
        f"ratio {ratio:.3f} (target <= 1.05: {status})\n{'':24s} wrapper-only time per step: none "
        f"{own_us['none']:.1f} us, full {own_us['full']:.1f} us (sensor/control/info) -> ratio {own_ratio:.3f}; "
        "the rest is the env simulating/rendering a different scene"
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
