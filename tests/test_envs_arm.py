"""Behaviour of the arm tasks: spaces, API checks, determinism, oracles, bad input, physics errors."""

from __future__ import annotations

import gymnasium as gym
import mujoco
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

from simreal.envs.arm.base_task import MAX_DELTA
from simreal.envs.oracles import oracle_for

ARM_IDS = ["simreal/Reach-v0", "simreal/Push-v0", "simreal/PickPlace-v0"]
OBS_MODES = ["state", "pixels", "pixels_state"]


@pytest.mark.parametrize("env_id", ARM_IDS)
@pytest.mark.parametrize("obs_mode", OBS_MODES)
def test_check_env_gymnasium_and_sb3(env_id: str, obs_mode: str) -> None:
    env = gym.make(env_id, obs_mode=obs_mode, image_size=32)
    check_env(env.unwrapped, skip_render_check=True)
    sb3_check_env(env.unwrapped, warn=False)
    env.close()


@pytest.mark.parametrize("env_id", ARM_IDS)
def test_goal_env_dict_and_vectorised_compute_reward(env_id: str) -> None:
    env = gym.make(env_id, goal_env=True, reward_type="sparse")
    check_env(env.unwrapped, skip_render_check=True)
    obs, _ = env.reset(seed=3)
    assert set(obs) == {"observation", "achieved_goal", "desired_goal"}
    _, _, _, _, info = env.step(env.action_space.sample())
    recomputed = env.unwrapped.compute_reward(obs["achieved_goal"], obs["desired_goal"], info)
    assert recomputed in (0.0, -1.0)
    achieved = np.zeros((5, 3))
    desired = np.zeros((5, 3))
    desired[2] = (0.5, 0.0, 0.0)
    rewards = env.unwrapped.compute_reward(achieved, desired, [info] * 5)
    np.testing.assert_array_equal(rewards, [0, 0, -1, 0, 0])


def test_step_reward_matches_compute_reward_in_goal_env() -> None:
    env = gym.make("simreal/Reach-v0", goal_env=True)
    env.reset(seed=0)
    for _ in range(5):
        obs, reward, *_, info = env.step(env.action_space.sample())
        expected = env.unwrapped.compute_reward(obs["achieved_goal"], obs["desired_goal"], info)
        assert reward == pytest.approx(float(expected), abs=1e-6)


def test_multiple_cameras_give_one_image_per_camera() -> None:
    env = gym.make("simreal/Push-v0", obs_mode="pixels_state", cameras=("front", "top"), image_size=24)
    obs, _ = env.reset(seed=0)
    assert set(obs) == {"front", "top", "state"}
    assert obs["front"].shape == (24, 24, 3) and obs["front"].dtype == np.uint8
    assert not np.array_equal(obs["front"], obs["top"])


def _rollout(env_id: str, seed: int, steps: int = 8, **kwargs) -> list:
    env = gym.make(env_id, **kwargs)
    env.action_space.seed(seed)
    obs, _ = env.reset(seed=seed)
    observations = [obs]
    for _ in range(steps):
        obs, *_ = env.step(env.action_space.sample())
        observations.append(obs)
    env.close()
    return observations


@pytest.mark.parametrize("env_id", ARM_IDS)
def test_same_seed_gives_bit_identical_pixels(env_id: str) -> None:
    first = _rollout(env_id, seed=11, obs_mode="pixels", image_size=32)
    second = _rollout(env_id, seed=11, obs_mode="pixels", image_size=32)
    other = _rollout(env_id, seed=12, obs_mode="pixels", image_size=32)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not all(np.array_equal(a, b) for a, b in zip(first, other, strict=True))


def test_observations_do_not_share_memory_between_steps() -> None:
    env = gym.make("simreal/Push-v0", obs_mode="pixels_state", image_size=16)
    first, _ = env.reset(seed=0)
    second, *_ = env.step(env.action_space.sample())
    for key in first:
        assert not np.shares_memory(first[key], second[key])
    state_env = gym.make("simreal/Reach-v0")
    a, _ = state_env.reset(seed=0)
    b, *_ = state_env.step(state_env.action_space.sample())
    assert not np.shares_memory(a, b)


@pytest.mark.parametrize("env_id", ARM_IDS)
def test_oracle_succeeds_on_95_percent_of_50_seeded_episodes(env_id: str) -> None:
    env = gym.make(env_id)
    oracle = oracle_for(env_id)
    successes = []
    for seed in range(50):
        env.reset(seed=seed)
        done = False
        while not done:
            _, _, terminated, truncated, info = env.step(oracle(env))
            done = terminated or truncated
        successes.append(info["is_success"])
    assert np.mean(successes) >= 0.95


@pytest.mark.parametrize("env_id", ["simreal/Reach-v0", "simreal/Push-v0"])
@pytest.mark.parametrize("threshold", [0.03, 0.05])
def test_goal_marker_radius_is_the_success_threshold(env_id: str, threshold: float) -> None:
    env = gym.make(env_id, success_threshold=threshold)
    model = env.unwrapped.model
    assert model.geom("goal_marker").size[0] == pytest.approx(threshold)


def test_info_has_success_reward_terms_and_distances() -> None:
    env = gym.make("simreal/Push-v0")
    env.reset(seed=0)
    _, reward, _, _, info = env.step(np.zeros(4, dtype=np.float32))
    assert isinstance(info["is_success"], bool)
    assert reward == pytest.approx(info["reward_goal"] + info["reward_reach"])
    assert info["goal_distance"] >= 0 and info["gripper_to_block"] >= 0


