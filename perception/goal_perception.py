"""Goal perception as a VecEnv wrapper: frozen point detectors triangulate the goal, filtered over the episode.

A pixel policy's perception need not live inside the policy. :class:`GoalPerception` runs the
:class:`~simreal.perception.extractors.TriangulatingExtractor`'s detectors on every step's camera images (batched over
the envs) and replaces the images and projection matrices with one ``goal_estimate`` (metres): the running median of
the episode's per-frame estimates. The goal is static within an episode, so the median removes single-frame
misdetections (the gripper hiding the goal, a look-alike distractor) and sensor-noise jitter, which a stateless
extractor cannot; and PPO's updates run on small vectors instead of re-running the detectors on every minibatch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper
from stable_baselines3.common.vec_env.base_vec_env import VecEnvObs, VecEnvStepReturn

from simreal.perception.extractors import TriangulatingExtractor

__all__ = ["GOAL_KEY", "GoalPerception", "load_goal_perception"]

GOAL_KEY = "goal_estimate"


class GoalPerception(VecEnvWrapper):
    """Replace camera images and projections by the episode's running-median goal estimate ``(3,)`` in metres.

    ``extractor``: pre-trained detectors (frozen here). Other observation keys (the state) pass through. The
    ``terminal_observation`` of a finished episode is transformed with that episode's history, so PPO bootstraps
    truncated episodes from the same kind of observation it acts on.
    """

    def __init__(self, venv: VecEnv, extractor: TriangulatingExtractor) -> None:
        space = venv.observation_space
        if not isinstance(space, gym.spaces.Dict):
            raise ValueError("GoalPerception: needs Dict observations (obs_mode='pixels_state')")
        dropped = {*extractor.image_keys, *(f"{k}_projection" for k in extractor.image_keys)}
        missing = sorted(dropped - set(space.spaces))
        if missing:
            raise ValueError(f"GoalPerception: the observations lack the detectors' keys {missing}")
        self._kept = [k for k in space.spaces if k not in dropped]
        goal = gym.spaces.Box(-np.inf, np.inf, (3,), np.float32)
        observation_space = gym.spaces.Dict({GOAL_KEY: goal, **{k: space[k] for k in self._kept}})
        super().__init__(venv, observation_space=observation_space)
        self.extractor = extractor.eval().requires_grad_(False)
        self._history: list[list[np.ndarray]] = [[] for _ in range(venv.num_envs)]

    def estimates(self, observations: dict[str, np.ndarray]) -> np.ndarray:
        """Per-frame goal estimates ``(N, 3)`` from raw batched observations (images ``(N, H, W, 3)`` uint8)."""
        return self.extractor.estimate_frames(observations)

    def _observation(self, observations: dict[str, np.ndarray], goal: np.ndarray) -> dict[str, np.ndarray]:
        return {GOAL_KEY: goal, **{k: observations[k] for k in self._kept}}

    def reset(self) -> VecEnvObs:
        observations = self.venv.reset()
        assert isinstance(observations, dict)
        per_frame = self.estimates(observations)
        self._history = [[estimate] for estimate in per_frame]
        return self._observation(observations, per_frame.copy())

    def step_wait(self) -> VecEnvStepReturn:
        observations, rewards, dones, infos = self.venv.step_wait()
        assert isinstance(observations, dict)
        per_frame = self.estimates(observations)
        for i, done in enumerate(dones):
            if done:
                infos[i] = self._transform_terminal(i, infos[i])
                self._history[i] = []
            self._history[i].append(per_frame[i])
        goal = np.stack([np.median(history, axis=0) for history in self._history]).astype(np.float32)
        return self._observation(observations, goal), rewards, dones, infos

    def _transform_terminal(self, index: int, info: dict[str, Any]) -> dict[str, Any]:
        terminal = info.get("terminal_observation")
        if terminal is None:
            return info
        batch = {k: np.asarray(v)[None] for k, v in terminal.items()}
        history = [*self._history[index], self.estimates(batch)[0]]
        goal = np.median(history, axis=0).astype(np.float32)
        return {**info, "terminal_observation": {GOAL_KEY: goal, **{k: terminal[k] for k in self._kept}}}


def load_goal_perception(venv: VecEnv, encoder: str | Path, settings: dict[str, int]) -> GoalPerception:
    """Wrap ``venv`` with the detectors saved in ``encoder`` (``settings``: their ``channels`` and ``layers``)."""
    from simreal.perception.pretraining import load_encoder

    extractor = TriangulatingExtractor(venv.observation_space, **settings)
    load_encoder(extractor, encoder, freeze=True)
    return GoalPerception(venv, extractor)
