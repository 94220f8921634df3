"""Seeded episodes spread over the envs of one vector env: each env starts its next episode with the next seed.

Evaluation replays a fixed list of episode seeds. Stepping one env at a time leaves the policy's network running on
batches of one, where its per-call overhead dominates (a 64 px CNN on a loaded 2-core machine: ~2 ms a call, ~0.5 ms
per image in a batch of 8). With ``n`` envs the same seeds run ``n`` at a time: :class:`SeedQueue` hands out the seeds
in order, and :class:`QueuedSeeds`, wrapped round each env below the policy's own wrappers, resets its env with the
next one whenever the vector env resets it (its first reset and every autoreset), whatever seed the caller passes.
Once every seed is handed out, a reset draws an unseeded episode that the evaluation ignores.

An episode's result depends only on its seed (the reset seeds the env and its randomization), so the episodes are
those of a one-env evaluation; only the batch composition of the policy's forward passes differs, which can move its
actions by float rounding.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env import VecEnv, VecNormalize


class SeedQueue:
    """The episode seeds of one evaluation, handed out in order; ``episode[slot]`` is the index of the seed the env
    in that slot is running (-1: none, once the seeds are used up)."""

    def __init__(self, seeds: Sequence[int], slots: int) -> None:
        if isinstance(slots, bool) or not isinstance(slots, int) or slots < 1:
            raise ValueError(f"envs: must be an int >= 1, got {slots!r}")
        self.seeds = [int(s) for s in seeds]
        self.episode = [-1] * slots
        self._next = 0

    def take(self, slot: int) -> int | None:
        """The next seed for the env in ``slot`` (None once every seed is handed out)."""
        if self._next == len(self.seeds):
            self.episode[slot] = -1
            return None
        self.episode[slot] = self._next
        self._next += 1
        return self.seeds[self.episode[slot]]


class QueuedSeeds(gym.Wrapper):
    """Reset the wrapped env with ``queue``'s next seed (for ``slot``) instead of the seed the caller passes."""

    def __init__(self, env: gym.Env, queue: SeedQueue, slot: int) -> None:
        super().__init__(env)
        if not 0 <= slot < len(queue.episode):
            raise ValueError(f"slot: must be in [0, {len(queue.episode)}), got {slot}")
        self.queue = queue
        self.slot = slot

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict]:
        return self.env.reset(seed=self.queue.take(self.slot), options=options)


def run_episodes(
    venv: VecEnv, queue: SeedQueue, act: Callable[[Any], Any], before_step: Callable[[], None] = lambda: None
) -> list[tuple[float, bool, int]]:
    """(return, success, length) of every episode of ``queue``, in seed order: ``venv``'s envs (each wrapped in
    :class:`QueuedSeeds` with ``queue``) stepped with ``act(obs)`` until each seed's episode has ended;
    ``before_step()`` runs before every step. Rewards are the raw ones (``VecNormalize``'s original reward)."""
    episodes: dict[int, tuple[float, bool, int]] = {}
    totals, steps = np.zeros(venv.num_envs), np.zeros(venv.num_envs, dtype=int)
    obs = venv.reset()
    while len(episodes) < len(queue.seeds):
        before_step()
        running = list(queue.episode)  # the autoreset inside step moves a finished env on to its next seed
        obs, reward, dones, infos = venv.step(act(obs))
        totals += venv.get_original_reward() if isinstance(venv, VecNormalize) else reward
        steps += 1
        for env in np.flatnonzero(dones):
            if running[env] >= 0:
                success = bool(infos[env].get("is_success", False))
                episodes[running[env]] = (float(totals[env]), success, int(steps[env]))
            totals[env], steps[env] = 0.0, 0
    return [episodes[i] for i in range(len(queue.seeds))]
