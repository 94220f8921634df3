"""Env throughput: steps/s of every simreal id with pixel observations vs gymnasium's Pusher-v5 rgb_array.

The simreal envs run in this process, single-threaded, in interleaved timed blocks (so machine-load drift hits
all of them alike); each is reported as the median over blocks and as a ratio to Pusher-v5 measured in the same
run. Pusher-v5 runs in a spawned child process before and after the simreal blocks: gymnasium's offscreen viewer
does not make its GL context current before each frame, so next to other contexts in one process it would draw
into the wrong one and look fast. Random actions; ``reset`` after an episode ends is included in the timing.

Usage: MUJOCO_GL=egl python benchmarks/env_throughput.py [--size 84] [--blocks 5] [--block-steps 300]
Targets (84x84): Reach >= 1000 steps/s and >= 10x Pusher-v5; Push and PickPlace >= 600; LaneFollow >= 800 at 64x64.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import time

import gymnasium as gym
import numpy as np

import simreal  # noqa: F401  (selects the GL backend before MuJoCo loads, registers the ids)

SIMREAL_IDS = ("simreal/Reach-v0", "simreal/Push-v0", "simreal/PickPlace-v0", "simreal/LaneFollow-v0")
TARGETS = {"simreal/Reach-v0": 1000, "simreal/Push-v0": 600, "simreal/PickPlace-v0": 600}


BASELINE = "Pusher-v5 (rgb_array)"


def make_envs(size: int) -> dict[str, gym.Env]:
    """Every simreal env under test, with pixel observations."""
    envs = {env_id: gym.make(env_id, obs_mode="pixels", image_size=size) for env_id in SIMREAL_IDS}
    envs["simreal/LaneFollow-v0 @64"] = gym.make("simreal/LaneFollow-v0", obs_mode="pixels", image_size=64)
    return envs


def pusher_rates(size: int, blocks: int, block_steps: int) -> list[float]:
    """Pusher-v5 with ``render()`` each step, timed in this (fresh, spawned) process."""
    env = gym.make("Pusher-v5", render_mode="rgb_array", width=size, height=size)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    timed_block(env, 5, render=True, rng=rng)
    rates = [timed_block(env, block_steps, render=True, rng=rng) for _ in range(blocks)]
    env.close()
    return rates


def baseline_in_child(size: int, blocks: int, block_steps: int) -> list[float]:
    """Run :func:`pusher_rates` in a spawned process (its own GL state)."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        return pool.apply(pusher_rates, (size, blocks, block_steps))


def timed_block(env: gym.Env, steps: int, render: bool, rng: np.random.Generator) -> float:
    """Steps per second over one block (pixels come from the observation, or from render() for Pusher)."""
    low, high = env.action_space.low, env.action_space.high
    actions = rng.uniform(low, high, size=(steps, *env.action_space.shape)).astype(np.float32)
    start = time.perf_counter()
    for action in actions:
        _, _, terminated, truncated, _ = env.step(action)
        if render:
            env.render()
        if terminated or truncated:
            env.reset()
    return steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=84)
    parser.add_argument("--blocks", type=int, default=5)
    parser.add_argument("--block-steps", type=int, default=300)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    pusher_steps = max(20, args.block_steps // 10)  # Pusher is slow; fewer steps per block
    baseline_rates = baseline_in_child(args.size, args.blocks, pusher_steps)
    envs = make_envs(args.size)
    rates: dict[str, list[float]] = {name: [] for name in envs}
    for env in envs.values():
        env.reset(seed=0)
        timed_block(env, 20, render=False, rng=rng)  # warm-up: GL context, caches
    for _ in range(args.blocks):
        for name, env in envs.items():
            rates[name].append(timed_block(env, args.block_steps, render=False, rng=rng))
    rates[BASELINE] = baseline_rates + baseline_in_child(args.size, args.blocks, pusher_steps)
    baseline = statistics.median(rates[BASELINE])
    print(f"{'env':<30} {'size':>5} {'steps/s (median)':>17} {'x Pusher-v5':>12} {'target':>8}")
    for name, values in rates.items():
        size = 64 if name.endswith("@64") else args.size
        median = statistics.median(values)
        target = TARGETS.get(name, 800 if name.endswith("@64") else "")
        print(f"{name:<30} {size:>5} {median:>17.0f} {median / baseline:>12.1f} {target!s:>8}")
    for env in envs.values():
        env.close()


if __name__ == "__main__":
    main()
