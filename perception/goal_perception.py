"""Goal perception for pixel policies: frozen point detectors triangulate the goal, filtered over the episode.

:class:`GoalTriangulator` holds one :class:`~simreal.perception.detector.PointDetector` per calibrated camera; the
cameras' ``<key>_projection`` matrices (``camera_projections=True``: the calibration a real camera comes with)
triangulate the detected pixels into a world position in metres. A camera mounted off its nominal pose moves the
pixels and the matrices together, so the estimate does not move.

The perception lives outside the policy. :class:`GoalPerception` runs the detectors on every step's camera images
(batched over the envs) and replaces the images and projection matrices with one ``goal_estimate`` (metres): the
running median of the episode's per-frame estimates. The goal is static within an episode, so the median removes
single-frame misdetections (the gripper hiding the goal, a look-alike distractor) and sensor-noise jitter, which a
stateless feature extractor cannot; and PPO's updates run on small vectors instead of re-running the detectors on
every minibatch. (The detectors inside the policy as an SB3 features extractor, and a keypoint regressor, were
measured and removed; their numbers are in ``docs/results/pixel_reach_superseded.md``.)
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.preprocessing import is_image_space
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper
from stable_baselines3.common.vec_env.base_vec_env import VecEnvObs, VecEnvStepReturn
from torch import nn

from simreal.perception.checkpoint import load_weights
from simreal.perception.detector import PointDetector, decode_heatmap
from simreal.perception.images import images_to_tensor
from simreal.perception.triangulation import triangulate

__all__ = ["GOAL_KEY", "GoalPerception", "GoalTriangulator", "load_goal_perception"]

GOAL_KEY = "goal_estimate"


class GoalTriangulator(nn.Module):
    """One point detector per camera of a Dict observation space (images and their ``<key>_projection``), and the
    least-squares triangulation of their pixels (Hartley & Zisserman 12.2).

    ``channels`` and ``layers`` size each :class:`~simreal.perception.detector.PointDetector`. Pre-trained on
    labelled frames by :func:`~simreal.perception.pretraining.pretrain_detectors`, then frozen.
    """

    def __init__(self, observation_space: gym.Space, channels: int = 32, layers: int = 3) -> None:
        super().__init__()
        if not isinstance(observation_space, gym.spaces.Dict):
            raise ValueError("GoalTriangulator: needs Dict observations (obs_mode='pixels_state')")
        spaces = observation_space.spaces
        image_keys = [k for k, s in spaces.items() if is_image_space(s, check_channels=False)]
        missing = [f"{k}_projection" for k in image_keys if f"{k}_projection" not in spaces]
        if len(image_keys) < 2 or missing:
            raise ValueError(
                "GoalTriangulator: needs >= 2 cameras and their projections (camera_projections=True); "
                f"got cameras {image_keys}, missing {missing}"
            )
        self.image_keys = tuple(image_keys)
        size = (spaces[image_keys[0]].shape or ())[1]  # square images: index 1 is a side in both HWC and CHW
        self.detectors = nn.ModuleDict({k: PointDetector(size, channels, layers) for k in image_keys})

    @torch.no_grad()
    def pixels(self, images: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Detected pixel ``(N, 2)`` per camera from ``{key: (N, 3, S, S) in [-1, 1]}`` (see
        :mod:`simreal.perception.images`)."""
        return {k: decode_heatmap(self.detectors[k](images[k])) for k in self.image_keys}

    def estimate(self, observations: dict[str, torch.Tensor]) -> torch.Tensor:
        """World position ``(N, 3)`` of the detected object."""
        pixels = self.pixels(observations)
        return triangulate(
            torch.stack([pixels[k] for k in self.image_keys], dim=1),
            torch.stack([observations[f"{k}_projection"] for k in self.image_keys], dim=1),
        )

    @torch.no_grad()
    def estimate_frames(self, observations: Mapping[str, np.ndarray], batch_size: int = 256) -> np.ndarray:
        """World positions ``(N, 3)`` float32 from raw env observations (uint8 HWC images and their projections),
        ``batch_size`` frames at a time."""
        n = len(observations[self.image_keys[0]])
        chunks = []
        for start in range(0, n, batch_size):
            batch = {}
            for key in self.image_keys:
                batch[key] = images_to_tensor(observations[key][start : start + batch_size], channels_last=True)
                projections = np.asarray(observations[f"{key}_projection"][start : start + batch_size], np.float32)
                batch[f"{key}_projection"] = torch.from_numpy(projections)
            chunks.append(self.estimate(batch))
        return torch.cat(chunks).numpy().astype(np.float32)


class GoalPerception(VecEnvWrapper):
    """Replace camera images and projections by the episode's running-median goal estimate ``(3,)`` in metres.

    ``extractor``: the pre-trained detectors (frozen here). Other observation keys (the state) pass through. The
    ``terminal_observation`` of a finished episode is transformed with that episode's history, so PPO bootstraps
    truncated episodes from the same kind of observation it acts on.
    """

    def __init__(self, venv: VecEnv, extractor: GoalTriangulator) -> None:
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
    extractor = GoalTriangulator(venv.observation_space, **settings)
    load_weights(extractor, encoder, freeze=True)
    return GoalPerception(venv, extractor)
