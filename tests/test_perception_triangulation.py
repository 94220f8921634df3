"""Calibrated-camera perception for pixel policies: env projections, triangulation, detector pre-training."""

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

from simreal.envs.camera import camera_model
from simreal.envs.oracles import oracle_for
from simreal.perception.goal_perception import GoalTriangulator
from simreal.perception.images import images_to_tensor
from simreal.perception.pretraining import collect_labelled_frames, pretrain_detectors
from simreal.perception.triangulation import triangulate

REACH = "simreal/Reach-v0"


def _env(size: int = 32, **kwargs: object) -> gym.Env:
    return gym.make(REACH, obs_mode="pixels_state", cameras=("front", "side"), image_size=size, **kwargs)


def test_projections_follow_the_randomized_cameras() -> None:
    env = _env(camera_projections=True, domain="real")
    obs, _ = env.reset(seed=4)
    assert obs["front_projection"].shape == (3, 4) and obs["front_projection"].dtype == np.float32
    base = env.unwrapped
    for key in ("front", "side"):  # the observed matrix is the camera as moved by the randomization
        camera = camera_model(base.model, base.data, key, 32, 32)
        expected = camera.intrinsics @ camera.world_to_camera[:3]
        np.testing.assert_allclose(obs[f"{key}_projection"], expected, rtol=1e-5, atol=1e-4)
    nominal, _ = _env(camera_projections=True).reset(seed=4)
    assert not np.allclose(obs["front_projection"], nominal["front_projection"], atol=1e-2)
    with pytest.raises(ValueError, match="camera_projections needs obs_mode='pixels_state'"):
        gym.make(REACH, obs_mode="pixels", camera_projections=True)


def test_triangulation_recovers_points_from_exact_pixels() -> None:
    env = _env(camera_projections=True, domain="train")
    rng = np.random.default_rng(0)
    points, pixels, projections = [], [], []
    for seed in range(4):
        obs, _ = env.reset(seed=seed)
        point = rng.uniform([-0.1, -0.15, 0.05], [0.15, 0.15, 0.3])
        views = np.stack([obs["front_projection"], obs["side_projection"]]).astype(np.float64)
        homogeneous = views @ np.append(point, 1.0)
        points.append(point)
        pixels.append(homogeneous[:, :2] / homogeneous[:, 2:])
        projections.append(views)
    estimate = triangulate(torch.tensor(np.stack(pixels)), torch.tensor(np.stack(projections)))
    np.testing.assert_allclose(estimate.numpy(), np.stack(points), atol=1e-6)


def test_triangulator_checks_its_space_and_estimates_from_raw_frames() -> None:
    with pytest.raises(ValueError, match="missing"):
        GoalTriangulator(_env(16).observation_space)
    with pytest.raises(ValueError, match="Dict observations"):
        GoalTriangulator(gym.make(REACH).observation_space)
    env = _env(16, camera_projections=True)
    torch.manual_seed(0)
    triangulator = GoalTriangulator(env.observation_space, channels=4, layers=1)
    obs, _ = env.reset(seed=0)
    frames = {k: np.asarray(v)[None] for k, v in obs.items()}
    estimate = triangulator.estimate_frames(frames)
    assert estimate.shape == (1, 3) and estimate.dtype == np.float32 and np.all(np.isfinite(estimate))
    batch = {k: torch.from_numpy(np.asarray(v))[None].float() for k, v in obs.items()}
    for key in ("front", "side"):  # uint8 HWC -> float CHW in [-1, 1]
        batch[key] = images_to_tensor(frames[key])
    torch.testing.assert_close(torch.from_numpy(estimate), triangulator.estimate(batch))


def test_pretrained_detectors_triangulate_the_goal(tmp_path: Path) -> None:
    env = _env(camera_projections=True)
    observations, targets = collect_labelled_frames(env, oracle_for(REACH), 600, seed=0)
    assert observations["front_projection"].shape == (600, 3, 4)
    extractor = GoalTriangulator(env.observation_space, channels=16, layers=2)
    spread = float(np.median(np.linalg.norm(targets - targets.mean(axis=0), axis=1)))
    error = pretrain_detectors(extractor, observations, targets, epochs=6, seed=0)
    assert error < 0.3 * spread  # median triangulation error well below the goal's spread
