"""Control perturbations of DomainRandomization: action/observation noise statistics, bounds, dtypes, batches."""

import gymnasium as gym
import numpy as np
import pytest

import simreal  # noqa: F401  (registers the ids)
from simreal.randomization import DomainRandomization, RandomizationSpec
from simreal.randomization.noise import NoiseRows

REACH = "simreal/Reach-v0"


def wrapped(control: dict) -> DomainRandomization:
    env = DomainRandomization(
        gym.make(REACH, obs_mode="state").unwrapped, RandomizationSpec.from_dict({"control": control})
    )
    env.reset(seed=0)
    return env


def test_action_noise_std_bounds_and_dtype():
    env = wrapped({"action_noise": 0.1})
    space = env.action_space
    action = np.zeros(space.shape, dtype=np.float32)
    noisy = np.stack([env._control_action(action) for _ in range(4000)])
    assert noisy.dtype == space.dtype
    assert np.all(action == 0)  # the caller's action is never modified
    expected = 0.1 * (space.high - space.low) / 2.0
    assert np.allclose(noisy.std(0), expected, rtol=0.1)
    assert np.allclose(noisy.mean(0), 0.0, atol=0.02)
    edge = np.stack([env._control_action(space.high.astype(np.float64)) for _ in range(200)])
    assert edge.dtype == space.dtype
    assert np.all(edge <= space.high) and np.all(edge >= space.low)
    assert (edge < space.high).any()


def test_obs_noise_std_and_dtype():
    env = wrapped({"obs_noise": 0.01})
    clean = env.unwrapped._observation()
    noisy = np.stack([env._observe(clean) for _ in range(2000)])
    assert noisy.dtype == clean.dtype
    assert abs((noisy - clean).std() - 0.01) < 0.001
    low, high = env.observation_space.low, env.observation_space.high
    assert np.all(noisy >= low) and np.all(noisy <= high)
    assert not np.shares_memory(noisy, clean)
    as64 = env._observe(clean.astype(np.float64))
    assert as64.dtype == np.float64
    assert 0 < np.abs(as64 - clean).max() < 0.1


def test_noise_rows_batches_are_deterministic_and_scaled():
    std = np.array([0.5, 2.0], dtype=np.float32)
    a, b = NoiseRows(std, (2,), batch=3), NoiseRows(std, (2,), batch=3)
    ra, rb = np.random.default_rng(7), np.random.default_rng(7)
    rows_a = np.stack([a.next(ra) for _ in range(3000)])
    rows_b = np.stack([b.next(rb) for _ in range(3000)])
    assert np.array_equal(rows_a, rows_b)
    assert rows_a.dtype == np.float32
    assert np.allclose(rows_a.std(0), std, rtol=0.05)
    assert len(np.unique(rows_a[:, 0])) == 3000  # every row fresh across batch refills
    assert not a.next(ra).flags.writeable


def test_noise_rows_invalid_arguments():
    with pytest.raises(ValueError, match="batch"):
        NoiseRows(1.0, (2,), batch=0)
    with pytest.raises(ValueError, match="std"):
        NoiseRows(-1.0, (2,))


def test_step_cadence_draws_fresh_action_noise_each_step():
    env = DomainRandomization(
        gym.make(REACH, obs_mode="state").unwrapped,
        RandomizationSpec.from_dict({"control": {"action_noise": {"type": "uniform", "low": 0.05, "high": 0.1}}}),
        resample="step",
    )
    env.reset(seed=0)
    action = np.zeros(env.action_space.shape, dtype=np.float32)
    noisy = [env._control_action(action) for _ in range(3)]
    assert env._action_noise is not None and env._action_noise.batch == 1
    assert not np.array_equal(noisy[0], noisy[1])
