"""Damped least-squares inverse kinematics: Cartesian end-effector targets -> joint position targets.

Real arms are commanded this way: each control step the policy's end-effector delta becomes a Cartesian target,
and one damped least-squares step ``dq = J^T (J J^T + lambda^2 I)^-1 e`` (Wampler 1986) on the 6-D pose error gives
the joint targets the position servos track. The gripper is held pointing down with a fixed yaw.
"""

from __future__ import annotations

import mujoco
import numpy as np

from simreal.envs.arm import names


class DifferentialIK:
    """One damped least-squares step from the current joint state towards an end-effector pose."""

    def __init__(
        self,
        model: mujoco.MjModel,
        damping: float = 0.05,
        orientation_weight: float = 0.5,
        target_rotation: np.ndarray | None = None,
    ) -> None:
        if damping <= 0:
            raise ValueError(f"damping must be > 0, got {damping}")
        self.model = model
        self.damping = damping
        self.orientation_weight = orientation_weight
        self.target_rotation = np.eye(3) if target_rotation is None else np.asarray(target_rotation, float)
        self.site_id = model.site(names.EE_SITE).id
        joints = [model.joint(name) for name in names.ARM_JOINTS]
        self.dof_ids = np.array([int(j.dofadr[0]) for j in joints])
        self.qpos_ids = np.array([int(j.qposadr[0]) for j in joints])
        self.lower = np.array([j.range[0] for j in joints])
        self.upper = np.array([j.range[1] for j in joints])
        self._jacp = np.zeros((3, model.nv))
        self._jacr = np.zeros((3, model.nv))
        self._regulariser = self.damping**2 * np.eye(6)
        self._rows = (np.array([1, 2, 0]), np.array([2, 0, 1]))

    def pose_error(self, data: mujoco.MjData, target_position: np.ndarray) -> np.ndarray:
        """6-D error: position (m) and weighted small-angle orientation error (rad) in the world frame."""
        position_error = target_position - data.site_xpos[self.site_id]
        # 0.5 * sum_i current[:, i] x target[:, i], written out (np.cross costs more than the maths here)
        a = data.site_xmat[self.site_id].reshape(3, 3)
        b = self.target_rotation
        next_row, after = self._rows
        rotation_error = 0.5 * (a[next_row] * b[after] - a[after] * b[next_row]).sum(axis=1)
        return np.concatenate([position_error, self.orientation_weight * rotation_error])

    def joint_targets(self, data: mujoco.MjData, target_position: np.ndarray) -> np.ndarray:
        """Joint positions one DLS step from the current state towards ``target_position`` (within limits)."""
        mujoco.mj_jacSite(self.model, data, self._jacp, self._jacr, self.site_id)
        jacobian = np.vstack([self._jacp[:, self.dof_ids], self.orientation_weight * self._jacr[:, self.dof_ids]])
        error = self.pose_error(data, target_position)
        # (a preallocated jacobian would save a little more but changes BLAS's rounding: measured 7e-15 rad)
        regularised = jacobian @ jacobian.T + self._regulariser
        dq = jacobian.T @ np.linalg.solve(regularised, error)
        return np.clip(data.qpos[self.qpos_ids] + dq, self.lower, self.upper)

    def solve(
        self, data: mujoco.MjData, target_position: np.ndarray, iterations: int = 200, tolerance: float = 1e-4
    ) -> np.ndarray:
        """Iterate DLS on ``data`` (kinematics only) until the pose error is below ``tolerance``; return qpos."""
        for _ in range(iterations):
            mujoco.mj_kinematics(self.model, data)
            mujoco.mj_comPos(self.model, data)
            if np.linalg.norm(self.pose_error(data, target_position)) < tolerance:
                break
            data.qpos[self.qpos_ids] = self.joint_targets(data, target_position)
        mujoco.mj_kinematics(self.model, data)
        return data.qpos[self.qpos_ids].copy()


def home_joint_positions(model: mujoco.MjModel, ee_position: np.ndarray) -> np.ndarray:
    """Joint angles that put the gripper at ``ee_position`` pointing down (elbow up)."""
    data = mujoco.MjData(model)
    ik = DifferentialIK(model, damping=0.02, orientation_weight=1.0)
    data.qpos[ik.qpos_ids] = (0.0, -0.6, 1.6, 0.6, 0.0, 0.0)  # elbow-up seed
    return ik.solve(data, np.asarray(ee_position, float))
