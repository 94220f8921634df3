"""``simreal/PickPlace-v0``: pick the block up and place it at a goal on or above the table.

The class docstring documents the observation layout per ``obs_mode``, actions, rewards, episode end and
arguments as Gymnasium's MuJoCo envs do (``tests/test_envs_docs.py`` checks it); the sections every arm task
shares (the ``{name}`` lines) are filled in from :mod:`simreal.envs.arm.docs`.
"""

from __future__ import annotations

import numpy as np

from simreal.envs.arm.base_task import BlockEnv
from simreal.envs.arm.docs import with_arm_docs
from simreal.envs.arm.scene import BLOCK_HALF_SIZE, ArmSceneOptions


@with_arm_docs
class PickPlaceEnv(BlockEnv):
    """Pick the block up and place it at a goal on or above the table (``simreal/PickPlace-v0``).

    ## Description
    The arm of ``simreal/Reach-v0`` and a 4 cm, 0.1 kg block on the table; a translucent green sphere with the
    radius ``success_threshold`` marks the goal.

    ## Action Space
    {arm_actions}

    ## Observation Space
    {block_observations}

    ## Rewards
    The reward is the sum of the named terms, each echoed in ``info`` as ``reward_<name>``; ``d`` is the distance
    from the block centre to the goal (m).

    {block_reward_terms}

    ## Starting State
    Joints at a home pose (gripper 0.18 m above the table, pointing down) plus U(-0.03, 0.03) rad each, fingers
    open; the block on the table at x in [-0.1, 0.14], y in [-0.15, 0.15] m, yaw U(-0.2, 0.2) rad; the goal at
    least 8 cm from the block in the same x-y range, on the table (z = 0.02 m) with probability 0.3, else z in
    [0.06, 0.2] m.

    ## Episode End
    ### Termination
    When the block falls off the table (its centre below z = -0.05 m). Success does not end the episode.

    ### Truncation
    After 100 steps (the ``TimeLimit`` of the registered id), or at once when MuJoCo reports an unstable state: the
    step is rolled back and ``info["physics_error"]`` says why.

    ## Arguments
    {arm_arguments}
    """

    scene_options = ArmSceneOptions(with_block=True)

    def _place_objects(self, rng: np.random.Generator) -> None:
        block_xy = self._place_block(rng)
        height = BLOCK_HALF_SIZE if rng.uniform() < 0.3 else rng.uniform(0.06, 0.2)
        self.goal = np.array([*self._goal_xy(rng, block_xy), height])
