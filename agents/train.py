"""Train an SB3 agent (PPO, SAC, SAC+HER) on one env with checkpoints, a learning curve and resume.

Run directory layout: ``run.json`` (metadata), ``hyperparams.yml`` (the resolved rl-zoo3 entry),
``learning_curve.json``, ``checkpoints/`` (latest complete checkpoint), and after training ``model.zip``
(+ ``vecnormalize.pkl``), optionally ``tb/`` TensorBoard logs and ``encoder.pt`` (the pre-trained keypoint
encoder when the config has ``pretrain_encoder``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import json
import shutil
from functools import partial
from pathlib import Path
from typing import Any

import yaml
from stable_baselines3 import PPO, SAC
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import CallbackList
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.vec_env import VecEnv, VecNormalize

from simreal.agents.callbacks import (
    MODEL,
    REPLAY,
    VECNORM,
    CheckpointCallback,
    LearningCurveCallback,
    latest_checkpoint,
    save_checkpoint,
)
from simreal.agents.env_factory import make_vec, randomization_hash, randomization_text
from simreal.agents.hyperparams import Hyperparams, load_hyperparams
from simreal.agents.results import CURVE_FILE, RUN_FILE, RunDirError, RunMetadata, load_run, save_run
from simreal.agents.run_files import ENCODER, HP_FILE, load_policy, load_vecnormalize
from simreal.atomic import atomic_path, atomic_write_text
from simreal.perception.goal_perception import load_goal_perception
from simreal.randomization.selection import ADR, Domain, Preset, Randomization, Spec, parse_randomization

ALGOS: dict[str, type[BaseAlgorithm]] = {"ppo": PPO, "sac": SAC, "sac_her": SAC}
EVAL_SEED_OFFSET = 1_000_003
ENCODER_SEED_OFFSET = 2_000_003


def default_method(randomization: Randomization | None) -> str:
    """Report label for a training randomization: ``no-DR``, ``DR`` or the preset name."""
    if randomization in (None, Preset("none"), Domain("canonical")):
        return "no-DR"
    return "DR" if randomization == Domain("train") else str(randomization)


def _check_args(algo: str, timesteps: int | None, seed: int, eval_freq: int, eval_episodes: int) -> None:
    if algo not in ALGOS:
        raise ValueError(f"algo must be one of {sorted(ALGOS)}, got {algo!r}")
    if timesteps is not None and timesteps < 1:
        raise ValueError(f"timesteps must be >= 1, got {timesteps}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    if eval_freq < 0:
        raise ValueError(f"eval_freq must be >= 0 (0 disables evaluation), got {eval_freq}")
    if eval_episodes < 1:
        raise ValueError(f"eval_episodes must be >= 1, got {eval_episodes}")


def _prepare_dir(out: Path, meta: RunMetadata, resume: bool) -> bool:
    """Check an existing run dir against ``meta``; return True when it already holds the finished run."""
    if not (out / RUN_FILE).exists():
        return False
    if not resume:
        for name in (MODEL, VECNORM, CURVE_FILE, RUN_FILE, ENCODER):
            (out / name).unlink(missing_ok=True)
        shutil.rmtree(out / "checkpoints", ignore_errors=True)
        return False
    old = load_run(out)
    recorded_later = ("vecnormalize", "hyperparams_hash")  # None in run.json files written before they existed
    old = dataclasses.replace(old, **{k: getattr(meta, k) for k in recorded_later if getattr(old, k) is None})
    diff = [f.name for f in dataclasses.fields(meta) if getattr(old, f.name) != getattr(meta, f.name)]
    if set(diff) - {"timesteps"}:
        raise RunDirError(f"{out} holds a run with different {sorted(set(diff) - {'timesteps'})}; use resume=False")
    return not diff and (out / MODEL).exists()


def _tensorboard_dir(out: Path, tensorboard: bool) -> str | None:
    if not tensorboard:
        return None
    if importlib.util.find_spec("tensorboard") is None:
        raise ValueError("tensorboard=True needs the 'tensorboard' package (pip install tensorboard)")
    return str(out / "tb")


def _eval_env(env_id: str, randomization: Randomization | None, hp: Hyperparams, seed: int, out: Path) -> VecEnv:
    env = make_vec(env_id, randomization, hp, n_envs=1, seed=seed)
    if hp.goal_perception is not None:
        env = load_goal_perception(env, out / ENCODER, hp.goal_perception)
    if hp.normalize_kwargs is None:
        return env
    keys = {k: hp.normalize_kwargs[k] for k in ("norm_obs", "norm_obs_keys") if k in hp.normalize_kwargs}
    return VecNormalize(env, training=False, norm_reward=False, **keys)


def _build_model(
    algo: str, hp: Hyperparams, venv: VecEnv, seed: int, ckpt: Path | None, tb: str | None, device: str
) -> BaseAlgorithm:
    cls = ALGOS[algo]
    if ckpt is None:
        return cls(hp.policy, venv, seed=seed, device=device, tensorboard_log=tb, verbose=0, **hp.algo_kwargs)
    model = load_policy(ckpt / MODEL, cls, env=venv, device=device, tensorboard_log=tb)
    if isinstance(model, OffPolicyAlgorithm) and (ckpt / REPLAY).is_file():
        model.load_replay_buffer(ckpt / REPLAY)
    return model


def _encoder_file(
    extractor: Any, env_id: str, randomization: Randomization | None, hp: Hyperparams, seed: int, out: Path
) -> Path:
    """``out/encoder.pt``, pre-trained into ``extractor`` (a ``KeypointExtractor`` or ``TriangulatingExtractor``)
    from labelled frames of the run's training domain unless the run dir already has it."""
    from simreal.agents.env_factory import make_env
    from simreal.envs.oracles import oracle_for
    from simreal.perception.extractors import TriangulatingExtractor
    from simreal.perception.pretraining import (
        pretrain_detectors,
        pretrain_encoder,
        save_encoder,
        training_frames,
    )

    path = out / ENCODER
    if not path.is_file():
        assert hp.pretrain_encoder is not None
        domain = randomization_text(Domain("train") if isinstance(randomization, ADR) else randomization)
        frames, epochs = hp.pretrain_encoder["frames"], hp.pretrain_encoder["epochs"]
        build = partial(make_env, env_id, **hp.env_kwargs)
        images, targets = training_frames(build, oracle_for(env_id), domain, frames, seed + ENCODER_SEED_OFFSET)
        if isinstance(extractor, TriangulatingExtractor):
            info = {"median_error_m": pretrain_detectors(extractor, images, targets, epochs, seed)}
        else:
            info = {"rmse_m": pretrain_encoder(extractor, images, targets, epochs, seed)}
        save_encoder(extractor, path, {**info, **hp.pretrain_encoder})
    return path


