"""The pure-pursuit oracle completes held-out tracks."""

import numpy as np
import pytest

from simreal.envs.driving.config import LaneFollowConfig
from simreal.envs.driving.env import LaneFollowEnv
from simreal.envs.driving.oracle import pure_pursuit_action

MAX_STEPS = 1000  # the registered time limit


def _success_rate(episodes: int) -> float:
    env = LaneFollowEnv(LaneFollowConfig(track_split="test"))
    successes = 0
    for episode in range(episodes):
        env.reset(seed=episode)
        for _ in range(MAX_STEPS):
            action = pure_pursuit_action(env)
            assert action.shape == (2,)
            assert np.all(np.abs(action) <= 1.0)
            _, _, terminated, truncated, info = env.step(action)
            if terminated or truncated:
                break
        successes += bool(info["is_success"])
    return successes / episodes


def test_oracle_completes_5_test_tracks() -> None:
    assert _success_rate(5) == 1.0


@pytest.mark.slow
def test_oracle_completes_95_percent_of_50_test_tracks() -> None:
    assert _success_rate(50) >= 0.95
