"""Scripted oracle policies for the arm tasks, computed from privileged task state.

They are stateless (a function of the current state), so they recover from any situation, and serve tests,
demonstrations and data collection. Each returns an action in ``[-1, 1]^4``.

Robust to actuation latency: an action moves the commanded end-effector target (``ee_target``), so the oracles
close the loop on that target with a damped gain (:data:`GAIN` of the remaining error per step) instead of
jumping to the goal. With ``L`` steps of delay the loop ``x_{t+1} = x_t + g (x* - x_{t-L})`` is stable for
``g < 2 sin(pi / (2 (2L + 1)))``: 0.28 at L = 4, so 0.25 keeps every domain's 0-4 steps stable (at full
gain, 1 step of delay already makes the target overshoot and oscillate). Measured: full gain solved 20-35%
of `train` episodes of Reach and Push under 0-4 steps of latency, 0.25 solves 95-100%.
"""

from __future__ import annotations

import numpy as np

from simreal.envs.arm.base_task import MAX_DELTA, ArmEnv
from simreal.envs.arm.scene import BLOCK_HALF_SIZE

OPEN, CLOSED = 1.0, -1.0
SAFE_HEIGHT = 0.10  # gripper height for moving over the block
PUSH_HEIGHT = BLOCK_HALF_SIZE + 0.015  # gripper centre while pushing (fingertips clear the table)
BEHIND = 0.06  # stand-off behind the block centre before descending
GRASP_LIFT = 0.008  # grasp this far above the block centre
CONTACT = BLOCK_HALF_SIZE + 0.014  # gripper centre to block centre when touching
GAIN = 0.25  # fraction of the commanded target's remaining error closed per step (see the module docstring)
# fraction of the full step while carrying: under 1-3 steps of latency a faster carry swings a heavy (2-3x) block
# about the pinch axis, it tilts 15-25 degrees and keeps creeping; with this carry 0.6 solved 86% of `test`, 0.3 98%
CARRY_SPEED = 0.3
CARRY_HEIGHT = 0.06  # gripper height for carrying the block across
HOLD_DEPTH = 0.06  # the block still hangs in the fingers with its centre this far below the gripper centre
ALIGN = 0.02  # lateral tolerance (m) for pushing / descending: under latency the gripper settles within ~1-2 cm


def _move(state: dict[str, np.ndarray], target: np.ndarray, gripper: float, speed: float = 1.0) -> np.ndarray:
    """Action moving the commanded target towards ``target``; ``speed`` caps each axis as a fraction of the
    full step."""
    step = np.clip(GAIN * (target - state["ee_target"]) / MAX_DELTA, -speed, speed)
    return np.append(step, gripper).astype(np.float32)


def reach_oracle(env: ArmEnv) -> np.ndarray:
    """Move straight to the goal."""
    state = env.task_state()
    return _move(state, state["goal"], OPEN)


def push_oracle(env: ArmEnv) -> np.ndarray:
    """Go behind the block (over it if needed), descend, push it along the block->goal line."""
    state = env.task_state()
    ee, block, goal = state["ee_position"], state["block_position"], state["goal"]
    to_goal = goal[:2] - block[:2]
    remaining = float(np.linalg.norm(to_goal))
    direction = to_goal / max(remaining, 1e-6)
    contact = block[:2] - CONTACT * direction  # gripper centre touching the block's back face
    behind = block[:2] - BEHIND * direction
    offset = ee[:2] - block[:2]
    along = float(offset @ direction)  # < 0 when the gripper is behind the block
    across = abs(float(offset @ np.array([-direction[1], direction[0]])))
    low = ee[2] < PUSH_HEIGHT + 0.02
    if low and along < -0.02 and across < ALIGN:  # in position: push gently (a fast push slides past)
        target_xy = contact + direction * (min(remaining, 0.03) if remaining > 0.01 else 0.0)
        return _move(state, np.array([*target_xy, PUSH_HEIGHT]), CLOSED, speed=0.35)
    if np.linalg.norm(ee[:2] - behind) < ALIGN:  # above the stand-off point: descend
        return _move(state, np.array([*behind, PUSH_HEIGHT]), CLOSED)
    if low and np.linalg.norm(offset) < 0.09:  # low and near the block: lift before moving around it
        return _move(state, np.array([ee[0], ee[1], SAFE_HEIGHT]), CLOSED)
    return _move(state, np.array([*behind, max(SAFE_HEIGHT, ee[2]) if not low else ee[2]]), CLOSED)


def _carry(state: dict[str, np.ndarray], target: np.ndarray) -> np.ndarray:
    """Carry a grasped block to ``target``: lift straight up to :data:`CARRY_HEIGHT` (or the target's height),
    move across there, then descend; sideways motion while lifting swings the block in the pinch."""
    ee = state["ee_position"]
    if np.linalg.norm(ee[:2] - target[:2]) > 0.02:
        clear = max(float(target[2]), CARRY_HEIGHT)
        if ee[2] < clear - 0.015:  # still lifting: hold the commanded xy
            lift = np.array([state["ee_target"][0], state["ee_target"][1], clear])
            return _move(state, lift, CLOSED, speed=CARRY_SPEED)
        target = np.array([target[0], target[1], clear])
    return _move(state, target, CLOSED, speed=CARRY_SPEED)


def pick_place_oracle(env: ArmEnv) -> np.ndarray:
    """Hover over the block with the gripper open, descend, close, then carry the block to the goal."""
    state = env.task_state()
    ee, block, goal = state["ee_position"], state["block_position"], state["goal"]
    grasp = block + np.array([0.0, 0.0, GRASP_LIFT])  # fingertips stay clear of the table
    opening = float(state["gripper_opening"][0])
    xy_error = float(np.linalg.norm(ee[:2] - block[:2]))
    z_error = float(ee[2] - grasp[2])
    between_fingers = xy_error < 0.015 and abs(z_error) < 0.015
    # held: the closed fingers rest on the block's faces (an empty closed gripper reads ~0 and is not "held") and
    # the block hangs anywhere along them: a heavy block tilts in the pinch while carried, its centre dropping
    # 3-5 cm below the gripper centre (a 3 cm window made the oracle open the gripper mid-air and drop it)
    gripping = 2 * BLOCK_HALF_SIZE - 0.01 < opening < 2 * BLOCK_HALF_SIZE + 0.006
    held = gripping and xy_error < 0.02 and -0.015 < ee[2] - block[2] < HOLD_DEPTH
    if held:
        return _carry(state, goal + np.array([0.0, 0.0, GRASP_LIFT]))
    if between_fingers:
        return _move(state, grasp, CLOSED)  # close on the block
    if xy_error < 0.01:
        return _move(state, grasp, OPEN)  # descend with the gripper open
    hover = np.array([block[0], block[1], max(block[2] + 0.06, min(ee[2], SAFE_HEIGHT))])
    return _move(state, hover, OPEN)