def test_sparse_reward_is_minus_one_until_success() -> None:
    env = gym.make("simreal/Reach-v0", reward_type="sparse")
    env.reset(seed=0)
    _, reward, _, _, info = env.step(np.zeros(4, dtype=np.float32))
    assert reward == (0.0 if info["is_success"] else -1.0)


def test_action_moves_the_gripper_by_at_most_max_delta_per_step() -> None:
    env = gym.make("simreal/Reach-v0").unwrapped
    env.reset(seed=0)
    start = env.ee_position
    for _ in range(5):
        env.step(np.array([1.0, 0.0, 0.0, 0.0], dtype=np.float32))
    moved = env.ee_position - start
    assert 0.1 < moved[0] <= 5 * MAX_DELTA + 1e-3
    assert abs(moved[1]) < 0.01 and abs(moved[2]) < 0.01


def test_out_of_range_actions_are_clipped() -> None:
    a = gym.make("simreal/Reach-v0")
    b = gym.make("simreal/Reach-v0")
    obs_a, _ = a.reset(seed=5)
    obs_b, _ = b.reset(seed=5)
    obs_a, *_ = a.step(np.array([7.0, -3.0, 2.0, 9.0], dtype=np.float32))
    obs_b, *_ = b.step(np.array([1.0, -1.0, 1.0, 1.0], dtype=np.float32))
    np.testing.assert_array_equal(obs_a, obs_b)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_actions_raise(bad: float) -> None:
    env = gym.make("simreal/Reach-v0").unwrapped
    env.reset(seed=0)
    with pytest.raises(ValueError, match="finite"):
        env.step(np.array([0.0, bad, 0.0, 0.0]))


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"obs_mod": "state"}, "unknown argument"),
        ({"obs_mode": "rgb"}, "obs_mode"),
        ({"image_size": 4}, "image_size"),
        ({"image_size": 64.0}, "image_size"),
        ({"reward_type": "shaped"}, "reward_type"),
        ({"render_mode": "human"}, "render_mode"),
        ({"render_quality": "ultra"}, "render_quality"),
        ({"cameras": ("front", "nope")}, "cameras"),
        ({"goal_env": True, "obs_mode": "pixels"}, "goal_env"),
    ],
)
def test_bad_kwargs_raise_value_error_naming_the_argument(kwargs: dict, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        gym.make("simreal/Reach-v0", **kwargs)


def test_wrong_action_shape_raises() -> None:
    env = gym.make("simreal/Reach-v0").unwrapped
    env.reset(seed=0)
    with pytest.raises(ValueError, match="shape"):
        env.step(np.zeros(3))


def test_physics_instability_truncates_with_physics_error() -> None:
    env = gym.make("simreal/Push-v0").unwrapped
    env.reset(seed=0)
    env.data.qvel[:] = 1e12  # an exploding state
    obs, _, terminated, truncated, info = env.step(np.zeros(4, dtype=np.float32))
    assert truncated and not terminated
    assert "physics_error" in info
    assert np.all(np.isfinite(obs))


def test_physics_error_names_the_first_fatal_warning_or_the_non_finite_state() -> None:
    env = gym.make("simreal/Reach-v0").unwrapped
    env.reset(seed=0)
    assert env._physics_error() == ""
    env.data.warning[mujoco.mjtWarning.mjWARN_INERTIA].number = 3  # not fatal
    assert env._physics_error() == ""
    env.data.warning[mujoco.mjtWarning.mjWARN_BADCTRL].number = 1
    env.data.warning[mujoco.mjtWarning.mjWARN_BADQVEL].number = 2
    assert env._physics_error().startswith("MuJoCo warning mjWARN_BADQVEL at t=")  # BADQVEL comes first
    env.data.warning[mujoco.mjtWarning.mjWARN_BADQVEL].number = 0
    assert env._physics_error().startswith("MuJoCo warning mjWARN_BADCTRL")
    env.data.warning[mujoco.mjtWarning.mjWARN_BADCTRL].number = 0
    env.data.qvel[0] = np.nan
    assert env._physics_error().startswith("non-finite state at t=")


def test_render_modes_rgb_and_depth() -> None:
    rgb = gym.make("simreal/Reach-v0", render_mode="rgb_array", render_size=48, render_quality="fast")
    rgb.reset(seed=0)
    frame = rgb.render()
    assert frame.shape == (48, 48, 3) and frame.dtype == np.uint8 and frame.std() > 5
    depth = gym.make("simreal/Reach-v0", render_mode="depth_array", render_size=48, render_quality="fast")
    depth.reset(seed=0)
    metres = depth.render()
    assert metres.shape == (48, 48) and metres.dtype == np.float32
    assert 0.3 < metres.min() < 2.0  # the nearest surface is about a metre away
    assert np.isfinite(metres).all() and metres.max() > 2.0  # the sky is at the far plane


def test_max_episode_steps_truncates() -> None:
    env = gym.make("simreal/Reach-v0", max_episode_steps=3)
    env.reset(seed=0)
    flags = [env.step(env.action_space.sample())[3] for _ in range(3)]
    assert flags == [False, False, True]


@pytest.mark.parametrize("env_id", ARM_IDS)
def test_pixels_state_gives_proprioception_only(env_id: str) -> None:
    env = gym.make(env_id, obs_mode="pixels_state", image_size=16)
    obs, _ = env.reset(seed=3)
    assert env.observation_space["state"].shape == (7,)  # gripper position, velocity, opening
    state = env.unwrapped.task_state()
    np.testing.assert_allclose(obs["state"][:3], state["ee_position"], atol=1e-6)
    assert not np.isclose(obs["state"][:, None], state["goal"][None, :], atol=1e-4).any()  # the goal is only seen
