"""HistoryWrapper: spaces, layout of the stacked history, reset semantics, Dict observations, bad input."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import simreal  # noqa: F401  (registers the ids)
from simreal.agents.history import ACTION_KEY, HistoryWrapper

REACH = "simreal/Reach-v0"


def test_box_layout_newest_first_and_reset_semantics():
    inner = gym.make(REACH)
    env = HistoryWrapper(inner, k=2)
    n, a = inner.observation_space.shape[0], inner.action_space.shape[0]
    assert env.observation_space.shape == (3 * n + 2 * a,)
    first, _ = env.reset(seed=0)
    assert env.observation_space.contains(first)
    assert np.array_equal(first[:n], first[n : 2 * n]) and np.array_equal(first[:n], first[2 * n : 3 * n])
    assert np.all(first[3 * n :] == 0)  # no command issued yet
    a1 = np.array([0.5, -0.5, 0.25, 1.0], dtype=np.float32)
    second, *_ = env.step(a1)
    assert np.array_equal(second[n : 2 * n], first[:n])  # the previous observation moved back one slot
    assert np.allclose(second[3 * n : 3 * n + a], a1) and np.all(second[3 * n + a :] == 0)
    a2 = -a1
    third, *_ = env.step(a2)
    assert np.allclose(third[3 * n : 3 * n + a], a2) and np.allclose(third[3 * n + a :], a1)
    assert np.array_equal(third[2 * n : 3 * n], first[:n])
    again, _ = env.reset(seed=0)
    assert np.array_equal(again, first)  # reset clears the history


def test_dict_observation_stacks_only_vectors_and_keeps_images_current():
    inner = gym.make(REACH, obs_mode="pixels_state", image_size=32)
    env = HistoryWrapper(inner, k=3)
    space = env.observation_space
    state = inner.observation_space["state"].shape[0]
    assert space["state"].shape == (4 * state,)
    assert space[ACTION_KEY].shape == (3 * 4,)
    for key, sub in inner.observation_space.spaces.items():
        if key != "state":
            assert space[key] == sub
    obs, _ = env.reset(seed=1)
    assert space.contains(obs)
    obs2, *_ = env.step(env.action_space.sample())
    image_keys = [k for k, s in inner.observation_space.spaces.items() if len(s.shape) == 3]
    assert image_keys and all(obs2[k].shape == inner.observation_space[k].shape for k in image_keys)
    assert np.array_equal(obs2["state"][state : 2 * state], obs["state"][:state])


@pytest.mark.filterwarnings("ignore:.*infinity")
def test_passes_gymnasium_check_env():
    check_env(HistoryWrapper(gym.make(REACH), k=4))


@pytest.mark.parametrize("k", [0, 33, 2.5, True])
def test_bad_k_raises_naming_the_field(k):
    with pytest.raises(ValueError, match="k: must be an int"):
        HistoryWrapper(gym.make(REACH), k=k)


def test_discrete_actions_are_rejected():
    with pytest.raises(TypeError, match="Box action space"):
        HistoryWrapper(gym.make("CartPole-v1"))


def test_step_before_reset_raises():
    with pytest.raises(RuntimeError, match="reset"):
        HistoryWrapper(gym.make(REACH).unwrapped).step(np.zeros(4, dtype=np.float32))
