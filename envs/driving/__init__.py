"""Driving scene: a car on procedurally generated roads (``simreal/LaneFollow-v0``)."""

from simreal.envs.driving.config import LaneFollowConfig
from simreal.envs.driving.env import LaneFollowEnv
from simreal.envs.driving.oracle import pure_pursuit_action
from simreal.envs.driving.track import Track, generate_track, split_seed_range

__all__ = ["LaneFollowConfig", "LaneFollowEnv", "Track", "generate_track", "pure_pursuit_action", "split_seed_range"]
