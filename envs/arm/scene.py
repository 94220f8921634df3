"""The table-top arm scene as a pure function: options -> MJCF -> ``mujoco.MjModel``.

A 6-joint arm (base yaw, shoulder/elbow/wrist pitch, wrist roll, gripper yaw) with a parallel two-finger gripper,
position servos with gravity compensation, a table, an optional 4 cm block, a mocap goal marker, three cameras,
two lights, 64x64 textures that randomization may rewrite, and hidden visual-only distractor slots.
Coordinates: the table top is z = 0; the workspace is centred on the origin; the arm base stands at x = -0.40.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import mujoco

from simreal.envs.arm import names
from simreal.envs.camera import look_at_xyaxes

BLOCK_HALF_SIZE = 0.02
FINGER_OPEN = 0.045  # metres of travel per finger
TIMESTEP = 0.002


@dataclass(frozen=True)
class ArmSceneOptions:
    """What varies between the arm tasks' models."""

    with_block: bool = False
    goal_radius: float = 0.05  # the tasks set it to their success threshold
    goal_on_table: bool = False


def _cameras() -> str:
    poses = {
        "front": ((0.6, 0.0, 0.5), (-0.03, 0.0, 0.0)),
        "side": ((0.05, -0.9, 0.55), (-0.05, 0.0, 0.05)),
    }
    xml = [
        f'<camera name="{name}" pos="{p[0]} {p[1]} {p[2]}" xyaxes="{look_at_xyaxes(p, t)}" fovy="45"/>'
        for name, (p, t) in poses.items()
    ]
    xml.append('<camera name="top" pos="-0.02 0 1.05" xyaxes="0 -1 0 1 0 0" fovy="45"/>')
    return "\n    ".join(xml)


def _distractors() -> str:
    return "\n    ".join(
        f'<geom name="{name}" type="box" size="0.02 0.02 0.02" pos="{0.3 - 0.1 * i} 0.35 0.02" '
        f'rgba="1 1 1 0" contype="0" conaffinity="0"/>'
        for i, name in enumerate(names.DISTRACTORS)
    )


def _block(options: ArmSceneOptions) -> str:
    if not options.with_block:
        return ""
    h = BLOCK_HALF_SIZE
    return f"""
    <body name="{names.BLOCK_BODY}" pos="0 0 {h}">
      <freejoint name="{names.BLOCK_JOINT}"/>
      <geom name="{names.BLOCK_GEOM}" type="box" size="{h} {h} {h}" mass="0.1" material="mat_block"
            friction="0.5 0.005 0.0001" condim="4"/>
    </body>"""


