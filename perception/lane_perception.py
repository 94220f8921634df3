"""Lane perception for driving pixel policies: a CNN reads the lane geometry from the onboard camera.

The modular alternative to an end-to-end pixel policy (Tobin et al. 2017's recipe, as the arm's
:mod:`~simreal.perception.goal_perception`): :class:`LaneRegressor` is trained on labelled frames of the policy's
training domain (every simulated frame knows its lateral offset, heading error and the curvature ahead: the
driving env's ``lane_state()``, the first seven entries of its ``state`` observation), then frozen;
:class:`LanePerception` replaces the camera image with the regressor's estimate, so PPO learns a small MLP policy
on ``lane_estimate`` plus speed and steering instead of a CNN from reward alone. The estimate is per frame (the
geometry changes every step; no filter), and the regressor's own errors on randomized frames are part of what the
policy trains on.

Training augmentation: appearance (:func:`~simreal.perception.images.augment_appearance`, colour channels
shuffled: no road colour is special) and a horizontal mirror of half the images with every label negated (a
mirrored road is a road: offset, heading and curvature change sign), which also balances left and right.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
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
from simreal.perception.images import augment_appearance, images_to_tensor
from simreal.perception.pretraining import Collection, training_frames
from simreal.perception.training import FitSettings, run_epochs

__all__ = [
    "LANE_KEY",
    "LanePerception",
    "LaneRegressor",
    "fresh_fit",
    "image_key_of",
    "lane_cnn",
    "lane_targets",
    "load_lane_perception",
    "mirror_lanes",
    "pretrain_lane_regressor",
    "train_lane_regressor",
]

LANE_KEY = "lane_estimate"
LANE_OUTPUTS = 7  # lateral offset (m), heading error (rad), curvature at the driving env's 5 LOOKAHEAD points (1/m)
STAGES = 4  # stride-2 convolutions: a 64 px image becomes 4x4 cells


def lane_targets(env: gym.Env) -> np.ndarray:
    """The label of one frame: the driving env's ``lane_state()`` ``(7,)``."""
    lane_state: Callable[[], np.ndarray] | None = getattr(env.unwrapped, "lane_state", None)
    if lane_state is None:
        raise ValueError(f"lane perception needs a driving env with lane_state(), got {type(env.unwrapped).__name__}")
    return np.asarray(lane_state(), dtype=np.float32)


# Labelled driving frames: 50-frame episodes under the oracle with action noise 0.6 (long enough to drift up to ~1 m
# off the centre line and ~0.3 rad off the heading, as a policy in training does; an episode's reset, which builds a
# new track, is also the slow part of collection)
LANE_COLLECTION = Collection(lane_targets, episode_steps=50, noise=0.6)


def image_key_of(observation_space: gym.Space, who: str) -> tuple[str, int]:
    """The one camera image key of a Dict observation space and its side; ``ValueError`` naming ``who`` unless
    there is exactly one image, square with a side that is a multiple of ``2 ** STAGES``."""
    if not isinstance(observation_space, gym.spaces.Dict):
        raise ValueError(f"{who}: needs Dict observations (obs_mode='pixels_state')")
    keys = [k for k, s in observation_space.spaces.items() if is_image_space(s, check_channels=False)]
    if len(keys) != 1:
        raise ValueError(f"{who}: needs exactly one camera image, got {keys}")
    size = (observation_space[keys[0]].shape or ())[1]
    if size < 2**STAGES or size % 2**STAGES:
        raise ValueError(f"{who}: the image side must be a multiple of {2**STAGES}, got {size}")
    return keys[0], size