def _pretrained_encoder(
    model: BaseAlgorithm, env_id: str, randomization: Randomization | None, hp: Hyperparams, seed: int, out: Path
) -> None:
    """Pre-train (once per run dir) and load the frozen encoder into every extractor of the policy: the keypoint
    trunks of a ``KeypointExtractor`` or the point detectors of a ``TriangulatingExtractor``."""
    from simreal.perception.extractors import KeypointExtractor, TriangulatingExtractor
    from simreal.perception.pretraining import load_encoder

    kinds = (KeypointExtractor, TriangulatingExtractor)
    extractors = [m for m in model.policy.modules() if isinstance(m, kinds)]
    if not extractors:
        raise ValueError("pretrain_encoder needs features_extractor_class KeypointExtractor or TriangulatingExtractor")
    path = _encoder_file(extractors[0], env_id, randomization, hp, seed, out)
    for extractor in extractors:
        load_encoder(extractor, path, freeze=True)


def _goal_perception(
    venv: VecEnv, env_id: str, randomization: Randomization | None, hp: Hyperparams, seed: int, out: Path
) -> VecEnv:
    """``venv`` behind :class:`~simreal.perception.goal_perception.GoalPerception` with the run's pre-trained
    detectors."""
    from simreal.perception.extractors import TriangulatingExtractor

    assert hp.goal_perception is not None
    extractor = TriangulatingExtractor(venv.observation_space, **hp.goal_perception)
    encoder = _encoder_file(extractor, env_id, randomization, hp, seed, out)
    return load_goal_perception(venv, encoder, hp.goal_perception)


def _save_final(model: BaseAlgorithm, out: Path) -> None:
    vecnorm = model.get_vec_normalize_env()
    if vecnorm is not None:
        with atomic_path(out / VECNORM) as tmp:
            vecnorm.save(tmp)
    with atomic_path(out / MODEL, suffix=".zip") as tmp:
        model.save(tmp)


