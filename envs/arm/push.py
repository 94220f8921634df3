"""``simreal/Push-v0``: push the block to a goal on the table.

The class docstring documents the observation layout per ``obs_mode``, actions, rewards, episode end and
arguments as Gymnasium's MuJoCo envs do (``tests/test_envs_docs.py`` checks it).
"""

from __future__ import annotations

import numpy as np

from simreal.envs.arm.base_task import BlockEnv
from simreal.envs.arm.scene import BLOCK_HALF_SIZE, ArmSceneOptions


class PushEnv(BlockEnv):
    """Push the block to a goal on the table (``simreal/Push-v0``); success is measured in the table plane.

    ## Description
    The arm of ``simreal/Reach-v0`` and a 4 cm, 0.1 kg block on the table; a flat green disc with the radius
    ``success_threshold`` marks the goal.

    ## Action Space
    ``Box(-1, 1, (4,), float32)``; out-of-range values are clipped, NaN/inf raise ``ValueError``. One step lasts
    20 physics steps of 2 ms (0.04 s, 25 Hz). The first three move a Cartesian end-effector target, kept inside the
    workspace and within ``MAX_LEAD`` (0.06 m) of the gripper; damped least-squares IK turns it into joint targets.

    | Num | Action | Min | Max | Unit |
    |-----|--------|-----|-----|------|
    | 0-2 | end-effector target motion (x, y, z), world frame | -1 | 1 | ``MAX_DELTA`` = 0.04 m per step |
    | 3 | gripper, linear from closed (-1) to open (1: 0.045 m of travel per finger) | -1 | 1 | unitless |

    ## Observation Space
    ### obs_mode="state"
    ``Box(-inf, inf, (26,), float32)``:

    | Num | Observation | Unit |
    |-----|-------------|------|
    | 0-2 | gripper centre (between the fingertips) position (x, y, z), world frame; table top z = 0 | m |
    | 3-5 | gripper centre velocity (finite difference over the 0.04 s step) | m/s |
    | 6 | opening between the finger pads | m |
    | 7-9 | goal position (x, y, z), world frame | m |
    | 10-12 | block centre position (x, y, z), world frame | m |
    | 13-15 | block minus gripper centre position | m |
    | 16-19 | block orientation quaternion (w, x, y, z) | unitless |
    | 20-22 | block linear velocity, world frame | m/s |
    | 23-25 | goal minus block position | m |

    ### obs_mode="pixels_state"
    ``Dict``: the image(s) as for ``pixels`` (key ``pixels`` for one camera, else the camera names); with
    ``camera_projections`` each camera's 3x4 projection matrix (float32, world -> pixels at ``image_size``) under
    ``<key>_projection``; and ``state``, ``Box(-inf, inf, (7,), float32)``: proprioception only (goal and block must
    be seen):

    | Num | Observation | Unit |
    |-----|-------------|------|
    | 0-2 | gripper centre (between the fingertips) position (x, y, z), world frame; table top z = 0 | m |
    | 3-5 | gripper centre velocity (finite difference over the 0.04 s step) | m/s |
    | 6 | opening between the finger pads | m |

    ### obs_mode="pixels"
    ``Box(0, 255, (image_size, image_size, 3), uint8)``: the RGB image of ``cameras`` (default ``front``); with
    several cameras a ``Dict`` of such images keyed by camera name (``front``, ``side``, ``top``).

    ### goal_env=True
    ``Dict`` with ``achieved_goal`` (block centre, m), ``desired_goal`` (goal, m), both ``(3,)`` float32, and
    ``observation``, ``Box(-inf, inf, (23,), float32)``:

    | Num | Observation | Unit |
    |-----|-------------|------|
    | 0-2 | gripper centre (between the fingertips) position (x, y, z), world frame; table top z = 0 | m |
    | 3-5 | gripper centre velocity (finite difference over the 0.04 s step) | m/s |
    | 6 | opening between the finger pads | m |
    | 7-9 | block centre position (x, y, z), world frame | m |
    | 10-12 | block minus gripper centre position | m |
    | 13-16 | block orientation quaternion (w, x, y, z) | unitless |
    | 17-19 | block linear velocity, world frame | m/s |
    | 20-22 | goal minus block position | m |

    ## Rewards
    The reward is the sum of the named terms, each echoed in ``info`` as ``reward_<name>``; ``d`` is the distance
    from the block centre to the goal in the table plane (x, y; m).

    - ``reward_goal`` (``reward_type="dense"``): ``-d``.
    - ``reward_reach`` (``reward_type="dense"`` without ``goal_env``): ``-0.5 * |gripper centre - block|`` (m).
    - ``reward_success`` (``reward_type="sparse"``): ``0`` when ``d < success_threshold``, else ``-1``.

    ``info`` also has ``is_success`` (``d < success_threshold``), ``goal_distance`` (``d``) and
    ``gripper_to_block`` (m). With ``goal_env=True``, ``compute_reward(achieved_goal, desired_goal, info)`` returns
    the step reward exactly.

    ## Starting State
    Joints at a home pose (gripper 0.18 m above the table, pointing down) plus U(-0.03, 0.03) rad each, fingers
    closed; the block on the table at x in [-0.1, 0.14], y in [-0.15, 0.15] m, yaw U(-0.2, 0.2) rad; the goal at
    least 8 cm from the block in the same x-y range, at the block's resting height (z = 0.02 m).

    ## Episode End
    ### Termination
    When the block falls off the table (its centre below z = -0.05 m). Success does not end the episode.

    ### Truncation
    After 100 steps (the ``TimeLimit`` of the registered id), or at once when MuJoCo reports an unstable state: the
    step is rolled back and ``info["physics_error"]`` says why.

    ## Arguments
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
    | ``success_threshold`` | float | ``0.05`` | success distance, m, in [0.005, 0.2]; also the goal marker's radius |
    """

    scene_options = ArmSceneOptions(with_block=True, goal_on_table=True)
    start_open = False

    def _place_objects(self, rng: np.random.Generator) -> None:
        block_xy = self._place_block(rng)
        self.goal = np.array([*self._goal_xy(rng, block_xy), BLOCK_HALF_SIZE])

    def goal_distance(self, achieved: np.ndarray, desired: np.ndarray) -> np.ndarray:
        difference = np.asarray(achieved) - np.asarray(desired)
        return np.linalg.norm(difference[..., :2], axis=-1)
