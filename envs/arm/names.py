"""Names of the arm scene's MuJoCo elements: the single place tasks, oracles and randomization presets read them."""

ARM_JOINTS = tuple(f"arm_j{i}" for i in range(6))
ARM_ACTUATORS = tuple(f"act_j{i}" for i in range(6))
FINGER_JOINTS = ("finger_left_joint", "finger_right_joint")
GRIPPER_ACTUATOR = "act_gripper"
EE_SITE = "ee"
BLOCK_BODY = "block"
BLOCK_GEOM = "block"
BLOCK_JOINT = "block_joint"
GOAL_BODY = "goal"
GOAL_GEOM = "goal_marker"
TABLE_GEOM = "table"
FLOOR_GEOM = "floor"
FINGER_GEOMS = ("finger_left", "finger_right")
CAMERAS = ("front", "side", "top")
DISTRACTORS = tuple(f"distractor_{i}" for i in range(6))
TEXTURES = ("tex_floor", "tex_table", "tex_block", "tex_skybox")
MATERIALS = ("mat_floor", "mat_table", "mat_block", "mat_arm", "mat_gripper")
LIGHTS = ("light_main", "light_fill")
