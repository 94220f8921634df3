"""Scripted oracle policies, one per simreal env id: ``ORACLES[env_id](env) -> action``."""

from __future__ import annotations

from collections.abc import Callable

import gymnasium as gym
import numpy as np

from simreal.envs.arm.oracles import pick_place_oracle, push_oracle, reach_oracle
from simreal.envs.driving.oracle import pure_pursuit_action

Oracle = Callable[[gym.Env], np.ndarray]

ORACLES: dict[str, Oracle] = {
    "simreal/Reach-v0": lambda env: reach_oracle(env.unwrapped),
    "simreal/Push-v0": lambda env: push_oracle(env.unwrapped),
    "simreal/PickPlace-v0": lambda env: pick_place_oracle(env.unwrapped),
    "simreal/LaneFollow-v0": lambda env: pure_pursuit_action(env.unwrapped),
}


def oracle_for(env_id: str) -> Oracle:
    """The oracle of ``env_id`` (ValueError listing the known ids otherwise)."""
    if env_id not in ORACLES:
        raise ValueError(f"no oracle for {env_id!r}; allowed: {sorted(ORACLES)}")
    return ORACLES[env_id]


__all__ = [
    "ORACLES",
    "Oracle",
    "oracle_for",
    "pick_place_oracle",
    "pure_pursuit_action",
    "push_oracle",
    "reach_oracle",
]
