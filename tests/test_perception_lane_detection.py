"""Calibrated lane detection: anchor-row columns of the centre line, lifted to the road with the car's camera."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3.common.vec_env import DummyVecEnv

from simreal.agents.evaluate import evaluate
from simreal.agents.hyperparams import load_hyperparams
from simreal.agents.results import load_results
from simreal.agents.run_config import EvalConfig, RunConfig
from simreal.agents.train import ENCODER, train
from simreal.envs.camera import CameraModel, camera_model
from simreal.perception.lane_detection import (
    ANCHOR_ROWS,
    LANE_POINTS_KEY,
    LOOK_X,
    CalibratedLanePerception,
    LaneRowDetector,
    anchor_rows,
    lane_points_truth,
    lane_row_targets,
    lift_lane_rows,
    train_lane_detector,
)
from simreal.perception.training import FitSettings

DRIVE = "simreal/LaneFollow-v0"
ENV_KWARGS = {"obs_mode": "pixels_state", "image_size": 32, "target_distance": 3.0}
ANCHORS = len(ANCHOR_ROWS)
MOUNT = {"visual": {"camera": {"names": ["*"], "pos_jitter": {"type": "uniform", "low": -0.08, "high": 0.08},
                               "rot_jitter_deg": {"type": "uniform", "low": -6.0, "high": 6.0},
                               "fovy_jitter": {"type": "uniform", "low": -10.0, "high": 10.0}}}}  # fmt: skip


def _env(**kwargs: object) -> gym.Env:
    return gym.make(DRIVE, max_episode_steps=20, **{**ENV_KWARGS, **kwargs})


def _drive(env: gym.Env, steps: int, rng: np.random.Generator) -> None:
    for _ in range(steps):
        env.step(np.array([rng.uniform(-0.6, 0.6), 0.5], dtype=np.float32))


def test_the_vehicle_camera_is_the_rendered_camera_seen_from_the_car_and_follows_a_re_mount() -> None:
    env = _env(image_size=64, randomization=MOUNT)
    rng = np.random.default_rng(0)
    mounts = []
    for episode in range(2):
        env.reset(seed=episode)
        _drive(env, 5, rng)
        car = env.unwrapped
        calibration = car.vehicle_camera()
        mounts.append(calibration.world_to_camera)
        world = camera_model(car.model, car.data, "onboard", 64, 64)
        state = car.task_state()
        yaw = float(state["car_yaw"][0])
        local = np.array([[3.0, 0.5, 0.0], [1.0, -0.3, 0.0], [6.0, 1.0, 0.2]])
        rotation = np.array([[np.cos(yaw), -np.sin(yaw), 0.0], [np.sin(yaw), np.cos(yaw), 0.0], [0.0, 0.0, 1.0]])
        ground = np.array([*state["car_pos"][:2], 0.0])
        expected, _ = world.project(local @ rotation.T + ground)
        pixels, _ = calibration.project(local)
        assert calibration.width == calibration.height == 64
        np.testing.assert_allclose(pixels, expected, atol=0.5)  # the chassis's pitch and roll while driving
    assert not np.allclose(mounts[0], mounts[1], atol=1e-3)  # the randomization re-mounted the camera


def test_labels_lifted_with_the_calibration_are_the_lane_ahead() -> None:
    env = _env(image_size=64, randomization=MOUNT)
    rng = np.random.default_rng(1)
    for episode in range(3):
        env.reset(seed=10 + episode)
        _drive(env, 4, rng)
        labels = lane_row_targets(env)
        assert labels.shape == (2 * ANCHORS,) and labels.dtype == np.float32
        columns, inside = labels[:ANCHORS], labels[ANCHORS:]
        assert set(np.unique(inside)) <= {0.0, 1.0}
        np.testing.assert_array_equal(inside == 1.0, (columns >= 0) & (columns <= 64))
        lifted = lift_lane_rows(columns[None], inside[None], [env.unwrapped.vehicle_camera()])[0]
        truth = lane_points_truth(env)
        assert lifted.shape == truth.shape == (len(LOOK_X),)
        np.testing.assert_allclose(lifted[:3], truth[:3], atol=0.06)  # 1-3 m ahead: the fit's and the pitch's error
    with pytest.raises(ValueError, match="driving env"):
        lane_row_targets(gym.make("simreal/Reach-v0"))


def test_lifting_a_straight_lane_gives_its_offset_and_degenerate_frames_give_zeros() -> None:
    env = _env(image_size=64)
    env.reset(seed=0)
    camera = env.unwrapped.vehicle_camera()
    x = np.linspace(0.5, 9.0, 200)
    pixels, _ = camera.project(np.column_stack([x, np.full_like(x, 0.4), np.full_like(x, 0.005)]))
    rows = anchor_rows(64)
    columns = np.interp(rows, pixels[::-1, 1], pixels[::-1, 0])  # rows grow towards the car
    points = lift_lane_rows(columns[None], np.ones((1, ANCHORS)), [camera])
    np.testing.assert_allclose(points, 0.4, atol=0.01)
    above_horizon = np.full((1, ANCHORS), 32.0)
    high = camera.intrinsics[1, 2] - 40.0  # rays pointing up never reach the road: nothing to fit
    no_road = lift_lane_rows(above_horizon, np.ones((1, ANCHORS)), [_at_row(camera, high)])
    np.testing.assert_array_equal(no_road, np.zeros((1, len(LOOK_X)), np.float32))
    far = lift_lane_rows(np.array([[1e6] * ANCHORS]), np.ones((1, ANCHORS)), [camera])
    assert np.all(np.abs(far) <= 5.0)  # clipped to LATERAL_LIMIT
    with pytest.raises(ValueError, match="do not match"):
        lift_lane_rows(columns[None], np.ones((1, ANCHORS)), [camera, camera])


def _at_row(camera: CameraModel, centre_row: float) -> CameraModel:
    """``camera`` with its principal point moved so that every anchor row looks above the horizon."""
    intrinsics = camera.intrinsics.copy()
    intrinsics[1, 2] = centre_row + 200.0
    return dataclasses.replace(camera, intrinsics=intrinsics)


def _frames(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, gym.Env]:
    env = _env()
    rng = np.random.default_rng(seed)
    images, targets = [], []
    obs, _ = env.reset(seed=seed)
    for i in range(n):
        images.append(obs["pixels"])
        targets.append(lane_row_targets(env))
        obs, _, terminated, truncated, _ = env.step(np.array([rng.uniform(-1, 1), 0.5], dtype=np.float32))
        if terminated or truncated or i % 16 == 15:
            obs, _ = env.reset(seed=int(rng.integers(1000)))
    return np.stack(images), np.stack(targets), env


def test_training_learns_the_columns_and_is_deterministic() -> None:
    x, y, env = _frames(256, 0)
    results = []
    for _ in range(2):
        model = LaneRowDetector(env.observation_space, channels=8)
        error = train_lane_detector(model, x, y, FitSettings(30, seed=1, augment=False))
        results.append((error, *model.detect_frames(x)))
    assert results[0][0] == results[1][0]
    np.testing.assert_array_equal(results[0][1], results[1][1])
    seen = y[:, ANCHORS:] > 0.5
    spread = float(np.median(np.abs(y[:, :ANCHORS] - np.nanmedian(y[:, :ANCHORS], axis=0))[seen]))
    assert results[0][0] < 0.5 * spread  # well below predicting each row's median column
    assert np.all((results[0][2] >= 0) & (results[0][2] <= 1))
    with pytest.raises(ValueError, match="targets must have shape"):
        train_lane_detector(model, x, y[:, :ANCHORS], FitSettings(1, seed=0))


def test_observations_are_the_lifted_lane_points_and_each_episode_has_its_calibration() -> None:
    venv = DummyVecEnv([lambda: _env(randomization=MOUNT)] * 2)
    venv.seed(0)
    torch.manual_seed(0)
    wrapper = CalibratedLanePerception(venv, LaneRowDetector(venv.observation_space, channels=4))
    obs = wrapper.reset()
    assert set(obs) == {LANE_POINTS_KEY, "state"} == set(wrapper.observation_space.spaces)
    assert obs[LANE_POINTS_KEY].shape == (2, len(LOOK_X)) and obs[LANE_POINTS_KEY].dtype == np.float32
    venv.seed(0)
    raw = venv.reset()
    cameras = [env.unwrapped.vehicle_camera() for env in venv.envs]
    np.testing.assert_array_equal(
        obs[LANE_POINTS_KEY], lift_lane_rows(*wrapper.detector.detect_frames(raw["pixels"]), cameras)
    )
    first = wrapper.cameras[0].world_to_camera
    for _ in range(25):  # past the 20-step limit: terminal observations are lifted too, the calibration renewed
        obs, _, dones, infos = wrapper.step(np.zeros((2, 2), dtype=np.float32))
        if dones[0]:
            terminal = infos[0]["terminal_observation"]
            assert set(terminal) == {LANE_POINTS_KEY, "state"} and terminal[LANE_POINTS_KEY].shape == (len(LOOK_X),)
            assert not np.allclose(wrapper.cameras[0].world_to_camera, first, atol=1e-3)
            np.testing.assert_array_equal(
                wrapper.cameras[0].world_to_camera, venv.envs[0].unwrapped.vehicle_camera().world_to_camera
            )
            break
    else:
        pytest.fail("no episode ended")


def _config(tmp_path: Path, lane: str) -> Path:
    path = tmp_path / "ppo.yml"
    path.write_text(
        f"""{DRIVE}:
  policy: MultiInputPolicy
  n_envs: 2
  n_steps: 32
  batch_size: 32
  n_epochs: 1
  normalize: "dict(norm_obs_keys=['state', 'lane_points'])"
  pretrain_encoder: "dict(frames=64, epochs=1)"
  lane_perception: "{lane}"
  env_kwargs: {json.dumps({**ENV_KWARGS, "max_episode_steps": 40})}
"""
    )
    return path


def test_calibrated_must_be_0_or_1(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"calibrated must be an int in \[0, 1\]"):
        load_hyperparams("ppo", DRIVE, _config(tmp_path, "dict(calibrated=2)"))


def test_train_and_evaluate_run_the_policy_on_the_lifted_lane(tmp_path: Path) -> None:
    out = train(RunConfig(
        env_id=DRIVE, algo="ppo", randomization="train", timesteps=64, seed=0, out_dir=tmp_path / "run",
        config_path=_config(tmp_path, "dict(channels=8, calibrated=1)"), eval_episodes=2, progress_bar=False,
    ))  # fmt: skip
    assert "median_column_error_px" in torch.load(out / ENCODER, weights_only=True)["info"]
    from stable_baselines3 import PPO

    policy = PPO.load(out / "model.zip", device="cpu").policy
    assert set(policy.observation_space.spaces) == {LANE_POINTS_KEY, "state"}
    results = load_results(
        evaluate(out, EvalConfig(domains=("canonical", "real:0"), episodes=2, gif_frames=0), workers=1)
    )
    assert [d.domain for d in results.domains] == ["canonical", "real:0"]
    assert all(len(d.successes) == 2 for d in results.domains)
