"""The PickPlace oracle's grasp logic on hand-built states (no simulation): what counts as holding the block,
and how it carries it."""

import numpy as np
import pytest

from simreal.envs.arm.oracles import CARRY_SPEED, CLOSED, OPEN, pick_place_oracle
from simreal.envs.arm.scene import BLOCK_HALF_SIZE


class _StubEnv:
    """Only what the oracle reads: ``task_state()``."""

    def __init__(self, ee: list[float], block: list[float], goal: list[float], opening: float) -> None:
        self.state = {
            "ee_position": np.array(ee),
            "ee_target": np.array(ee),
            "block_position": np.array(block),
            "goal": np.array(goal),
            "gripper_opening": np.array([opening]),
        }

    def task_state(self) -> dict[str, np.ndarray]:
        return self.state


HOLDING = 2 * BLOCK_HALF_SIZE - 0.001  # the fingers rest on the block's faces


@pytest.mark.parametrize("sag", [0.018, 0.035, 0.045])
def test_keeps_a_block_that_hangs_low_in_the_fingers(sag: float) -> None:
    # a 2-3x heavy block tilts in the pinch while carried: its centre hangs 3.5-5 cm below the gripper centre
    # (measured on `test`); the old 3 cm window reopened the gripper mid-air and dropped it
    env = _StubEnv(ee=[0.0, 0.0, 0.15], block=[0.005, 0.0, 0.15 - sag], goal=[0.1, 0.1, 0.15], opening=HOLDING)
    assert pick_place_oracle(env)[3] == CLOSED


def test_an_empty_closed_gripper_is_not_holding_the_block() -> None:
    # fingers closed on nothing (opening ~0) just above the block: reopen and descend instead of "carrying"
    env = _StubEnv(ee=[0.0, 0.0, 0.05], block=[0.0, 0.0, BLOCK_HALF_SIZE], goal=[0.1, 0.1, 0.15], opening=0.0)
    action = pick_place_oracle(env)
    assert action[3] == OPEN
    assert action[2] < 0


def test_lifts_a_grasped_block_straight_up_before_moving_across() -> None:
    grasped = BLOCK_HALF_SIZE + 0.01
    env = _StubEnv(ee=[0.0, 0.0, grasped], block=[0.0, 0.0, BLOCK_HALF_SIZE], goal=[0.15, -0.1, 0.12], opening=HOLDING)
    action = pick_place_oracle(env)
    assert action[3] == CLOSED
    np.testing.assert_allclose(action[:2], 0.0, atol=1e-6)
    assert 0 < action[2] <= CARRY_SPEED + 1e-6


def test_carries_across_at_height_at_most_at_carry_speed() -> None:
    env = _StubEnv(ee=[0.0, 0.0, 0.12], block=[0.0, 0.0, 0.09], goal=[0.3, -0.3, 0.12], opening=HOLDING)
    action = pick_place_oracle(env)
    assert action[3] == CLOSED
    assert action[0] > 0 and action[1] < 0
    assert np.all(np.abs(action[:3]) <= CARRY_SPEED + 1e-6)
