"""Train an SB3 agent (PPO, SAC, SAC+HER) on one env with checkpoints, a learning curve and resume.

Run directory layout: ``run.json`` (metadata), ``hyperparams.yml`` (the resolved rl-zoo3 entry),
``learning_curve.json``, ``checkpoints/`` (latest complete checkpoint), and after training ``model.zip``
(+ ``vecnormalize.pkl``), optionally ``tb/`` TensorBoard logs and ``encoder.pt`` (the goal perception's
pre-trained detectors when the config has ``goal_perception``). The env stacks come from
:func:`~simreal.agents.policy_env.make_policy_env`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import json
import shutil
from pathlib import Path

import yaml
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import CallbackList
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.vec_env import VecEnv

from simreal.agents.callbacks import (
    MODEL,
    REPLAY,
    VECNORM,
    CheckpointCallback,
    LearningCurveCallback,
    latest_checkpoint,
    save_checkpoint,
)
from simreal.agents.env_factory import randomization_hash, randomization_text, same_spec_file
from simreal.agents.hyperparams import Hyperparams
from simreal.agents.policy_env import make_policy_env
from simreal.agents.results import CURVE_FILE, RUN_FILE, RunDirError, RunMetadata, load_run, save_run
from simreal.agents.run_config import ALGOS, RunConfig
from simreal.agents.run_files import ENCODER, HP_FILE, load_policy
from simreal.atomic import atomic_path, atomic_write_text
from simreal.randomization.selection import ADR, Domain, Preset, Randomization

EVAL_SEED_OFFSET = 1_000_003


def default_method(randomization: Randomization | None) -> str:
    """Report label for a training randomization: ``no-DR``, ``DR`` or the preset name."""
    if randomization in (None, Preset("none"), Domain("canonical")):
        return "no-DR"
    return "DR" if randomization == Domain("train") else str(randomization)


def _moved_checkout(old: RunMetadata, meta: RunMetadata) -> RunMetadata:
    """``old`` with the paths that only say where the checkout lay taken from ``meta``: a spec file of the same name
    and contents (:func:`~simreal.agents.env_factory.same_spec_file`), and the config file when the hyper-parameters
    it gave are the same (``hyperparams_hash``). So a run resumes after its checkout moved (another clone, a
    cluster's path)."""
    if same_spec_file(old.env_id, old.env_kwargs, old.randomization, old.randomization_hash, meta.randomization):
        old = dataclasses.replace(old, randomization=meta.randomization, randomization_hash=meta.randomization_hash)
    if old.hyperparams_hash is not None and old.hyperparams_hash == meta.hyperparams_hash:
        old = dataclasses.replace(old, config_path=meta.config_path)
    return old


def _prepare_dir(out: Path, meta: RunMetadata, resume: bool) -> bool:
    """Check an existing run dir against ``meta``; return True when it already holds the finished run."""
    if not (out / RUN_FILE).exists():
        # run.json is written once the whole env stack exists (detectors pre-trained): an encoder.pt without it
        # comes from an attempt that stopped before, perhaps with other settings, and is not reused
        (out / ENCODER).unlink(missing_ok=True)
        return False
    if not resume:
        for name in (MODEL, VECNORM, CURVE_FILE, RUN_FILE, ENCODER):
            (out / name).unlink(missing_ok=True)
        shutil.rmtree(out / "checkpoints", ignore_errors=True)
        return False
    old = _moved_checkout(load_run(out), meta)  # before the fill-in below: a config path passes on a recorded hash
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


def _build_model(run: RunConfig, hp: Hyperparams, venv: VecEnv, ckpt: Path | None, tb: str | None) -> BaseAlgorithm:
    cls = ALGOS[run.algo]
    if ckpt is None:
        kwargs = hp.algo_kwargs
        return cls(hp.policy, venv, seed=run.seed, device=run.device, tensorboard_log=tb, verbose=0, **kwargs)
    model = load_policy(ckpt / MODEL, cls, env=venv, device=run.device, tensorboard_log=tb)
    if isinstance(model, OffPolicyAlgorithm) and (ckpt / REPLAY).is_file():
        model.load_replay_buffer(ckpt / REPLAY)
    return model


def _save_final(model: BaseAlgorithm, out: Path) -> None:
    vecnorm = model.get_vec_normalize_env()
    if vecnorm is not None:
        with atomic_path(out / VECNORM) as tmp:
            vecnorm.save(tmp)
    with atomic_path(out / MODEL, suffix=".zip") as tmp:
        model.save(tmp)


def _metadata(run: RunConfig, hp: Hyperparams, total: int) -> RunMetadata:
    text = randomization_text(run.randomization)
    return RunMetadata(
        env_id=run.env_id,
        algo=run.algo,
        seed=run.seed,
        method=run.method or default_method(run.randomization),
        randomization=text,
        randomization_hash=randomization_hash(run.env_id, text, hp.env_kwargs),
        timesteps=total,
        env_kwargs=json.loads(json.dumps(hp.env_kwargs)),
        config_path=run.config_path,
        vecnormalize=hp.normalize_kwargs is not None,
        hyperparams_hash=hashlib.sha256(json.dumps(hp.entry, sort_keys=True, default=str).encode()).hexdigest()[:12],
    )


def train(run: RunConfig) -> Path:
    """Train ``run.algo`` on ``run.env_id`` into ``run.out_dir`` and return it; resumes from its last checkpoint
    (see :class:`~simreal.agents.run_config.RunConfig` for every setting)."""
    hp = run.hyperparams()
    total = run.timesteps if run.timesteps is not None else hp.n_timesteps
    if total is None:
        raise ValueError("timesteps must be given when the config has no n_timesteps")
    out = run.out
    out.mkdir(parents=True, exist_ok=True)
    meta = _metadata(run, hp, total)
    if _prepare_dir(out, meta, run.resume):
        return out
    tb = _tensorboard_dir(out, run.tensorboard)
    ckpt = latest_checkpoint(out) if run.resume else None
    start = 0 if ckpt is None else json.loads((out / "checkpoints" / "latest.json").read_text())["num_timesteps"]
    if start > total:  # resuming would label a longer-trained policy with the smaller budget
        raise ValueError(
            f"timesteps: {out} holds a policy trained for {start} steps, more than the {total} asked for; "
            "ask for at least that many or start over (resume=False, --no-resume)"
        )
    n_envs = hp.n_envs if run.n_envs is None else run.n_envs
    # a checkpoint of a normalized run without its statistics is incomplete: never resume with fresh ones
    stats = None if ckpt is None else ckpt / VECNORM
    venv = make_policy_env(run, run.randomization, n_envs, training=True, seed=run.seed + start, stats=stats)
    # only once the envs exist: bad env kwargs must not leave a run.json that blocks the corrected command
    save_run(out, meta)
    atomic_write_text(out / HP_FILE, yaml.safe_dump({run.env_id: json.loads(json.dumps(hp.entry))}, sort_keys=True))
    model = _build_model(run, hp, venv, ckpt, tb)
    # ADR ranges move with performance, so its learning curve is measured on the fixed training domain
    eval_domain = Domain("train") if isinstance(run.randomization, ADR) else run.randomization
    eval_seed = run.seed + EVAL_SEED_OFFSET
    eval_env = make_policy_env(run, eval_domain, 1, training=False, seed=eval_seed)
    curve = LearningCurveCallback(
        out, eval_env, run.eval_freq, run.eval_episodes, eval_seed, target_success=run.target_success
    )
    callbacks = CallbackList([CheckpointCallback(out, run.eval_freq, run.checkpoint_replay_buffer), curve])
    try:
        if total > model.num_timesteps:
            model.learn(
                total - model.num_timesteps,
                callback=callbacks,
                progress_bar=run.progress_bar,
                reset_num_timesteps=ckpt is None,
                tb_log_name="tb",
            )
        else:
            callbacks.init_callback(model)
        if run.eval_freq > 0:
            curve.evaluate_now()
        save_checkpoint(model, out, run.checkpoint_replay_buffer)
        _save_final(model, out)
    finally:
        venv.close()
        eval_env.close()
    return out
