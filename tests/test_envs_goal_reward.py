"""Goal envs (issue 13): the step reward is exactly ``compute_reward`` of the returned float32 goals, for every goal
env, reward type and domain, through the randomization wrapper too (HER relabels with ``compute_reward``)."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env

from simreal.randomization import Constant, ControlSpec, DomainRandomization, RandomizationSpec

GOAL_IDS = ("simreal/Reach-v0", "simreal/Push-v0", "simreal/PickPlace-v0")


def _mismatches(env: gym.Env, steps: int, seed: int = 0) -> list[tuple[int, float, float]]:
    """(step, reward, compute_reward) wherever they differ; ``compute_reward`` found as HER finds it."""
    compute_reward = env.get_wrapper_attr("compute_reward")
    rng = np.random.default_rng(seed)
    env.reset(seed=seed)
    bad = []
    for t in range(steps):
        obs, reward, terminated, truncated, info = env.step(rng.uniform(-1, 1, 4).astype(np.float32))
        expected = compute_reward(obs["achieved_goal"], obs["desired_goal"], info)
        assert np.shape(expected) == ()
        if reward != expected:
            bad.append((t, reward, float(expected)))
        if terminated or truncated:
            env.reset()
    return bad


@pytest.mark.parametrize("reward_type", ["dense", "sparse"])
@pytest.mark.parametrize("env_id", GOAL_IDS)
def test_sb3_check_env_passes_on_every_goal_env(env_id: str, reward_type: str) -> None:
    env = gym.make(env_id, goal_env=True, reward_type=reward_type)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(3):  # check_env samples its actions: repeat to cover more states
            check_env(env.unwrapped)
        gym_check_env(env.unwrapped, skip_render_check=True)
    # the whole gym.make stack (SB3's checker cannot see compute_reward through gymnasium>=1 wrappers; HER looks
    # it up with get_wrapper_attr, as _mismatches does)
    assert _mismatches(env, 60) == []


@pytest.mark.parametrize("domain", ["train", "test", "real"])
@pytest.mark.parametrize("env_id", GOAL_IDS)
def test_step_reward_is_compute_reward_in_every_domain(env_id: str, domain: str) -> None:
    for reward_type in ("dense", "sparse"):
        env = gym.make(env_id, goal_env=True, reward_type=reward_type, domain=domain)
        assert _mismatches(env, 60) == [], reward_type


def test_dense_step_reward_is_the_float32_goal_distance() -> None:
    env = gym.make("simreal/Push-v0", goal_env=True)
    obs, _ = env.reset(seed=3)
    obs, reward, *_ = env.step(np.ones(4, dtype=np.float32))
    distance = np.linalg.norm(obs["achieved_goal"][:2] - obs["desired_goal"][:2])  # Push: in the table plane
    assert distance.dtype == np.float32 and reward == -distance


@pytest.mark.parametrize("reward_type", ["dense", "sparse"])
def test_goal_reward_under_action_repeat_is_the_last_inner_reward(reward_type: str) -> None:
    spec = RandomizationSpec(control=ControlSpec(action_repeat=Constant(3.0)))
    env = DomainRandomization(gym.make("simreal/Reach-v0", goal_env=True, reward_type=reward_type).unwrapped, spec)
    assert _mismatches(env, 30) == []


def test_sparse_reward_and_success_agree_at_the_threshold() -> None:
    env = gym.make("simreal/Reach-v0", goal_env=True, reward_type="sparse", success_threshold=0.05).unwrapped
    goal = np.zeros(3, dtype=np.float32)
    at = np.array([np.float32(0.05), 0.0, 0.0], dtype=np.float32)  # distance == threshold in float32
    inside = np.nextafter(at, np.float32(0.0))
    assert env.compute_reward(at, goal, {}) == -1.0  # not a success (distance < threshold), so not rewarded
    assert env.compute_reward(inside, goal, {}) == 0.0
    batch = env.compute_reward(np.stack([at, inside]), np.stack([goal, goal]), [{}, {}])
    assert batch.shape == (2,) and batch[1] == 0.0