def lane_cnn(size: int, channels: int, outputs: int) -> nn.Sequential:
    """The lane models' network: ``STAGES`` stride-2 3x3 convolutions (GroupNorm + ReLU; ``channels``, doubled
    after the second), flattened (where the lane is in the image is the answer, so no global pooling), a hidden
    layer of 128 and a linear read-out of ``outputs``."""
    widths = [3, channels, channels, 2 * channels, 2 * channels]
    layers: list[nn.Module] = []
    for a, b in itertools.pairwise(widths):
        layers += [nn.Conv2d(a, b, 3, 2, 1), nn.GroupNorm(4, b), nn.ReLU(inplace=True)]
    cells = (size // 2**STAGES) ** 2
    layers += [nn.Flatten(), nn.Linear(widths[-1] * cells, 128), nn.ReLU(inplace=True), nn.Linear(128, outputs)]
    return nn.Sequential(*layers)


class LaneRegressor(nn.Module):
    """Image ``[-1, 1]`` (N, 3, S, S) -> lane geometry (N, 7) in its own units: :func:`lane_cnn` reading out the
    targets standardised by ``target_scale`` (set from the training labels).

    ``observation_space``: the policy env's Dict space with exactly one image key."""

    def __init__(self, observation_space: gym.Space, channels: int = 32) -> None:
        super().__init__()
        self.image_key, size = image_key_of(observation_space, "LaneRegressor")
        self.config = {"image_size": size, "channels": channels}
        self.net = lane_cnn(size, channels, LANE_OUTPUTS)
        self.target_scale: torch.Tensor
        self.register_buffer("target_scale", torch.ones(LANE_OUTPUTS))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Standardised estimates (the targets divided by ``target_scale``)."""
        return self.net(images)

    @torch.no_grad()
    def estimate_frames(self, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """Lane geometry ``(N, 7)`` float32 in metres, radians and 1/m from uint8 HWC images."""
        chunks = [
            self(images_to_tensor(images[start : start + batch_size], channels_last=True)) * self.target_scale
            for start in range(0, len(images), batch_size)
        ]
        return torch.cat(chunks).numpy().astype(np.float32)


def mirror_lanes(
    images: torch.Tensor, targets: torch.Tensor, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mirror a random half of the batch left-right; every lane label (each signed about the image's vertical
    centre line) changes sign with it."""
    flip = torch.rand(len(images), generator=generator) < 0.5
    images = torch.where(flip.view(-1, 1, 1, 1), images.flip(3), images)
    return images, torch.where(flip.view(-1, 1), -targets, targets)


def fresh_fit(
    model: nn.Module, fit: FitSettings, n: int
) -> tuple[torch.Generator, torch.optim.lr_scheduler.OneCycleLR]:
    """Start a lane model's fit: its convolution and linear layers re-initialised from ``fit.seed`` (the global
    generator untouched), the batch generator, and Adam under a one-cycle learning rate over ``fit.epochs`` of
    ``n`` examples."""
    with torch.random.fork_rng():
        torch.manual_seed(fit.seed)
        for layer in model.modules():
            if isinstance(layer, nn.Conv2d | nn.Linear):
                layer.reset_parameters()
    optimizer = torch.optim.Adam(model.parameters(), lr=fit.learning_rate)
    total = fit.epochs * math.ceil(n / fit.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, fit.learning_rate, total_steps=total, pct_start=0.15)
    return torch.Generator().manual_seed(fit.seed), schedule


def train_lane_regressor(model: LaneRegressor, images: np.ndarray, targets: np.ndarray, fit: FitSettings) -> float:
    """Fit ``model`` (its weights initialised afresh from ``fit.seed``) to uint8 ``images`` (N, S, S, 3) and their
    ``lane_targets`` (N, 7): smooth-L1 on standardised targets, Adam with a one-cycle learning rate, the module's
    augmentation when ``fit.augment``. Returns the median absolute lateral-offset error (m) on the training
    frames."""
    if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
        raise ValueError(f"images must be uint8 (N, S, S, 3), got {images.dtype} {images.shape}")
    if targets.shape != (len(images), LANE_OUTPUTS):
        raise ValueError(f"targets must have shape {(len(images), LANE_OUTPUTS)}, got {targets.shape}")
    generator, schedule = fresh_fit(model, fit, len(images))
    scale = torch.from_numpy(np.maximum(np.abs(targets).std(axis=0), 1e-3).astype(np.float32))
    model.target_scale.copy_(scale)
    inputs, labels = images_to_tensor(images, channels_last=True), torch.from_numpy(targets) / scale

    def batch_loss(batch: torch.Tensor) -> torch.Tensor:
        batch_images, batch_labels = inputs[batch], labels[batch]
        if fit.augment:
            batch_images, batch_labels = mirror_lanes(batch_images, batch_labels, generator)
            batch_images = augment_appearance(batch_images, generator).clamp_(-1.0, 1.0)
        return nn.functional.smooth_l1_loss(model(batch_images), batch_labels)

    run_epochs(model, batch_loss, len(images), fit.epochs, fit.batch_size, schedule, generator, fit.on_epoch)
    return float(np.median(np.abs(model.estimate_frames(images)[:, 0] - targets[:, 0])))


def pretrain_lane_regressor(
    model: LaneRegressor,
    make_env: Callable[[str | None], gym.Env],
    oracle: Callable[[Any], np.ndarray],
    randomization: str | None,
    frames: int,
    fit: FitSettings,
) -> dict[str, float]:
    """Train ``model`` on ``frames`` labelled frames of the training domain ``randomization`` (``make_env(domain)``
    builds the policy's raw env; the canonical share of :func:`~simreal.perception.pretraining.training_frames`),
    collected with seed ``fit.seed``; returns the training-set median offset error (m)."""
    images, targets = training_frames(make_env, oracle, randomization, frames, fit.seed, LANE_COLLECTION)
    return {"median_offset_error_m": train_lane_regressor(model, images[model.image_key], targets, fit)}


class LanePerception(VecEnvWrapper):
    """Replace the camera image by the frozen regressor's per-frame ``lane_estimate`` ``(7,)``; other keys (the
    state, an action history) pass through. A finished episode's ``terminal_observation`` is transformed too, so
    PPO bootstraps truncated episodes from the kind of observation it acts on."""

    def __init__(self, venv: VecEnv, regressor: LaneRegressor) -> None:
        space = venv.observation_space
        if not isinstance(space, gym.spaces.Dict) or regressor.image_key not in space.spaces:
            raise ValueError(f"LanePerception: the observations lack the regressor's image key {regressor.image_key!r}")
        self._kept = [k for k in space.spaces if k != regressor.image_key]
        lane = gym.spaces.Box(-np.inf, np.inf, (LANE_OUTPUTS,), np.float32)
        super().__init__(venv, observation_space=gym.spaces.Dict({LANE_KEY: lane, **{k: space[k] for k in self._kept}}))
        self.regressor = regressor.eval().requires_grad_(False)

    def _observation(self, observations: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        lane = self.regressor.estimate_frames(np.asarray(observations[self.regressor.image_key]))
        return {LANE_KEY: lane, **{k: observations[k] for k in self._kept}}

    def reset(self) -> VecEnvObs:
        observations = self.venv.reset()
        assert isinstance(observations, dict)
        return self._observation(observations)

    def step_wait(self) -> VecEnvStepReturn:
        observations, rewards, dones, infos = self.venv.step_wait()
        assert isinstance(observations, dict)
        for i, info in enumerate(infos):
            terminal = info.get("terminal_observation") if dones[i] else None
            if terminal is not None:
                batch = self._observation({k: np.asarray(v)[None] for k, v in terminal.items()})
                infos[i] = {**info, "terminal_observation": {k: v[0] for k, v in batch.items()}}
        return self._observation(observations), rewards, dones, infos


def load_lane_perception(venv: VecEnv, encoder: str | Path, settings: dict[str, Any]) -> LanePerception:
    """Wrap ``venv`` with the regressor saved in ``encoder`` (``settings``: its ``channels``)."""
    regressor = LaneRegressor(venv.observation_space, **settings)
    load_weights(regressor, encoder, freeze=True)
    return LanePerception(venv, regressor)