def arm_xml(options: ArmSceneOptions) -> str:
    """The MJCF text of the scene."""
    goal_type = "cylinder" if options.goal_on_table else "sphere"
    goal_size = f"{options.goal_radius} 0.001" if options.goal_on_table else f"{options.goal_radius}"
    return f"""
<mujoco model="simreal_arm">
  <compiler angle="radian" autolimits="true"/>
  <option timestep="{TIMESTEP}" integrator="implicitfast" cone="elliptic" impratio="5"/>
  <visual>
    <quality shadowsize="0" offsamples="0"/>
    <global offwidth="64" offheight="64"/>
    <map znear="0.01" zfar="20"/>
  </visual>
  <asset>
    <texture name="tex_skybox" type="skybox" builtin="gradient" rgb1="0.55 0.65 0.8" rgb2="0.1 0.12 0.15"
             width="64" height="64"/>
    <texture name="tex_floor" type="2d" builtin="checker" rgb1="0.32 0.32 0.35" rgb2="0.25 0.25 0.28"
             width="64" height="64"/>
    <texture name="tex_table" type="2d" builtin="flat" rgb1="0.62 0.5 0.38" width="64" height="64"/>
    <texture name="tex_block" type="2d" builtin="flat" rgb1="1 1 1" width="64" height="64"/>
    <material name="mat_floor" texture="tex_floor" texrepeat="6 6" texuniform="true"/>
    <material name="mat_table" texture="tex_table" texrepeat="2 2" texuniform="true"/>
    <material name="mat_block" texture="tex_block" rgba="0.85 0.15 0.12 1"/>
    <material name="mat_arm" rgba="0.82 0.83 0.86 1" specular="0.3"/>
    <material name="mat_gripper" rgba="0.18 0.18 0.2 1"/>
  </asset>
  <default>
    <joint damping="4" armature="0.05"/>
    <geom friction="1 0.005 0.0001" solref="0.01 1"/>
    <default class="link">
      <geom type="capsule" material="mat_arm" contype="0" conaffinity="0" density="600"/>
    </default>
    <default class="finger">
      <geom type="box" material="mat_gripper" friction="1.5 0.005 0.0001" condim="4" mass="0.05"/>
      <joint type="slide" range="0 {FINGER_OPEN}" damping="3" armature="0.01"/>
    </default>
  </default>
  <worldbody>
    <light name="light_main" pos="0.3 -0.3 2.0" dir="-0.15 0.15 -1" directional="true" diffuse="0.75 0.75 0.75"
           specular="0.2 0.2 0.2"/>
    <light name="light_fill" pos="-0.5 0.6 1.5" dir="0.3 -0.4 -1" directional="true" diffuse="0.3 0.3 0.3"
           specular="0 0 0"/>
    <geom name="{names.FLOOR_GEOM}" type="plane" pos="0 0 -0.75" size="3 3 1.0" material="mat_floor"/>
    <geom name="{names.TABLE_GEOM}" type="box" pos="-0.1 0 -0.375" size="0.55 0.5 0.375" material="mat_table"
          friction="0.4 0.005 0.0001"/>
    {_cameras()}
    {_distractors()}
    <body name="{names.GOAL_BODY}" mocap="true" pos="0 0 0.1">
      <geom name="{names.GOAL_GEOM}" type="{goal_type}" size="{goal_size}" rgba="0.1 0.85 0.2 0.6"
            contype="0" conaffinity="0"/>
    </body>
    <body name="arm_base" pos="-0.40 0 0">
      <geom name="arm_base" type="cylinder" size="0.07 0.03" pos="0 0 0.03" material="mat_arm"/>
      <body name="arm_link1" pos="0 0 0.06" gravcomp="1">
        <joint name="arm_j0" axis="0 0 1" range="-2.9 2.9"/>
        <geom name="arm_link1" class="link" fromto="0 0 0 0 0 0.14" size="0.05"/>
        <body name="arm_link2" pos="0 0 0.14" gravcomp="1">
          <joint name="arm_j1" axis="0 1 0" range="-1.9 1.9"/>
          <geom name="arm_link2" class="link" fromto="0 0 0 0.34 0 0" size="0.04"/>
          <body name="arm_link3" pos="0.34 0 0" gravcomp="1">
            <joint name="arm_j2" axis="0 1 0" range="-2.6 2.6"/>
            <geom name="arm_link3" class="link" fromto="0 0 0 0.32 0 0" size="0.035"/>
            <body name="arm_link4" pos="0.32 0 0" gravcomp="1">
              <joint name="arm_j3" axis="0 1 0" range="-2.6 2.6"/>
              <geom name="arm_link4" class="link" fromto="0 0 0 0.04 0 0" size="0.03"/>
              <body name="arm_link5" pos="0.04 0 0" gravcomp="1">
                <joint name="arm_j4" axis="1 0 0" range="-2.9 2.9"/>
                <inertial pos="0 0 0" mass="0.2" diaginertia="2e-4 2e-4 2e-4"/>
                <body name="hand" pos="0 0 0" gravcomp="1">
                  <joint name="arm_j5" axis="0 0 1" range="-2.9 2.9"/>
                  <geom name="arm_wrist" class="link" fromto="0 0 0 0 0 -0.05" size="0.028"/>
                  <geom name="gripper_palm" type="box" pos="0 0 -0.06" size="0.02 0.06 0.012"
                        material="mat_gripper" contype="0" conaffinity="0"/>
                  <site name="{names.EE_SITE}" pos="0 0 -0.105" size="0.005" rgba="1 0 0 0" group="4"/>
                  <body name="finger_left_body" pos="0 0 -0.072" gravcomp="1">
                    <joint name="finger_left_joint" class="finger" axis="0 1 0"/>
                    <geom name="finger_left" class="finger" pos="0 0.009 -0.027" size="0.012 0.009 0.027"/>
                  </body>
                  <body name="finger_right_body" pos="0 0 -0.072" gravcomp="1">
                    <joint name="finger_right_joint" class="finger" axis="0 -1 0"/>
                    <geom name="finger_right" class="finger" pos="0 -0.009 -0.027" size="0.012 0.009 0.027"/>
                  </body>
                </body>
              </body>
            </body>
          </body>
        </body>
      </body>
    </body>
    {_block(options)}
  </worldbody>
  <equality>
    <joint joint1="finger_right_joint" joint2="finger_left_joint" polycoef="0 1 0 0 0" solref="0.005 1"/>
  </equality>
  <contact>
    <exclude body1="finger_left_body" body2="finger_right_body"/>
  </contact>
  <actuator>
    <position name="act_j0" joint="arm_j0" kp="600" kv="40" ctrlrange="-2.9 2.9" forcerange="-80 80"/>
    <position name="act_j1" joint="arm_j1" kp="900" kv="60" ctrlrange="-1.9 1.9" forcerange="-120 120"/>
    <position name="act_j2" joint="arm_j2" kp="700" kv="45" ctrlrange="-2.6 2.6" forcerange="-100 100"/>
    <position name="act_j3" joint="arm_j3" kp="300" kv="15" ctrlrange="-2.6 2.6" forcerange="-40 40"/>
    <position name="act_j4" joint="arm_j4" kp="200" kv="10" ctrlrange="-2.9 2.9" forcerange="-30 30"/>
    <position name="act_j5" joint="arm_j5" kp="200" kv="10" ctrlrange="-2.9 2.9" forcerange="-30 30"/>
    <position name="{names.GRIPPER_ACTUATOR}" joint="finger_left_joint" kp="300" kv="8"
              ctrlrange="0 {FINGER_OPEN}" forcerange="-15 15"/>
  </actuator>
</mujoco>
"""


@lru_cache(maxsize=8)
def _cached_xml(options: ArmSceneOptions) -> str:
    return arm_xml(options)


def build_arm_model(options: ArmSceneOptions) -> mujoco.MjModel:
    """Compile a fresh model (each env owns its own, so randomization never leaks between envs)."""
    spec = mujoco.MjSpec.from_string(_cached_xml(options))
    return spec.compile()
