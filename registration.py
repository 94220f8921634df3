"""Registration of the ``simreal/...`` Gymnasium ids, in one place and safe to call twice.

Entry points are strings into this module, so ``import simreal`` stays cheap. The factory lives here (not in
``simreal.envs``) because ``gym.make(id, randomization=..., domain=...)`` wraps the env with the randomization
layer, which sits above the envs.
"""

from __future__ import annotations

import importlib
from typing import Any

import gymnasium as gym

# id -> (module, class, max_episode_steps)
ENVS: dict[str, tuple[str, str, int]] = {
    "simreal/Reach-v0": ("simreal.envs.arm.reach", "ReachEnv", 50),
    "simreal/Push-v0": ("simreal.envs.arm.push", "PushEnv", 100),
    "simreal/PickPlace-v0": ("simreal.envs.arm.pickplace", "PickPlaceEnv", 100),
    "simreal/LaneFollow-v0": ("simreal.envs.driving.env", "LaneFollowEnv", 1000),
}

# Env options implied by a named domain (held-out tracks for driving), unless the caller sets them.
DOMAIN_ENV_KWARGS: dict[str, dict[str, dict[str, Any]]] = {
    "simreal/LaneFollow-v0": {"test": {"track_split": "test"}, "real": {"track_split": "test"}},
}


def env_class(env_id: str) -> Any:
    """The env class of simreal id ``env_id`` (``ValueError`` naming the known ids otherwise)."""
    if env_id not in ENVS:
        raise ValueError(f"unknown simreal env {env_id!r}; allowed: {sorted(ENVS)}")
    module, name, _ = ENVS[env_id]
    return getattr(importlib.import_module(module), name)


def make_env(
    env_id: str,
    randomization: Any = None,
    domain: str | None = None,
    resample: str | int = "episode",
    **kwargs: Any,
) -> gym.Env:
    """Build a simreal env, optionally wrapped in domain randomization (a preset, YAML path, spec or domain)
    that resamples every ``"episode"``, every ``"step"`` or every N steps."""
    env_cls = env_class(env_id)
    if domain is not None and not isinstance(domain, str):
        raise ValueError(f"domain: expected a domain name (str) or None, got {type(domain).__name__} {domain!r}")
    if domain is not None:
        base_domain = "real" if domain.startswith("real:") else domain  # a reality member is a reality
        kwargs = {**DOMAIN_ENV_KWARGS.get(env_id, {}).get(base_domain, {}), **kwargs}
    env = env_cls.from_kwargs(env_id, **kwargs)
    if randomization is None and domain is None:
        if resample != "episode":  # never silently ignored
            raise ValueError(f"resample: applies only with randomization= or domain=, got resample={resample!r} alone")
        return env
    from simreal.randomization import make_randomized

    return make_randomized(env, randomization=randomization, domain=domain, resample=resample)


def _entry_point(env_id: str):
    def make(**kwargs: Any) -> gym.Env:
        return make_env(env_id, **kwargs)

    make.__name__ = make.__qualname__ = "make_" + env_id.split("/")[1].split("-")[0].lower()
    return make


make_reach = _entry_point("simreal/Reach-v0")
make_push = _entry_point("simreal/Push-v0")
make_pickplace = _entry_point("simreal/PickPlace-v0")
make_lanefollow = _entry_point("simreal/LaneFollow-v0")


def _vector_entry_point(env_id: str):
    def make_vector(num_envs: int = 1, **kwargs: Any) -> gym.vector.VectorEnv:
        from simreal.envs.vector import SimrealVectorEnv

        return SimrealVectorEnv(env_id, num_envs, **kwargs)

    make_vector.__name__ = make_vector.__qualname__ = "make_" + env_id.split("/")[1].split("-")[0].lower() + "_vector"
    return make_vector


# gym.make_vec(id, num_envs) builds these (shared-memory worker processes; see simreal.envs.vector)
make_reach_vector = _vector_entry_point("simreal/Reach-v0")
make_push_vector = _vector_entry_point("simreal/Push-v0")
make_pickplace_vector = _vector_entry_point("simreal/PickPlace-v0")
make_lanefollow_vector = _vector_entry_point("simreal/LaneFollow-v0")


def register_envs() -> None:
    """Register every simreal id with Gymnasium (idempotent)."""
    for env_id, (_, _, max_steps) in ENVS.items():
        if env_id in gym.registry:
            continue
        factory = "make_" + env_id.split("/")[1].split("-")[0].lower()
        gym.register(
            id=env_id,
            entry_point=f"simreal.registration:{factory}",
            vector_entry_point=f"simreal.registration:{factory}_vector",
            max_episode_steps=max_steps,
        )
