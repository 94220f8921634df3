"""LanePerception: a lane-geometry regressor from the onboard camera, frozen outside a small driving policy."""

from __future__ import annotations

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
from simreal.perception.lane_perception import (
    LANE_KEY,
    LanePerception,
    LaneRegressor,
    lane_targets,
    mirror_lanes,
    train_lane_regressor,
)
from simreal.perception.training import FitSettings

DRIVE = "simreal/LaneFollow-v0"
ENV_KWARGS = {"obs_mode": "pixels_state", "image_size": 32, "target_distance": 3.0}  # short episodes


def _env(**kwargs: object) -> gym.Env:
    return gym.make(DRIVE, max_episode_steps=20, **{**ENV_KWARGS, **kwargs})


def _venv(n: int = 2) -> DummyVecEnv:
    venv = DummyVecEnv([_env] * n)
    venv.seed(0)
    return venv


def test_targets_are_the_state_observations_lane_geometry() -> None:
    pixels, state = _env(), _env(obs_mode="state")
    pixels.reset(seed=3)
    obs, _ = state.reset(seed=3)
    np.testing.assert_allclose(lane_targets(pixels), obs[:7], atol=1e-6)
    with pytest.raises(ValueError, match="lane_state"):
        lane_targets(gym.make("simreal/Reach-v0"))


def test_regressor_needs_one_camera_image_of_a_multiple_of_16() -> None:
    two = gym.make("simreal/Reach-v0", obs_mode="pixels_state", cameras=["top", "side"], image_size=32)
    with pytest.raises(ValueError, match="exactly one camera image"):
        LaneRegressor(two.observation_space)
    with pytest.raises(ValueError, match="multiple of 16"):
        LaneRegressor(_env(image_size=24).observation_space)
    with pytest.raises(ValueError, match="Dict observations"):
        LaneRegressor(_env(obs_mode="state").observation_space)


def test_mirror_flips_the_image_and_negates_every_label_together() -> None:
    images = torch.arange(2 * 3 * 4 * 4, dtype=torch.float32).view(2, 3, 4, 4)
    labels = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    flipped_any = False
    for seed in range(8):
        out_images, out_labels = mirror_lanes(images, labels, torch.Generator().manual_seed(seed))
        for i in range(2):
            flipped = bool(torch.equal(out_images[i], images[i].flip(2)))
            assert flipped or torch.equal(out_images[i], images[i])
            assert torch.equal(out_labels[i], -labels[i] if flipped else labels[i])
            flipped_any |= flipped
    assert flipped_any


def test_training_learns_the_offset_from_pixels_and_is_deterministic() -> None:
    env = _env()
    rng = np.random.default_rng(0)
    images, targets = [], []
    obs, _ = env.reset(seed=0)
    for i in range(256):  # random steering: offsets of both signs
        images.append(obs["pixels"])
        targets.append(lane_targets(env))
        obs, _, terminated, truncated, _ = env.step(np.array([rng.uniform(-1, 1), 0.5], dtype=np.float32))
        if terminated or truncated or i % 16 == 15:
            obs, _ = env.reset(seed=int(rng.integers(1000)))
    x, y = np.stack(images), np.stack(targets)
    results = []
    for _ in range(2):
        model = LaneRegressor(env.observation_space, channels=8)
        error = train_lane_regressor(model, x, y, FitSettings(30, seed=1, augment=False))
        results.append((error, model.estimate_frames(x)))
    assert results[0][0] == results[1][0]
    np.testing.assert_array_equal(results[0][1], results[1][1])
    spread = float(np.median(np.abs(y[:, 0] - np.median(y[:, 0]))))
    assert results[0][0] < 0.5 * spread  # well below predicting the median offset
    with pytest.raises(ValueError, match="targets must have shape"):
        train_lane_regressor(model, x, y[:, :2], FitSettings(1, seed=0))


def test_observations_are_the_lane_estimate_and_the_rest() -> None:
    venv = _venv()
    torch.manual_seed(0)
    wrapper = LanePerception(venv, LaneRegressor(venv.observation_space, channels=4))
    obs = wrapper.reset()
    assert set(obs) == {LANE_KEY, "state"} == set(wrapper.observation_space.spaces)
    assert obs[LANE_KEY].shape == (2, 7) and obs[LANE_KEY].dtype == np.float32
    venv.seed(0)
    raw = venv.reset()  # the same first frames again
    np.testing.assert_array_equal(obs[LANE_KEY], wrapper.regressor.estimate_frames(raw["pixels"]))
    np.testing.assert_array_equal(obs["state"], raw["state"])
    for _ in range(25):  # past the 20-step limit: terminal observations are transformed too
        obs, _, dones, infos = wrapper.step(np.zeros((2, 2), dtype=np.float32))
        if dones.any():
            terminal = infos[int(np.argmax(dones))]["terminal_observation"]
            assert set(terminal) == {LANE_KEY, "state"} and terminal[LANE_KEY].shape == (7,)
            break
    else:
        pytest.fail("no episode ended")


def _config(tmp_path: Path, lane: str, pretrain: bool = True, goal: bool = False) -> Path:
    path = tmp_path / "ppo.yml"
    path.write_text(
        f"""{DRIVE}:
  policy: MultiInputPolicy
  n_envs: 2
  n_steps: 32
  batch_size: 32
  n_epochs: 1
  normalize: "dict(norm_obs_keys=['state', 'lane_estimate'])"
{'  pretrain_encoder: "dict(frames=64, epochs=1)"' if pretrain else ""}
{'  goal_perception: "dict(layers=1)"' if goal else ""}
  lane_perception: "{lane}"
  env_kwargs: {json.dumps({**ENV_KWARGS, "max_episode_steps": 40})}
"""
    )
    return path


@pytest.mark.parametrize(
    ("lane", "pretrain", "goal", "message"),
    [
        ("dict(channels=8)", False, False, "go together"),
        ("dict(channels=8)", True, True, "exclude each other"),
        ("dict(channels=2)", True, False, "channels must be an int in"),
        ("dict(layers=2)", True, False, "expected dict"),
    ],
)
def test_bad_lane_perception_settings_raise(
    tmp_path: Path, lane: str, pretrain: bool, goal: bool, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        load_hyperparams("ppo", DRIVE, _config(tmp_path, lane, pretrain, goal))


def test_train_and_evaluate_run_the_policy_on_the_perceived_lane(tmp_path: Path) -> None:
    out = train(RunConfig(
        env_id=DRIVE, algo="ppo", randomization="train", timesteps=64, seed=0, out_dir=tmp_path / "run",
        config_path=_config(tmp_path, "dict(channels=8)"), eval_episodes=2, progress_bar=False,
    ))  # fmt: skip
    assert "median_offset_error_m" in torch.load(out / ENCODER, weights_only=True)["info"]
    from stable_baselines3 import PPO

    policy = PPO.load(out / "model.zip", device="cpu").policy
    assert set(policy.observation_space.spaces) == {LANE_KEY, "state"}
    assert not any(isinstance(m, LaneRegressor) for m in policy.modules())
    (out / ENCODER).rename(out / "moved.pt")
    settings = EvalConfig(domains=("canonical", "real:0"), episodes=2, gif_frames=0)
    with pytest.raises(Exception, match="perception module"):
        evaluate(out, settings, workers=1)
    (out / "moved.pt").rename(out / ENCODER)
    results = load_results(evaluate(out, settings, workers=1))
    assert [d.domain for d in results.domains] == ["canonical", "real:0"]
    assert all(len(d.successes) == 2 for d in results.domains)
