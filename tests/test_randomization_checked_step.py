"""The randomization wrapper checks an action once: a simreal env right inside it gets ``step_checked`` with what
its own check would have returned, so rollouts equal those through the checking ``step``."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import simreal  # noqa: F401  (registers the ids)
from simreal.envs.actions import check_action, recheck_action
from simreal.randomization import DomainRandomization, env_family, load_preset

REACH = "simreal/Reach-v0"


class Through(gym.Wrapper):
    """A plain wrapper in between: the randomization wrapper then calls the inner ``step`` (the checking path)."""


def randomized(env_id: str, through: bool, checks: list[int]) -> DomainRandomization:
    base = gym.make(env_id, obs_mode="pixels", image_size=32).unwrapped
    original = base._check_action
    base._check_action = lambda action: checks.append(1) or original(action)  # counts the env's own checks
    spec = load_preset("full", env_family(base))  # action noise, fractional latency, period jitter, sensor
    return DomainRandomization(Through(base) if through else base, spec, seed=0)


@pytest.mark.parametrize("env_id", [REACH, "simreal/Push-v0"])
def test_one_check_per_step_and_the_same_rollout(env_id):
    direct_checks: list[int] = []
    inner_checks: list[int] = []
    direct, inner = randomized(env_id, False, direct_checks), randomized(env_id, True, inner_checks)
    rng = np.random.default_rng(0)
    space = direct.action_space
    for env in (direct, inner):
        env.reset(seed=3)
    steps = 0
    for _ in range(40):
        steps += 1
        action = rng.uniform(space.low - 0.5, space.high + 0.5).astype(np.float32)  # some out of range
        a, b = direct.step(action), inner.step(action)
        np.testing.assert_array_equal(a[0], b[0])
        assert a[1:4] == b[1:4]
        assert a[4]["randomization"] == b[4]["randomization"]
        if a[2] or a[3]:
            break
    assert not direct_checks  # the wrapper's check is the only one
    assert len(inner_checks) >= steps  # the old path: the env checks again
    direct.close()
    inner.close()


def test_recheck_action_returns_what_check_action_returns():
    space = gym.spaces.Box(-1.0, 1.0, shape=(4,), dtype=np.float32)
    rng = np.random.default_rng(1)
    for _ in range(200):
        a, b = check_action(rng.uniform(-2, 2, 4), space), check_action(rng.uniform(-2, 2, 4), space)
        f = rng.random()
        blended = (1.0 - f) * a + f * b  # may overshoot a bound by a rounding step
        for action in (blended, blended.astype(np.float32), a):
            again = recheck_action(action, space)
            np.testing.assert_array_equal(again, check_action(action, space))
            assert again.dtype == np.float64 and again is not action
    overshoot = np.array([1.0 + 2e-16, -1.0 - 2e-16, 0.5, 1.0])
    assert recheck_action(overshoot, space).tolist() == [1.0, -1.0, 0.5, 1.0]
