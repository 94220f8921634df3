"""The docstring sections every arm task shares (actions, the robot's observation rows, pixel observations,
arguments; the block rows and reward terms of the block tasks), written once and filled into each task's class
docstring by :func:`with_arm_docs`, so ``help(PushEnv)`` shows the whole layout as Gymnasium's envs do."""

from __future__ import annotations

import re
from typing import TypeVar

T = TypeVar("T", bound=type)

ROBOT_ROWS = """\
| Num | Observation | Unit |
|-----|-------------|------|
| 0-2 | gripper centre (between the fingertips) position (x, y, z), world frame; table top z = 0 | m |
| 3-5 | gripper centre velocity (finite difference over the 0.04 s step) | m/s |
| 6 | opening between the finger pads | m |"""

PIXELS_STATE = f"""\
``Dict``: the image(s) as for ``pixels`` (key ``pixels`` for one camera, else the camera names); with
``camera_projections`` each camera's 3x4 projection matrix (float32, world -> pixels at ``image_size``) under
``<key>_projection``; and ``state``, ``Box(-inf, inf, (7,), float32)``: proprioception only (goal and block must
be seen):

{ROBOT_ROWS}"""

PIXELS = """\
``Box(0, 255, (image_size, image_size, 3), uint8)``: the RGB image of ``cameras`` (default ``front``); with
several cameras a ``Dict`` of such images keyed by camera name (``front``, ``side``, ``top``)."""

BLOCK_STATE_ROWS = """\
| 7-9 | goal position (x, y, z), world frame | m |
| 10-12 | block centre position (x, y, z), world frame | m |
| 13-15 | block minus gripper centre position | m |
| 16-19 | block orientation quaternion (w, x, y, z) | unitless |
| 20-22 | block linear velocity, world frame | m/s |
| 23-25 | goal minus block position | m |"""

BLOCK_GOAL_ROWS = """\
| 7-9 | block centre position (x, y, z), world frame | m |
| 10-12 | block minus gripper centre position | m |
| 13-16 | block orientation quaternion (w, x, y, z) | unitless |
| 17-19 | block linear velocity, world frame | m/s |
| 20-22 | goal minus block position | m |"""

BLOCK_OBSERVATIONS = f"""\
### obs_mode="state"
``Box(-inf, inf, (26,), float32)``:

{ROBOT_ROWS}
{BLOCK_STATE_ROWS}

### obs_mode="pixels_state"
{PIXELS_STATE}

### obs_mode="pixels"
{PIXELS}

### goal_env=True
``Dict`` with ``achieved_goal`` (block centre, m), ``desired_goal`` (goal, m), both ``(3,)`` float32, and
``observation``, ``Box(-inf, inf, (23,), float32)``:

{ROBOT_ROWS}
{BLOCK_GOAL_ROWS}"""

PARTS = {
    "arm_actions": """\
``Box(-1, 1, (4,), float32)``; out-of-range values are clipped, NaN/inf raise ``ValueError``. One step lasts
20 physics steps of 2 ms (0.04 s, 25 Hz). The first three move a Cartesian end-effector target, kept inside the
workspace and within ``MAX_LEAD`` (0.06 m) of the gripper; damped least-squares IK turns it into joint targets.

| Num | Action | Min | Max | Unit |
|-----|--------|-----|-----|------|
| 0-2 | end-effector target motion (x, y, z), world frame | -1 | 1 | ``MAX_DELTA`` = 0.04 m per step |
| 3 | gripper, linear from closed (-1) to open (1: 0.045 m of travel per finger) | -1 | 1 | unitless |""",
    "robot_rows": ROBOT_ROWS,
    "pixels_state": PIXELS_STATE,
    "pixels": PIXELS,
    "block_observations": BLOCK_OBSERVATIONS,
    "block_reward_terms": """\
- ``reward_goal`` (``reward_type="dense"``): ``-d``.
- ``reward_reach`` (``reward_type="dense"`` without ``goal_env``): ``-0.5 * |gripper centre - block|`` (m).
- ``reward_success`` (``reward_type="sparse"``): ``0`` when ``d < success_threshold``, else ``-1``.

``info`` also has ``is_success`` (``d < success_threshold``), ``goal_distance`` (``d``) and
``gripper_to_block`` (m). With ``goal_env=True``, ``compute_reward(achieved_goal, desired_goal, info)`` returns
the step reward exactly.""",
    "arm_arguments": """\
``gym.make(id, **kwargs)``; unknown names or out-of-range values raise ``ValueError`` naming the argument.
``randomization=``, ``domain=`` and ``resample=`` wrap the env in domain randomization
(:func:`simreal.registration.make_env`).

| Argument | Type | Default | Description |
|----------|------|---------|-------------|
| ``obs_mode`` | str | ``"state"`` | ``"state"``, ``"pixels"`` or ``"pixels_state"`` (see Observation Space) |
| ``image_size`` | int | ``64`` | side of observation images, px, in [8, 512] |
| ``cameras`` | tuple of str | ``()`` | pixel observation cameras (``front``, ``side``, ``top``); empty: ``front`` |
| ``render_mode`` | str or None | ``None`` | ``"rgb_array"`` or ``"depth_array"``: ``env.render()`` of ``front`` |
| ``render_quality`` | str | ``"high"`` | rendering preset of ``env.render()``; observations always use ``"fast"`` |
| ``render_size`` | int | ``256`` | side of ``env.render()`` frames, px, in [8, 512] |
| ``camera_projections`` | bool | ``False`` | ``pixels_state`` only: add each camera's projection matrix |
| ``reward_type`` | str | ``"dense"`` | ``"dense"`` or ``"sparse"`` (see Rewards) |
| ``goal_env`` | bool | ``False`` | Gymnasium-Robotics goal ``Dict`` and ``compute_reward`` (state only) |
| ``success_threshold`` | float | ``0.05`` | success distance, m, in [0.005, 0.2]; also the goal marker's radius |""",
}

_PLACEHOLDER = re.compile(r"^( *)\{(\w+)\}$", re.MULTILINE)


def with_arm_docs(cls: T) -> T:
    """Class decorator: replace each line ``{name}`` of the class docstring by ``PARTS[name]``, indented like it."""

    def fill(match: re.Match[str]) -> str:
        indent, name = match.groups()
        if name not in PARTS:
            raise ValueError(f"{cls.__name__} docstring: unknown part {{{name}}}; known: {sorted(PARTS)}")
        return "\n".join(indent + line if line else "" for line in PARTS[name].splitlines())

    cls.__doc__ = _PLACEHOLDER.sub(fill, cls.__doc__ or "")
    return cls
