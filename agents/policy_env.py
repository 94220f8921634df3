"""The env stack a policy sees, built in one place for training, its learning curve and ``simreal evaluate``.

:func:`make_policy_env`: ``make_vec`` (monitor, the config's env wrapper, frame stacking) -> ``GoalPerception``
(configs with ``goal_perception``: the run's pre-trained detectors estimate the goal) or ``LanePerception``
(``lane_perception``: the run's pre-trained regressor reads the lane geometry; with ``calibrated=1``
``CalibratedLanePerception``: a row detector's lane pixels lifted with the camera calibration) -> ``VecNormalize``
(configs with ``normalize``), like SB3's ``make_vec_env`` plus the wrappers a trained policy depends on.
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
from simreal.perception.lane_detection import LaneRowDetector, load_calibrated_lane_perception, pretrain_lane_detector
from simreal.perception.lane_perception import LaneRegressor, load_lane_perception, pretrain_lane_regressor
from simreal.randomization.selection import ADR, Domain, Randomization

ENCODER_SEED_OFFSET = 2_000_003


def encoder_file(model: GoalTriangulator | LaneRegressor | LaneRowDetector, run: RunConfig, hp: Hyperparams) -> Path:
    """``<run dir>/encoder.pt``: ``model`` (goal detectors, a lane regressor or a lane row detector) pre-trained on
    labelled frames of the run's training domain, unless the run dir has it already."""
    from simreal.envs.oracles import oracle_for
    from simreal.perception.checkpoint import save_model
    from simreal.perception.pretraining import pretrain_detectors, training_frames
    from simreal.perception.training import FitSettings

    path = run.out / ENCODER
    if not path.is_file():
        assert hp.pretrain_encoder is not None
        randomization = run.randomization
        domain = randomization_text(Domain("train") if isinstance(randomization, ADR) else randomization)
        frames, epochs, seed = hp.pretrain_encoder["frames"], hp.pretrain_encoder["epochs"], run.seed
        build = partial(make_env, run.env_id, **hp.env_kwargs)
        oracle = oracle_for(run.env_id)
        fit = FitSettings(epochs, seed + ENCODER_SEED_OFFSET)
        if isinstance(model, LaneRegressor):
            info = pretrain_lane_regressor(model, build, oracle, domain, frames, fit)
        elif isinstance(model, LaneRowDetector):
            info = pretrain_lane_detector(model, build, oracle, domain, frames, fit)
        else:
            images, targets = training_frames(build, oracle, domain, frames, seed + ENCODER_SEED_OFFSET)
            info = {"median_error_m": pretrain_detectors(model, images, targets, epochs, seed)}
        save_model(model, path, {**info, **hp.pretrain_encoder})
    return path


def _perception(venv: VecEnv, run: RunConfig, hp: Hyperparams, training: bool) -> VecEnv:
    """``venv`` behind the run's frozen perception: :class:`~simreal.perception.goal_perception.GoalPerception`
    (``goal_perception``), :class:`~simreal.perception.lane_perception.LanePerception` (``lane_perception``) or
    :class:`~simreal.perception.lane_detection.CalibratedLanePerception` (``lane_perception`` with
    ``calibrated=1``), pre-trained first when training and the run dir has none yet."""
    encoder = run.out / ENCODER
    if hp.goal_perception is not None:
        if training:
            encoder = encoder_file(GoalTriangulator(venv.observation_space, **hp.goal_perception), run, hp)
        return load_goal_perception(venv, encoder, hp.goal_perception)
    assert hp.lane_perception is not None
    settings = {k: v for k, v in hp.lane_perception.items() if k != "calibrated"}
    if hp.lane_perception.get("calibrated", 0):
        if training:
            encoder = encoder_file(LaneRowDetector(venv.observation_space, **settings), run, hp)
        return load_calibrated_lane_perception(venv, encoder, settings)
    if training:
        encoder = encoder_file(LaneRegressor(venv.observation_space, **settings), run, hp)
    return load_lane_perception(venv, encoder, settings)


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
    if hp.goal_perception is not None or hp.lane_perception is not None:
        venv = _perception(venv, run, hp, training)
    if hp.normalize_kwargs is None:
        return venv
    if stats is not None:
        return load_vecnormalize(stats, venv, training)
    if training:
        return VecNormalize(venv, **hp.normalize_kwargs)
    keys = {k: hp.normalize_kwargs[k] for k in ("norm_obs", "norm_obs_keys") if k in hp.normalize_kwargs}
    return VecNormalize(venv, training=False, norm_reward=False, **keys)
