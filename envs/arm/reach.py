"""``simreal/Reach-v0``: move the gripper to a goal in the workspace.

The class docstring documents the observation layout per ``obs_mode``, actions, rewards, episode end and
arguments as Gymnasium's MuJoCo envs do (``tests/test_envs_docs.py`` checks it); the sections every arm task
shares (the ``{name}`` lines) are filled in from :mod:`simreal.envs.arm.docs`.
"""

from __future__ import annotations

import numpy as np

from simreal.envs.arm.base_task import ArmEnv
from simreal.envs.arm.docs import with_arm_docs
from simreal.envs.arm.scene import ArmSceneOptions


@with_arm_docs
class ReachEnv(ArmEnv):
    """Move the gripper to a goal in the workspace (``simreal/Reach-v0``).

    ## Description
    A 6-joint arm with a parallel gripper stands at x = -0.40 m behind a table; a translucent green sphere with the
    radius ``success_threshold`` marks the goal, so the marker is the success region.

    ## Action Space
    {arm_actions}

    ## Observation Space
    ### obs_mode="state"
    ``Box(-inf, inf, (13,), float32)``:

    {robot_rows}
    | 7-9 | goal position (x, y, z), world frame | m |
    | 10-12 | goal minus gripper centre position | m |

    ### obs_mode="pixels_state"
    {pixels_state}

    ### obs_mode="pixels"
    {pixels}

    ### goal_env=True
    ``Dict`` with ``achieved_goal`` (gripper centre, m), ``desired_goal`` (goal, m), both ``(3,)`` float32, and
    ``observation``, ``Box(-inf, inf, (10,), float32)``:

    {robot_rows}
    | 7-9 | goal minus gripper centre position | m |

    ## Rewards
    The reward is the sum of the named terms, each echoed in ``info`` as ``reward_<name>``; ``d`` is the distance
    from the gripper centre to the goal (m).

    - ``reward_goal`` (``reward_type="dense"``): ``-d``.
    - ``reward_success`` (``reward_type="sparse"``): ``0`` when ``d < success_threshold``, else ``-1``.

    ``info`` also has ``is_success`` (``d < success_threshold``) and ``goal_distance`` (``d``). With
    ``goal_env=True``, ``compute_reward(achieved_goal, desired_goal, info)`` returns the step reward exactly.

    ## Starting State
    Joints at a home pose (gripper 0.18 m above the table, pointing down) plus U(-0.03, 0.03) rad each, fingers
    open; the goal uniform in x in [-0.15, 0.15], y in [-0.2, 0.2], z in [0.04, 0.28] m.

    ## Episode End
    ### Termination
    Never: reaching the goal sets ``is_success`` but does not end the episode.

    ### Truncation
    After 50 steps (the ``TimeLimit`` of the registered id), or at once when MuJoCo reports an unstable state: the
    step is rolled back and ``info["physics_error"]`` says why.

    ## Arguments
    {arm_arguments}
    """

    scene_options = ArmSceneOptions(with_block=False)
    goal_low = np.array([-0.15, -0.2, 0.04])
    goal_high = np.array([0.15, 0.2, 0.28])

    def _place_objects(self, rng: np.random.Generator) -> None:
        self.goal = rng.uniform(self.goal_low, self.goal_high)
