"""Build the (vectorized) envs an agent trains and is evaluated on.

``randomization`` is a typed selection (:func:`simreal.randomization.selection.parse_randomization`): ``None`` or
the preset ``none`` leaves the env as registered, a :class:`Domain` becomes ``gym.make(..., domain=name)``,
:class:`ADR` trains under automatic domain randomization (:mod:`simreal.randomization.adr_env`), a preset, spec file
or spec becomes ``gym.make(..., randomization=value)``. Non-simreal ids (e.g. ``Pendulum-v1``) take no randomization;
their domains are labels only, which lets the generic machinery run on Gymnasium's own envs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import gymnasium as gym
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecEnv, VecFrameStack

from simreal.agents.hyperparams import Hyperparams, make_wrapper
from simreal.randomization.selection import ADR, Domain, Preset, Randomization, Spec, parse_randomization

NO_RANDOMIZATION = Preset("none")
VEC_ENV_TYPES = {"dummy": DummyVecEnv, "subproc": SubprocVecEnv}


def is_simreal(env_id: str) -> bool:
    """Whether ``env_id`` is one of simreal's ids (which accept ``randomization``/``domain``)."""
    return env_id.startswith("simreal/")


def randomization_kwargs(env_id: str, randomization: Randomization | None) -> dict[str, Any]:
    """The ``gym.make`` keyword arguments that select ``randomization`` for ``env_id``."""
    if isinstance(randomization, ADR):
        raise ValueError("randomization 'adr' is not a gym.make argument; build the env with make_env")
    if randomization is None or randomization == NO_RANDOMIZATION:
        return {}
    if not is_simreal(env_id):
        if not isinstance(randomization, Domain):
            raise ValueError(f"randomization {str(randomization)!r} needs a simreal env id, got {env_id!r}")
        return {}
    if isinstance(randomization, Domain):
        return {"domain": randomization.name}
    return {"randomization": randomization.spec if isinstance(randomization, Spec) else str(randomization)}


def randomization_text(randomization: Randomization | None) -> str | None:
    """The text form recorded in ``run.json`` and hashed (``None``: the env as registered)."""
    return None if randomization is None else str(randomization)


def _spec_file(text: str | None) -> Path | None:
    return Path(text) if text is not None and Path(text).is_file() else None


def _digest(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:12]


def randomization_hash(env_id: str, text: str | None, env_kwargs: dict[str, Any]) -> str:
    """A short stable hash of what ``gym.make`` is asked for, from the randomization's text form
    (:func:`randomization_text`). A spec file counts by its name and contents, not by the folder it lies in, so a
    run keeps its hash when the checkout moves."""
    payload: dict[str, Any] = {"env_id": env_id, "randomization": text, "env_kwargs": env_kwargs}
    spec = _spec_file(text)
    if spec is not None:
        payload.update(randomization=spec.name, file=hashlib.sha256(spec.read_bytes()).hexdigest())
    return _digest(payload)


def same_spec_file(
    env_id: str, env_kwargs: dict[str, Any], recorded: str | None, recorded_hash: str, text: str | None
) -> bool:
    """Whether a run recorded with randomization ``recorded`` (a spec file's path) and ``recorded_hash`` was
    trained on the spec file ``text`` is now: the same file name and contents, wherever either lies. Hashes written
    before spec files were hashed by name (they hashed the full path with the contents) are recognised too."""
    spec = _spec_file(text)
    if recorded is None or spec is None or Path(recorded).name != spec.name:
        return False
    contents = hashlib.sha256(spec.read_bytes()).hexdigest()
    by_path = _digest({"env_id": env_id, "randomization": recorded, "env_kwargs": env_kwargs, "file": contents})
    return recorded_hash in (randomization_hash(env_id, text, env_kwargs), by_path)


def spec_hash(env: gym.Env, fallback: str) -> str:
    """Hash of the randomization spec an env actually samples from; ``fallback`` when it has none."""
    try:
        return str(env.get_wrapper_attr("randomization_spec").hash())
    except AttributeError:
        return fallback


def make_env(env_id: str, randomization: Randomization | str | None = None, **env_kwargs: Any) -> gym.Env:
    """``gym.make`` with the randomization keywords for ``env_id`` (picklable for subprocess VecEnvs); a string
    ``randomization`` is parsed with :func:`~simreal.randomization.selection.parse_randomization`."""
    selection = parse_randomization(randomization)
    if isinstance(selection, ADR) and is_simreal(env_id):
        from simreal.randomization.adr_env import make_adr_env

        return make_adr_env(env_id, **env_kwargs)
    return gym.make(env_id, **randomization_kwargs(env_id, selection), **env_kwargs)


@dataclass(frozen=True)
class _Transformed:
    """An env factory whose env is wrapped by ``transform`` (picklable for subprocess VecEnvs)."""

    build: Callable[..., gym.Env]
    transform: Callable[[gym.Env], gym.Env]

    def __call__(self, **env_kwargs: Any) -> gym.Env:
        return self.transform(self.build(**env_kwargs))


def make_vec(
    env_id: str,
    randomization: Randomization | None,
    hp: Hyperparams,
    n_envs: int,
    seed: int,
    vec_env: str = "dummy",
    env_kwargs: dict[str, Any] | None = None,
    transform: Callable[[gym.Env], gym.Env] | None = None,
) -> VecEnv:
    """A seeded, monitored VecEnv with the config's env wrapper and frame stacking (no normalization);
    ``transform`` wraps each env before the monitor and the config's wrapper (e.g. a CycleGAN translator)."""
    if vec_env not in VEC_ENV_TYPES:
        raise ValueError(f"vec_env must be one of {sorted(VEC_ENV_TYPES)}, got {vec_env!r}")
    if n_envs < 1:
        raise ValueError(f"n_envs must be >= 1, got {n_envs}")
    build: Callable[..., gym.Env] = partial(make_env, env_id, randomization)
    venv = make_vec_env(
        build if transform is None else _Transformed(build, transform),
        n_envs=n_envs,
        seed=seed,
        env_kwargs={**hp.env_kwargs, **(env_kwargs or {})},
        wrapper_class=make_wrapper(hp.env_wrapper),
        vec_env_cls=VEC_ENV_TYPES[vec_env] if n_envs > 1 else DummyVecEnv,
    )
    if hp.frame_stack:
        venv = VecFrameStack(venv, hp.frame_stack)
    return venv
