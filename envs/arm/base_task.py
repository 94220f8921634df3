"""Shared machinery of the arm tasks: :class:`ArmConfig`, :class:`ArmEnv` (gripper, IK control, goal-env API) and
:class:`BlockEnv` (the 4 cm block); the tasks live in ``reach.py``, ``push.py`` and ``pickplace.py``.

Action: ``[dx, dy, dz, gripper]`` in ``[-1, 1]``. The first three move a Cartesian end-effector target by up to
:data:`MAX_DELTA` metres per step (kept inside the workspace and within :data:`MAX_LEAD` of the gripper); damped
least-squares IK turns it into joint targets for the position servos. ``gripper`` maps linearly from closed (-1) to
open (+1). Out-of-range actions are clipped.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, ClassVar

import mujoco
import numpy as np
from gymnasium import spaces

from simreal.envs.arm import names
from simreal.envs.arm.controller import DifferentialIK, home_joint_positions
from simreal.envs.arm.scene import BLOCK_HALF_SIZE, FINGER_OPEN, ArmSceneOptions, build_arm_model
from simreal.envs.base import MujocoEnv
from simreal.envs.config import EnvConfig, check_choice

MAX_DELTA = 0.04  # metres of end-effector target motion per step at |action| = 1
MAX_LEAD = 0.06  # how far the Cartesian target may run ahead of the gripper
WORKSPACE_LOW = np.array([-0.3, -0.35, 0.012])
WORKSPACE_HIGH = np.array([0.3, 0.35, 0.35])
HOME_EE = np.array([-0.05, 0.0, 0.18])
OBJECT_RANGE = (np.array([-0.1, -0.15]), np.array([0.14, 0.15]))
REWARD_TYPES = ("dense", "sparse")


@dataclass(frozen=True)
class ArmConfig(EnvConfig):
    """Options of the arm tasks; ``goal_env`` gives the Gymnasium-Robotics Dict observation (state only)."""

    reward_type: str = "dense"
    goal_env: bool = False
    success_threshold: float = 0.05

    def __post_init__(self) -> None:
        super().__post_init__()
        check_choice("reward_type", self.reward_type, REWARD_TYPES)
        check_choice("goal_env", self.goal_env, (True, False))
        if self.goal_env and self.obs_mode != "state":
            raise ValueError(f"goal_env=True requires obs_mode='state', got obs_mode={self.obs_mode!r}")
        if not 0.005 <= self.success_threshold <= 0.2:
            raise ValueError(f"success_threshold must be in [0.005, 0.2] metres, got {self.success_threshold}")


class ArmEnv(MujocoEnv):
    """Shared machinery of the arm tasks; subclasses define the scene, goal sampling and reward."""

    default_camera = "front"
    video_camera = "front"
    frame_skip = 20
    config_class = ArmConfig
    scene_options: ClassVar[ArmSceneOptions]
    start_open: ClassVar[bool] = True

    def __init__(self, config: ArmConfig | None = None) -> None:
        self.config: ArmConfig = config or ArmConfig()
        # the goal marker shows the success region: a 2 cm dot was 1-2 px in a 64 px camera and hid behind the gripper
        model = build_arm_model(replace(self.scene_options, goal_radius=self.config.success_threshold))
        self._bind(model)
        self.ik = DifferentialIK(model)
        self._home = home_joint_positions(model, HOME_EE)
        self._arm_actuators = np.array([model.actuator(n).id for n in names.ARM_ACTUATORS])
        self._gripper_actuator = model.actuator(names.GRIPPER_ACTUATOR).id
        self._finger_qpos = np.array([model.joint(n).qposadr[0] for n in names.FINGER_JOINTS])
        self._goal_mocap = model.body(names.GOAL_BODY).mocapid[0]
        self._ee_site = model.site(names.EE_SITE).id
        self._target = HOME_EE.copy()
        self._previous_ee = HOME_EE.copy()
        self.goal = np.zeros(3)
        self.control_dt = model.opt.timestep * self.frame_skip
        super().__init__(model, self.config, action_dim=4)
        if self.config.goal_env:
            self.observation_space = self._goal_space()
            # Only goal envs expose compute_reward: SB3 and Gymnasium-Robotics treat its presence as "goal env".
            self.compute_reward = self.goal_reward

    def _bind(self, model: mujoco.MjModel) -> None:
        """Look up task-specific element ids once, before the spaces are built."""

    # ----------------------------------------------------------------- state
    @property
    def ee_position(self) -> np.ndarray:
        """Gripper centre (between the fingertips) in world coordinates."""
        return self.data.site_xpos[self._ee_site].copy()

    @property
    def gripper_opening(self) -> float:
        """Distance between the finger pads (m)."""
        return float(2.0 * self.data.qpos[self._finger_qpos[0]])

    def achieved_goal(self) -> np.ndarray:
        """The quantity the goal refers to (gripper for Reach, block otherwise)."""
        return self.ee_position

    def _robot_state(self) -> np.ndarray:
        ee = self.ee_position
        velocity = (ee - self._previous_ee) / self.control_dt
        return np.concatenate([ee, velocity, [self.gripper_opening]])

    def _task_features(self) -> np.ndarray:
        return np.concatenate([self.goal, self.goal - self.ee_position])

    def _state_vector(self) -> np.ndarray:
        if self.config.obs_mode == "pixels_state":  # proprioception only: the goal and block must be seen
            return self._robot_state().astype(np.float32)
        return np.concatenate([self._robot_state(), self._task_features()]).astype(np.float32)

    def task_state(self) -> dict[str, np.ndarray]:
        return {
            "ee_position": self.ee_position,
            "ee_target": self._target.copy(),
            "gripper_opening": np.array([self.gripper_opening]),
            "goal": self.goal.copy(),
            "arm_qpos": self.data.qpos[self.ik.qpos_ids].copy(),
        }

    # ----------------------------------------------------------------- goal-env API
    def _goal_space(self) -> spaces.Dict:
        box = spaces.Box(-np.inf, np.inf, shape=(3,), dtype=np.float32)
        size = self._state_vector_size() - 3  # the desired goal moves to its own key
        observation = spaces.Box(-np.inf, np.inf, shape=(size,), dtype=np.float32)
        return spaces.Dict({"observation": observation, "achieved_goal": box, "desired_goal": box})

    def _observation(self):
        if not self.config.goal_env:
            return super()._observation()
        observation = np.concatenate([self._robot_state(), self._task_features()[3:]]).astype(np.float32)
        return {
            "observation": observation,
            "achieved_goal": self.achieved_goal().astype(np.float32),
            "desired_goal": self.goal.astype(np.float32),
        }

    def goal_distance(self, achieved: np.ndarray, desired: np.ndarray) -> np.ndarray:
        """Distance used for reward and success (vectorised over leading axes)."""
        return np.linalg.norm(np.asarray(achieved) - np.asarray(desired), axis=-1)

    def goal_reward(self, achieved_goal: np.ndarray, desired_goal: np.ndarray, info: Any) -> np.ndarray:
        """Vectorised goal reward (SB3 HER relabelling): ``-d`` (dense) or ``-(not success)`` (sparse).

        A goal env's step reward is exactly this function of the returned ``achieved_goal`` and ``desired_goal``
        (float32, as observed); it does not depend on ``info``."""
        distance = self.goal_distance(achieved_goal, desired_goal)
        if self.config.reward_type == "sparse":
            return -(~self._succeeded(distance)).astype(np.float32)
        return -distance.astype(np.float32)

    def _succeeded(self, distance: np.ndarray) -> np.ndarray:
        """Success per distance (compared in the distance's own precision, as ``goal_reward`` does)."""
        return np.asarray(distance) < self.config.success_threshold

    # ----------------------------------------------------------------- episode
    def _reset_task(self) -> None:
        rng = self.np_random
        home = self._home + rng.uniform(-0.03, 0.03, size=self._home.shape)
        self.data.qpos[self.ik.qpos_ids] = home
        self.data.ctrl[self._arm_actuators] = home
        opening = FINGER_OPEN if self.start_open else 0.0
        self.data.qpos[self._finger_qpos] = opening
        self.data.ctrl[self._gripper_actuator] = opening
        self._place_objects(rng)
        mujoco.mj_forward(self.model, self.data)
        self._target = self.ee_position
        self._previous_ee = self.ee_position
        self.data.mocap_pos[self._goal_mocap] = self.goal

    def _place_objects(self, rng: np.random.Generator) -> None:
        raise NotImplementedError

    def _apply_action(self, action: np.ndarray) -> None:
        self._previous_ee = self.ee_position
        ee = self._previous_ee
        target = np.clip(self._target + MAX_DELTA * action[:3], WORKSPACE_LOW, WORKSPACE_HIGH)
        self._target = np.clip(target, ee - MAX_LEAD, ee + MAX_LEAD)
        self.data.ctrl[self._arm_actuators] = self.ik.joint_targets(self.data, self._target)
        self.data.ctrl[self._gripper_actuator] = 0.5 * (action[3] + 1.0) * FINGER_OPEN

    def _evaluate(self, action: np.ndarray) -> tuple[dict[str, float], bool, dict[str, Any]]:
        achieved, desired = self.achieved_goal(), self.goal
        if self.config.goal_env:  # measure on the float32 goals the observation returns, as compute_reward sees them
            achieved, desired = achieved.astype(np.float32), desired.astype(np.float32)
        distance_array = self.goal_distance(achieved, desired)
        success = bool(self._succeeded(distance_array))
        distance = float(distance_array)
        terms = self._reward_terms(distance, success)
        info: dict[str, Any] = {"is_success": bool(success), "goal_distance": distance}
        info.update(self._distances())
        return terms, self._failed(), info

    def _reward_terms(self, distance: float, success: bool) -> dict[str, float]:
        if self.config.reward_type == "sparse":
            return {"success": 0.0 if success else -1.0}
        return {"goal": -distance}

    def _distances(self) -> dict[str, float]:
        return {}

    def _failed(self) -> bool:
        return False


class BlockEnv(ArmEnv):
    """Tasks with the 4 cm block: the goal refers to the block position."""

    def _bind(self, model: mujoco.MjModel) -> None:
        joint = model.joint(names.BLOCK_JOINT)
        self._block_qpos = int(joint.qposadr[0])
        self._block_qvel = int(joint.dofadr[0])
        self._block_body = model.body(names.BLOCK_BODY).id

    @property
    def block_position(self) -> np.ndarray:
        """Block centre in world coordinates."""
        return self.data.xpos[self._block_body].copy()

    def achieved_goal(self) -> np.ndarray:
        return self.block_position

    def _task_features(self) -> np.ndarray:
        block = self.block_position
        quat = self.data.qpos[self._block_qpos + 3 : self._block_qpos + 7]
        velocity = self.data.qvel[self._block_qvel : self._block_qvel + 3]
        return np.concatenate([self.goal, block, block - self.ee_position, quat, velocity, self.goal - block])

    def task_state(self) -> dict[str, np.ndarray]:
        state = super().task_state()
        state["block_position"] = self.block_position
        state["block_quaternion"] = self.data.qpos[self._block_qpos + 3 : self._block_qpos + 7].copy()
        return state

    def _place_block(self, rng: np.random.Generator) -> np.ndarray:
        xy = rng.uniform(*OBJECT_RANGE)
        yaw = rng.uniform(-0.2, 0.2)
        self.data.qpos[self._block_qpos : self._block_qpos + 3] = (xy[0], xy[1], BLOCK_HALF_SIZE)
        self.data.qpos[self._block_qpos + 3 : self._block_qpos + 7] = (np.cos(yaw / 2), 0, 0, np.sin(yaw / 2))
        return xy

    def _goal_xy(self, rng: np.random.Generator, block_xy: np.ndarray) -> np.ndarray:
        while True:  # rejection sampling: the goal is at least 8 cm from the block
            xy = rng.uniform(*OBJECT_RANGE)
            if np.linalg.norm(xy - block_xy) >= 0.08:
                return xy

    def _distances(self) -> dict[str, float]:
        return {"gripper_to_block": float(np.linalg.norm(self.ee_position - self.block_position))}

    def _reward_terms(self, distance: float, success: bool) -> dict[str, float]:
        terms = super()._reward_terms(distance, success)
        if self.config.reward_type == "dense" and not self.config.goal_env:
            terms["reach"] = -0.5 * self._distances()["gripper_to_block"]
        return terms

    def _failed(self) -> bool:
        return bool(self.block_position[2] < -0.05)  # the block fell off the table
