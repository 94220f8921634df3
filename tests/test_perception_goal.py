"""GoalPerception: frozen detectors outside the policy, the goal estimate filtered over each episode."""

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
from simreal.perception.goal_perception import GOAL_KEY, GoalPerception, GoalTriangulator

REACH = "simreal/Reach-v0"
ENV_KWARGS = {"obs_mode": "pixels_state", "cameras": ["top", "side"], "image_size": 16, "camera_projections": True}


def _venv(n: int = 2, max_episode_steps: int = 50) -> DummyVecEnv:
    venv = DummyVecEnv([lambda: gym.make(REACH, max_episode_steps=max_episode_steps, **ENV_KWARGS)] * n)
    venv.seed(0)
    return venv


def _perception(venv: DummyVecEnv) -> tuple[GoalPerception, list[np.ndarray]]:
    torch.manual_seed(0)
    wrapper = GoalPerception(venv, GoalTriangulator(venv.observation_space, channels=4, layers=1))
    recorded: list[np.ndarray] = []
    estimates = wrapper.estimates

    def spy(observations: dict[str, np.ndarray]) -> np.ndarray:
        result = estimates(observations)
        recorded.append(result)
        return result

    wrapper.estimates = spy  # type: ignore[method-assign]
    return wrapper, recorded


def test_observations_are_the_goal_estimate_and_the_state() -> None:
    wrapper, _ = _perception(_venv())
    obs = wrapper.reset()
    assert set(obs) == {GOAL_KEY, "state"} == set(wrapper.observation_space.spaces)
    assert obs[GOAL_KEY].shape == (2, 3) and obs[GOAL_KEY].dtype == np.float32
    assert wrapper.observation_space[GOAL_KEY].shape == (3,)


def test_goal_is_the_running_median_of_the_episode_estimates() -> None:
    wrapper, recorded = _perception(_venv())
    obs = wrapper.reset()
    np.testing.assert_array_equal(obs[GOAL_KEY], recorded[0])
    for _ in range(4):
        obs, _, dones, _ = wrapper.step(np.zeros((2, 4), dtype=np.float32))
        assert not dones.any()
    expected = np.median(np.stack(recorded), axis=0)
    np.testing.assert_allclose(obs[GOAL_KEY], expected, rtol=1e-6)
    assert not np.allclose(recorded[0], recorded[-1])  # the arm moved: per-frame estimates differ


def test_history_restarts_at_an_episode_boundary_and_terminal_observation_is_transformed() -> None:
    wrapper, recorded = _perception(_venv(n=1, max_episode_steps=3))
    wrapper.reset()
    for _ in range(3):
        obs, _, dones, infos = wrapper.step(np.zeros((1, 4), dtype=np.float32))
    assert dones[0]
    # calls: reset, step 1, step 2, step 3 (the next episode's first frame), then the terminal frame
    assert len(recorded) == 5
    np.testing.assert_array_equal(obs[GOAL_KEY], recorded[3])  # the new episode's first frame only
    terminal = infos[0]["terminal_observation"]
    assert set(terminal) == {GOAL_KEY, "state"}
    episode = [recorded[0][0], recorded[1][0], recorded[2][0], recorded[4][0]]
    np.testing.assert_allclose(terminal[GOAL_KEY], np.median(episode, axis=0), rtol=1e-6)


def test_missing_projections_raise_naming_the_keys() -> None:
    kwargs = {**ENV_KWARGS, "camera_projections": False}
    venv = DummyVecEnv([lambda: gym.make(REACH, **kwargs)])
    with_projections = _venv(n=1).observation_space
    with pytest.raises(ValueError, match="top_projection"):
        GoalPerception(venv, GoalTriangulator(with_projections, channels=4, layers=1))


def _config(tmp_path: Path, perception: str, pretrain: bool = True) -> Path:
    path = tmp_path / "ppo.yml"
    path.write_text(
        f"""{REACH}:
  policy: MultiInputPolicy
  n_envs: 2
  n_steps: 32
  batch_size: 32
  n_epochs: 1
  normalize: "dict(norm_obs_keys=['state', 'goal_estimate'])"
{'  pretrain_encoder: "dict(frames=64, epochs=1)"' if pretrain else ""}
  goal_perception: "{perception}"
  env_kwargs: {json.dumps(ENV_KWARGS)}
"""
    )
    return path


@pytest.mark.parametrize(
    ("perception", "pretrain", "message"),
    [
        ("dict(layers=2)", False, "go together"),
        ("dict(layers=9)", True, "layers must be an int in"),
        ("dict(depth=2)", True, "expected dict"),
    ],
)
def test_bad_goal_perception_settings_raise(tmp_path: Path, perception: str, pretrain: bool, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_hyperparams("ppo", REACH, _config(tmp_path, perception, pretrain))


def test_train_and_evaluate_run_the_policy_on_the_perceived_goal(tmp_path: Path) -> None:
    config = _config(tmp_path, "dict(channels=8, layers=1)")
    out = train(RunConfig(
        env_id=REACH, algo="ppo", randomization="train", timesteps=64, seed=0, out_dir=tmp_path / "run",
        config_path=config, progress_bar=False,
    ))  # fmt: skip
    assert "median_error_m" in torch.load(out / ENCODER, weights_only=True)["info"]
    from stable_baselines3 import PPO

    policy = PPO.load(out / "model.zip", device="cpu").policy
    assert set(policy.observation_space.spaces) == {GOAL_KEY, "state"}
    assert not any(isinstance(m, GoalTriangulator) for m in policy.modules())
    settings = EvalConfig(domains=("canonical", "real:0"), episodes=2, gif_frames=0)
    results = load_results(evaluate(out, settings, workers=1))
    assert [d.domain for d in results.domains] == ["canonical", "real:0"]
    assert all(len(d.successes) == 2 for d in results.domains)
