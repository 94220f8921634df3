"""Automatic domain randomization as a training method (``randomization="adr"``): ADR over every scalar range
of a preset.

Each ``Uniform(low, high)`` of the preset starts as its centre point and may grow up to ``[low, high]`` in
``steps`` increments per side, driven by episode success (``simreal.randomization.AdrWrapper``). Every env
instance keeps its own ADR state; it is not checkpointed, so a resumed run restarts from narrow ranges.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from simreal.randomization.adr import AdrConfig, AdrParam, AdrWrapper, AutomaticDomainRandomization
from simreal.randomization.sweeps import uniform_paths

ADR_PRESET = "full"


def adr_params(spec: Any, steps: int = 10) -> list[AdrParam]:
    """One ADR parameter per ``Uniform`` in ``spec``: starts at the centre, hard limits are the range."""
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    params = []
    for path, dist in uniform_paths(spec):
        centre = 0.5 * (dist.low + dist.high)
        step = (dist.high - dist.low) / (2 * steps)
        params.append(AdrParam(path, centre, centre, min_low=dist.low, max_high=dist.high, step=step))
    return params


def make_adr_env(env_id: str, config: AdrConfig | None = None, **env_kwargs: Any) -> gym.Env:
    """``env_id`` randomized with preset ``full`` under ADR control."""
    env = gym.make(env_id, randomization=ADR_PRESET, **env_kwargs)
    spec = env.get_wrapper_attr("randomization_spec")
    return AdrWrapper(env, AutomaticDomainRandomization(spec, adr_params(spec), config))