def train(
    env_id: str,
    algo: str,
    randomization: Randomization | str | None = None,
    timesteps: int | None = None,
    seed: int = 0,
    out_dir: str | Path = "runs/run",
    config_path: str | Path | None = None,
    n_envs: int | None = None,
    eval_freq: int = 10_000,
    resume: bool = True,
    tensorboard: bool = False,
    env_kwargs: dict[str, Any] | None = None,
    *,
    eval_episodes: int = 10,
    method: str | None = None,
    progress_bar: bool = True,
    vec_env: str = "dummy",
    target_success: float | None = None,
    checkpoint_replay_buffer: bool = True,
    device: str = "cpu",
    hyperparams_overrides: dict[str, Any] | None = None,
) -> Path:
    """Train ``algo`` on ``env_id`` into ``out_dir`` and return it; resumes from its last checkpoint.

    Hyper-parameters come from ``config_path`` (default ``configs/<algo>[_pixels].yml``) with
    ``hyperparams_overrides`` merged on them (an experiment's ``hyperparams:``); ``timesteps`` and
    ``n_envs`` override the file. ``eval_freq`` (env steps, 0 = off) sets both evaluation and checkpoint
    period; ``target_success`` stops training once an evaluation reaches that success rate.
    """
    _check_args(algo, timesteps, seed, eval_freq, eval_episodes)
    randomization = parse_randomization(randomization)
    if isinstance(randomization, Spec):
        raise ValueError("randomization: a trained run records its randomization by name; save the spec to a file")
    if n_envs is not None and n_envs < 1:
        raise ValueError(f"n_envs must be >= 1, got {n_envs}")
    hp = load_hyperparams(algo, env_id, config_path, env_kwargs, hyperparams_overrides)
    total = timesteps if timesteps is not None else hp.n_timesteps
    if total is None:
        raise ValueError("timesteps must be given when the config has no n_timesteps")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    meta = RunMetadata(
        env_id=env_id,
        algo=algo,
        seed=seed,
        method=method or default_method(randomization),
        randomization=randomization_text(randomization),
        randomization_hash=randomization_hash(env_id, randomization_text(randomization), hp.env_kwargs),
        timesteps=total,
        env_kwargs=json.loads(json.dumps(hp.env_kwargs)),
        config_path=None if config_path is None else str(config_path),
        vecnormalize=hp.normalize_kwargs is not None,
        hyperparams_hash=hashlib.sha256(json.dumps(hp.entry, sort_keys=True, default=str).encode()).hexdigest()[:12],
    )
    if _prepare_dir(out, meta, resume):
        return out
    tb = _tensorboard_dir(out, tensorboard)
    ckpt = latest_checkpoint(out) if resume else None
    start = 0 if ckpt is None else json.loads((out / "checkpoints" / "latest.json").read_text())["num_timesteps"]
    if start > total:  # resuming would label a longer-trained policy with the smaller budget
        raise ValueError(
            f"timesteps: {out} holds a policy trained for {start} steps, more than the {total} asked for; "
            "ask for at least that many or start over (resume=False, --no-resume)"
        )
    venv = make_vec(env_id, randomization, hp, hp.n_envs if n_envs is None else n_envs, seed + start, vec_env)
    # only once the envs exist: bad env kwargs must not leave a run.json that blocks the corrected command
    save_run(out, meta)
    atomic_write_text(out / HP_FILE, yaml.safe_dump({env_id: json.loads(json.dumps(hp.entry))}, sort_keys=True))
    if hp.goal_perception is not None:
        venv = _goal_perception(venv, env_id, randomization, hp, seed, out)
    if hp.normalize_kwargs is not None:
        # a checkpoint of a normalized run without its statistics is incomplete: never resume with fresh ones
        fresh = ckpt is None
        venv = VecNormalize(venv, **hp.normalize_kwargs) if fresh else load_vecnormalize(ckpt / VECNORM, venv, True)
    model = _build_model(algo, hp, venv, seed, ckpt, tb, device)
    if hp.pretrain_encoder is not None and hp.goal_perception is None:
        _pretrained_encoder(model, env_id, randomization, hp, seed, out)
    # ADR ranges move with performance, so its learning curve is measured on the fixed training domain
    eval_randomization = Domain("train") if isinstance(randomization, ADR) else randomization
    eval_env = _eval_env(env_id, eval_randomization, hp, seed + EVAL_SEED_OFFSET, out)
    curve = LearningCurveCallback(
        out, eval_env, eval_freq, eval_episodes, seed + EVAL_SEED_OFFSET, target_success=target_success
    )
    callbacks = CallbackList([CheckpointCallback(out, eval_freq, checkpoint_replay_buffer), curve])
    try:
        if total > model.num_timesteps:
            model.learn(
                total - model.num_timesteps,
                callback=callbacks,
                progress_bar=progress_bar,
                reset_num_timesteps=ckpt is None,
                tb_log_name="tb",
            )
        else:
            callbacks.init_callback(model)
        if eval_freq > 0:
            curve.evaluate_now()
        save_checkpoint(model, out, checkpoint_replay_buffer)
        _save_final(model, out)
    finally:
        venv.close()
        eval_env.close()
    return out
