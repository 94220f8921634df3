"""Batched evaluation: seeds handed out in order, every seed's episode run once whatever the number of envs, and a
trained policy's episodes equal (up to float rounding) with 1 and 3 envs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3.common.vec_env import DummyVecEnv

from simreal.agents.episode_queue import QueuedSeeds, SeedQueue, run_episodes
from simreal.agents.evaluate import DomainTask, run_domain_task
from simreal.agents.run_config import EvalConfig


class _SeedEcho(gym.Env):
    """An episode of seed s lasts s % 5 + 1 steps, pays s per step and succeeds when s is even."""

    observation_space = gym.spaces.Box(-1, 1, (1,))
    action_space = gym.spaces.Box(-1, 1, (1,))

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self.s, self.t = (-1 if seed is None else seed), 0
        return np.zeros(1, np.float32), {}

    def step(self, action: Any):
        self.t += 1
        done = self.t == self.s % 5 + 1
        return np.zeros(1, np.float32), float(self.s), done, False, {"is_success": done and self.s % 2 == 0}


def _episodes(seeds: list[int], envs: int) -> list[tuple[float, bool, int]]:
    queue = SeedQueue(seeds, envs)
    venv = DummyVecEnv([lambda i=i: QueuedSeeds(_SeedEcho(), queue, i) for i in range(envs)])
    return run_episodes(venv, queue, lambda obs: np.zeros((envs, 1), np.float32))


@pytest.mark.parametrize("envs", [1, 2, 3, 7])
def test_every_seed_runs_once_in_seed_order(envs: int) -> None:
    seeds = [3, 10, 4, 1, 8, 12, 7]
    expected = [(float(s * (s % 5 + 1)), s % 2 == 0, s % 5 + 1) for s in seeds]
    assert _episodes(seeds, envs) == expected


def test_queue_hands_out_seeds_in_order_then_none() -> None:
    queue = SeedQueue([5, 6, 7], 2)
    assert [queue.take(0), queue.take(1), queue.take(1)] == [5, 6, 7]
    assert queue.episode == [0, 2]
    assert queue.take(0) is None and queue.episode == [-1, 2]
    for bad in (0, True, 1.5):
        with pytest.raises(ValueError, match="envs"):
            SeedQueue([1], bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="slot"):
        QueuedSeeds(_SeedEcho(), queue, 2)
    with pytest.raises(ValueError, match="envs"):
        EvalConfig(envs=0)


def test_a_policy_plays_the_same_episodes_with_one_env_and_with_three(tiny_ppo_run: Callable[[str], Path]) -> None:
    run = tiny_ppo_run("simreal/Reach-v0")
    one, three = (run_domain_task(DomainTask(str(run), "real:1", 5, 0, gif_frames=0, envs=n)) for n in (1, 3))
    assert one.episode_seeds == three.episode_seeds and len(set(one.returns)) == 5  # five different episodes
    assert one.lengths == three.lengths and one.successes == three.successes
    np.testing.assert_allclose(three.returns, one.returns, rtol=1e-4)
