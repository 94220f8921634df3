"""Build the (vectorized) envs an agent trains and is evaluated on.

``randomization`` follows the CLI: ``None`` or ``"none"`` leaves the env as registered, a domain name
(``canonical``, ``train``, ``test``, ``real``) becomes ``gym.make(..., domain=name)``, ``"adr"`` trains under
automatic domain randomization (:mod:`simreal.agents.adr`), anything else (a
preset name or a YAML path) becomes ``gym.make(..., randomization=value)``. Non-simreal ids (e.g.
``Pendulum-v1``) take no randomization; their domains are labels only, which lets the generic machinery run on
Gymnasium's own envs.
"""

from __future__ import annotations

import hashlib
import json
from functools import partial
from pathlib import Path
from typing import Any

import gymnasium as gym
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecEnv, VecFrameStack

from simreal.agents.hyperparams import Hyperparams, make_wrapper
from simreal.randomization.presets import is_domain

DOMAINS = ("canonical", "train", "test", "real")
ADR = "adr"
VEC_ENV_TYPES = {"dummy": DummyVecEnv, "subproc": SubprocVecEnv}


def is_simreal(env_id: str) -> bool:
    """Whether ``env_id`` is one of simreal's ids (which accept ``randomization``/``domain``)."""
    return env_id.startswith("simreal/")


def randomization_kwargs(env_id: str, randomization: str | None) -> dict[str, Any]:
    """The ``gym.make`` keyword arguments that select ``randomization`` for ``env_id``."""
    if randomization == ADR:
        raise ValueError("randomization 'adr' is not a gym.make argument; build the env with make_env")
    if randomization is None or randomization == "none" or not is_simreal(env_id):
        if randomization not in (None, "none") and not is_domain(randomization):
            raise ValueError(f"randomization {randomization!r} needs a simreal env id, got {env_id!r}")
        return {}
    if is_domain(randomization):
        return {"domain": randomization}
    return {"randomization": randomization}


def randomization_hash(env_id: str, randomization: str | None, env_kwargs: dict[str, Any]) -> str:
    """A short stable hash of what ``gym.make`` is asked for (file contents included for YAML paths)."""
    payload: dict[str, Any] = {"env_id": env_id, "randomization": randomization, "env_kwargs": env_kwargs}
    if randomization is not None and Path(randomization).is_file():
        payload["file"] = hashlib.sha256(Path(randomization).read_bytes()).hexdigest()
    canonical = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def spec_hash(env: gym.Env, fallback: str) -> str:
    """Hash of the randomization spec an env actually samples from; ``fallback`` when it has none."""
    current: Any = env
    while current is not None:
        spec = getattr(current, "randomization_spec", None)
        if spec is not None and hasattr(spec, "hash"):
            return str(spec.hash())
        current = getattr(current, "env", None)
    return fallback


def make_env(env_id: str, randomization: Any = None, **env_kwargs: Any) -> gym.Env:
    """``gym.make`` with the randomization keywords for ``env_id`` (picklable for subprocess VecEnvs).

    ``randomization`` may also be a spec object (used for sensitivity sweeps) or ``"adr"``.
    """
    if randomization == ADR and is_simreal(env_id):
        from simreal.agents.adr import make_adr_env

        return make_adr_env(env_id, **env_kwargs)
    if randomization is not None and not isinstance(randomization, str) and is_simreal(env_id):
        return gym.make(env_id, randomization=randomization, **env_kwargs)
    return gym.make(env_id, **randomization_kwargs(env_id, randomization), **env_kwargs)


def make_vec(
    env_id: str,
    randomization: str | None,
    hp: Hyperparams,
    n_envs: int,
    seed: int,
    vec_env: str = "dummy",
    env_kwargs: dict[str, Any] | None = None,
) -> VecEnv:
    """A seeded, monitored VecEnv with the config's env wrapper and frame stacking (no normalization)."""
    if vec_env not in VEC_ENV_TYPES:
        raise ValueError(f"vec_env must be one of {sorted(VEC_ENV_TYPES)}, got {vec_env!r}")
    if n_envs < 1:
        raise ValueError(f"n_envs must be >= 1, got {n_envs}")
    venv = make_vec_env(
        partial(make_env, env_id, randomization),
        n_envs=n_envs,
        seed=seed,
        env_kwargs={**hp.env_kwargs, **(env_kwargs or {})},
        wrapper_class=make_wrapper(hp.env_wrapper),
        vec_env_cls=VEC_ENV_TYPES[vec_env] if n_envs > 1 else DummyVecEnv,
    )
    if hp.frame_stack:
        venv = VecFrameStack(venv, hp.frame_stack)
    return venv
