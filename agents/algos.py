"""The training algorithms by config name (``algo:`` in run configs and experiments)."""

from __future__ import annotations

from stable_baselines3 import PPO, SAC
from stable_baselines3.common.base_class import BaseAlgorithm

from simreal.agents.dagger import DAgger

ALGOS: dict[str, type[BaseAlgorithm]] = {"ppo": PPO, "sac": SAC, "sac_her": SAC, "dagger": DAgger}
