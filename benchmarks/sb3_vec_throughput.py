"""SB3 ``DummyVecEnv`` steps/s of randomized state envs: ``info["randomization"]`` as an ``InfoSummary`` (now) vs
the plain dicts it replaced, measured in one run.

SB3's ``DummyVecEnv.step_wait`` deep-copies every step's infos; a ``train`` summary holds ~150 draws, which
``copy.deepcopy`` walked leaf by leaf (~250 us per env step, about half a state step). ``InfoSummary`` copies its
dicts and shares the immutable leaves. The baseline wraps each env so that it hands out plain dicts again. The two
variants run in interleaved blocks (load drift hits both alike); medians and the median per-block ratio.

Usage: MUJOCO_GL=egl python benchmarks/sb3_vec_throughput.py [--envs simreal/Push-v0 ...] [--blocks 7]
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env import DummyVecEnv

import simreal  # noqa: F401  (registers the ids)


class PlainInfo(gym.Wrapper):
    """The baseline: ``info["randomization"]`` as plain nested dicts (as before ``InfoSummary``)."""

    def step(self, action: Any) -> tuple[Any, Any, bool, bool, dict]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        info["randomization"] = dict(info["randomization"].fresh())  # plain dicts all the way down
        return obs, reward, terminated, truncated, info


def make_vec(env_id: str, n_envs: int, plain: bool) -> DummyVecEnv:
    def make() -> gym.Env:
        env = gym.make(env_id, obs_mode="state", domain="train")
        return PlainInfo(env) if plain else env

    venv = DummyVecEnv([make for _ in range(n_envs)])
    venv.seed(0)
    venv.reset()
    return venv


def timed_block(venv: DummyVecEnv, steps: int, rng: np.random.Generator) -> float:
    """Env steps per second over one block of random actions."""
    space = venv.action_space
    actions = rng.uniform(space.low, space.high, size=(steps, venv.num_envs, *space.shape)).astype(np.float32)
    start = time.perf_counter()
    for action in actions:
        venv.step(action)
    return steps * venv.num_envs / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", nargs="+", default=["simreal/Push-v0", "simreal/Reach-v0"])
    parser.add_argument("--n-envs", type=int, default=8)
    parser.add_argument("--blocks", type=int, default=7)
    parser.add_argument("--block-steps", type=int, default=200, help="vector steps per block")
    args = parser.parse_args()
    print(f"SB3 DummyVecEnv, {args.n_envs} envs, obs_mode=state, domain=train, {args.blocks} interleaved blocks")
    print(f"{'env':24s} {'plain dicts':>12s} {'InfoSummary':>12s} {'ratio (median per block)':>26s}")
    for env_id in args.envs:
        variants = {plain: make_vec(env_id, args.n_envs, plain) for plain in (True, False)}
        rng = np.random.default_rng(0)
        for venv in variants.values():
            timed_block(venv, 20, rng)  # warm-up
        rates: dict[bool, list[float]] = {True: [], False: []}
        for _ in range(args.blocks):
            for plain, venv in variants.items():
                rates[plain].append(timed_block(venv, args.block_steps, rng))
        ratio = statistics.median(s / p for s, p in zip(rates[False], rates[True], strict=True))
        base, now = statistics.median(rates[True]), statistics.median(rates[False])
        print(f"{env_id:24s} {base:10.0f}/s {now:10.0f}/s {ratio:25.2f}x")
        for venv in variants.values():
            venv.close()


if __name__ == "__main__":
    main()
