"""Supervised pre-training of a pixel policy's goal perception on labelled synthetic frames.

Every simulated frame comes with its labels for free, so a pixel policy need not discover "where is the goal"
from reward alone: frames of the training env (same randomization, cameras and image size as the policy will
see) are collected under a noisy oracle, and the point detectors of a
:class:`~simreal.perception.goal_perception.GoalTriangulator` learn the goal's pixel in each camera. PPO then
learns the policy on the frozen detectors' triangulated goal plus proprioception. This is the modular recipe of
Tobin et al. (2017): the perception is trained with or without domain randomization exactly like the policy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from simreal.envs.config import check_int_range
from simreal.perception.detector import DetectorSettings, train_point_detector
from simreal.perception.goal_perception import GoalTriangulator
from simreal.perception.training import FitSettings

__all__ = [
    "CANONICAL_FRACTION",
    "Collection",
    "collect_labelled_frames",
    "goal_targets",
    "pretrain_detectors",
    "training_frames",
]

TARGET_KEYS = ("goal", "block_position")  # task_state() entries labelled, where the task has them (goal first)
ORACLE_NOISE = 0.4  # std of the Gaussian added to oracle actions, so frames cover off-path arm poses
# Clean (canonical) frames mixed into a randomized model's training set, a curriculum: from only randomized frames
# the localization CNN often sat at the mean prediction for its whole budget. Also the localization experiment's.
CANONICAL_FRACTION = 0.25
EPISODE_STEPS = 5  # frames per episode: many short episodes = many goals and randomizations (no memorising)


def goal_targets(env: gym.Env) -> np.ndarray:
    """The label of one arm frame: the ``TARGET_KEYS`` entries of ``task_state()`` the task has (goal first)."""
    state = env.unwrapped.task_state()  # type: ignore[attr-defined]
    return np.concatenate([np.asarray(state[k], dtype=np.float32).ravel() for k in TARGET_KEYS if k in state])


@dataclass(frozen=True)
class Collection:
    """How labelled frames are collected: ``targets(env)`` labels a frame, ``episode_steps`` frames per episode,
    ``noise`` the std of the Gaussian added to the oracle's actions."""

    targets: Callable[[gym.Env], np.ndarray] = goal_targets
    episode_steps: int = EPISODE_STEPS
    noise: float = ORACLE_NOISE


def collect_labelled_frames(
    env: gym.Env,
    oracle: Callable[[Any], np.ndarray],
    n: int,
    seed: int,
    collection: Collection = Collection(),
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """``n`` observations of a Dict-image env under a noisy ``oracle`` (a function of the unwrapped env, see
    :mod:`simreal.envs.oracles`) and the labels ``(n, T)`` of each frame (``collection``: what a label is, the
    frames per episode and the oracle's action noise; default: the arm's object positions).

    Returns ``({key: (n, ...)} for every observation key but the state: uint8 images and, with
    ``camera_projections``, the float32 projection matrices; targets float32)``; deterministic in ``seed``.
    """
    check_int_range("n", n, 1, 10**7)
    space = env.observation_space
    if not isinstance(space, gym.spaces.Dict):
        raise ValueError("env: encoder pre-training needs Dict observations (obs_mode='pixels_state')")
    keys = [k for k in space.spaces if k != "state"]
    rng = np.random.default_rng(seed)
    images = {k: np.empty((n, *(space[k].shape or ())), dtype=space[k].dtype) for k in keys}
    targets: list[np.ndarray] = []
    obs, _ = env.reset(seed=int(rng.integers(2**31 - 1)))
    for i in range(n):
        for k in keys:
            images[k][i] = obs[k]
        targets.append(collection.targets(env))
        action = oracle(env.unwrapped) + collection.noise * rng.standard_normal(env.action_space.shape)
        obs, _, terminated, truncated, _ = env.step(np.clip(action, -1.0, 1.0).astype(np.float32))
        if terminated or truncated or (i + 1) % collection.episode_steps == 0:
            obs, _ = env.reset(seed=int(rng.integers(2**31 - 1)))
    return images, np.stack(targets)


def training_frames(
    make_env: Callable[[str | None], gym.Env],
    oracle: Callable[[Any], np.ndarray],
    randomization: str | None,
    n: int,
    seed: int,
    collection: Collection = Collection(),
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Labelled frames for pre-training a run's encoder: ``n`` frames of its training domain (``make_env(domain)``
    builds the run's env for a domain, ``oracle`` drives it), of which ``CANONICAL_FRACTION`` are clean when the run
    is randomized (the curriculum that got the localization CNN off its mean-prediction plateau). Frames of the two
    parts are seeded by ``seed`` and ``seed + 1``."""
    randomized = randomization not in (None, "none", "canonical")
    clean = round(CANONICAL_FRACTION * n) if randomized else 0
    parts = []
    for domain, count, offset in ((randomization, n - clean, 0), (None, clean, 1)):
        if count:
            env = make_env(domain)
            try:
                parts.append(collect_labelled_frames(env, oracle, count, seed + offset, collection))
            finally:
                env.close()
    images = {k: np.concatenate([part[0][k] for part in parts]) for k in parts[0][0]}
    return images, np.concatenate([part[1] for part in parts])


def pretrain_detectors(
    extractor: GoalTriangulator,
    observations: dict[str, np.ndarray],
    targets: np.ndarray,
    epochs: int,
    seed: int,
) -> float:
    """Train ``extractor``'s point detector of each camera on the pixel where the first target object (the goal)
    projects, from frames collected by :func:`collect_labelled_frames` with ``camera_projections``; frames where
    it projects outside a camera's image are left out of that camera's set. No channel shuffling: the goal
    marker's colour is the same in every domain, and it is the cue that tells it from a distractor. Returns the
    median distance (metres) between the triangulated estimate and the truth on the training frames."""
    check_int_range("epochs", epochs, 1, 10_000)
    points = np.concatenate([targets[:, :3], np.ones((len(targets), 1))], axis=1).astype(np.float64)
    for index, key in enumerate(extractor.image_keys):
        images, projections = observations[key], observations[f"{key}_projection"].astype(np.float64)
        homogeneous = np.einsum("nij,nj->ni", projections, points)
        pixels = homogeneous[:, :2] / homogeneous[:, 2:]
        size = images.shape[1]
        inside = np.all((pixels >= 0) & (pixels <= size), axis=1) & (homogeneous[:, 2] > 0)
        config = extractor.detectors[key].config
        settings = DetectorSettings(config["channels"], config["layers"], shuffle_channels=False)
        detector = train_point_detector(images[inside], pixels[inside], FitSettings(epochs, seed + index), settings)
        extractor.detectors[key].load_state_dict(detector.state_dict())
    extractor.eval()
    estimates = extractor.estimate_frames(observations)
    return float(np.median(np.linalg.norm(estimates - targets[:, :3], axis=1)))
