"""Success rate of an env's scripted oracle on a domain: the proof that the domain is solvable at all.

A domain on which no oracle succeeds is a bug in the domain or in the oracle; ``simreal oracles`` and the
oracle tests report the rate per (env, domain).
"""

from __future__ import annotations

from collections.abc import Sequence

import gymnasium as gym
import numpy as np

from simreal.envs.oracles import oracle_for
from simreal.randomization import DOMAINS
from simreal.randomization.realities import expand_domains

ORACLE_DOMAINS = tuple(DOMAINS)


def oracle_success(env_id: str, domain: str, episodes: int, seed: int = 0, **env_kwargs) -> float:
    """Fraction of ``episodes`` seeded episodes (seeds ``seed .. seed+episodes-1``) the oracle solves."""
    if episodes < 1:
        raise ValueError(f"episodes: must be >= 1, got {episodes}")
    env = gym.make(env_id, domain=domain, **env_kwargs)
    oracle = oracle_for(env_id)
    successes = []
    try:
        for episode in range(episodes):
            env.reset(seed=seed + episode)
            done, info = False, {}
            while not done:
                _, _, terminated, truncated, info = env.step(oracle(env))
                done = terminated or truncated
            successes.append(bool(info.get("is_success", False)))
    finally:
        env.close()
    return float(np.mean(successes))


def oracle_table(
    env_ids: Sequence[str], domains: Sequence[str] = ORACLE_DOMAINS, episodes: int = 50, seed: int = 0
) -> dict[str, dict[str, float]]:
    """``{env_id: {domain: success}}`` over ``domains`` (``real`` expanded to its members)."""
    return {e: {d: oracle_success(e, d, episodes, seed) for d in expand_domains(domains)} for e in env_ids}
