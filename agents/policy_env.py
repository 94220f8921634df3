"""The env stack a policy sees, built in one place for training, its learning curve and ``simreal evaluate``.

:func:`make_policy_env`: ``make_vec`` (monitor, the config's env wrapper, frame stacking) -> ``GoalPerception``
(configs with ``goal_perception``: the run's pre-trained detectors estimate the goal) -> ``VecNormalize`` (configs
with ``normalize``), like SB3's ``make_vec_env`` plus the wrappers a trained policy depends on.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import gymnasium as gym
from stable_baselines3.common.vec_env import VecEnv, VecNormalize

from simreal.agents.env_factory import make_env, make_vec, randomization_text
from simreal.agents.hyperparams import Hyperparams
from simreal.agents.run_config import RunConfig
from simreal.agents.run_files import ENCODER, load_vecnormalize
from simreal.perception.goal_perception import GoalTriangulator, load_goal_perception
from simreal.randomization.selection import ADR, Domain, Randomization

ENCODER_SEED_OFFSET = 2_000_003


def encoder_file(triangulator: GoalTriangulator, run: RunConfig, hp: Hyperparams) -> Path:
    """``<run dir>/encoder.pt``: ``triangulator``'s point detectors pre-trained on labelled frames of the run's
    training domain, unless the run dir has it already."""
    from simreal.envs.oracles import oracle_for
    from simreal.perception.checkpoint import save_model
    from simreal.perception.pretraining import pretrain_detectors, training_frames

    path = run.out / ENCODER
    if not path.is_file():
        assert hp.pretrain_encoder is not None
        randomization = run.randomization
        domain = randomization_text(Domain("train") if isinstance(randomization, ADR) else randomization)
        frames, epochs, seed = hp.pretrain_encoder["frames"], hp.pretrain_encoder["epochs"], run.seed
        build = partial(make_env, run.env_id, **hp.env_kwargs)
        images, targets = training_frames(build, oracle_for(run.env_id), domain, frames, seed + ENCODER_SEED_OFFSET)
        info = {"median_error_m": pretrain_detectors(triangulator, images, targets, epochs, seed)}
        save_model(triangulator, path, {**info, **hp.pretrain_encoder})
    return path


def _goal_perception(venv: VecEnv, run: RunConfig, hp: Hyperparams, training: bool) -> VecEnv:
    """``venv`` behind :class:`~simreal.perception.goal_perception.GoalPerception` with the run's detectors
    (pre-trained first when training and the run dir has none yet)."""
    assert hp.goal_perception is not None
    encoder = run.out / ENCODER
    if training:
        encoder = encoder_file(GoalTriangulator(venv.observation_space, **hp.goal_perception), run, hp)
    return load_goal_perception(venv, encoder, hp.goal_perception)


def make_policy_env(
    run: RunConfig,
    domain: Randomization | None,
    n_envs: int,
    training: bool,
    *,
    seed: int,
    stats: Path | None = None,
    transform: Callable[[gym.Env], gym.Env] | None = None,
) -> VecEnv:
    """``n_envs`` envs of ``run``'s task on ``domain`` (seeded from ``seed``), wrapped as ``run``'s policy sees them.

    ``training=True``: the run's ``vec_env`` kind, detectors pre-trained if missing, live normalization statistics
    (fresh, or resumed from the file ``stats``). ``training=False``: frozen statistics from ``stats`` (``None``:
    fresh ones, which the learning-curve callback copies from the training env) and raw rewards. ``transform``
    wraps each raw env first (e.g. a CycleGAN translator at evaluation).
    """
    hp = run.hyperparams()
    vec_env = run.vec_env if training else "dummy"
    venv = make_vec(run.env_id, domain, hp, n_envs, seed, vec_env, transform=transform)
    if hp.goal_perception is not None:
        venv = _goal_perception(venv, run, hp, training)
    if hp.normalize_kwargs is None:
        return venv
    if stats is not None:
        return load_vecnormalize(stats, venv, training)
    if training:
        return VecNormalize(venv, **hp.normalize_kwargs)
    keys = {k: hp.normalize_kwargs[k] for k in ("norm_obs", "norm_obs_keys") if k in hp.normalize_kwargs}
    return VecNormalize(venv, training=False, norm_reward=False, **keys)
