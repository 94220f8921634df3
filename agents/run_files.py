"""The files a trained run (or one of its checkpoints) needs, loaded with errors that name the file.

A run is evaluated exactly as it was trained: a policy trained behind ``VecNormalize`` refuses to run without its
``vecnormalize.pkl`` (its observations would be fed to the policy unnormalized), one trained with
``goal_perception`` or ``lane_perception`` without its ``encoder.pt``. Missing, unreadable or mismatching files raise
:class:`~simreal.agents.results.RunDirError` naming the file.
"""

from __future__ import annotations

from pathlib import Path

from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.vec_env import VecEnv, VecNormalize

from simreal.agents.callbacks import MODEL, VECNORM
from simreal.agents.hyperparams import Hyperparams, load_hyperparams
from simreal.agents.results import RunDirError, RunMetadata

HP_FILE = "hyperparams.yml"
ENCODER = "encoder.pt"


def run_hyperparams(train_dir: Path, meta: RunMetadata) -> Hyperparams:
    """The resolved hyper-parameters the run was trained with (``hyperparams.yml`` in the run dir)."""
    path = train_dir / HP_FILE
    if not path.is_file():
        raise RunDirError(f"{path} does not exist (is {train_dir} a run directory written by simreal train?)")
    try:
        return load_hyperparams(meta.algo, meta.env_id, path)
    except ValueError as exc:
        raise RunDirError(f"{path} is invalid: {exc}") from exc


def uses_vecnormalize(meta: RunMetadata, hp: Hyperparams) -> bool:
    """Whether the policy was trained behind ``VecNormalize`` (``run.json``; older runs: ``hyperparams.yml``)."""
    return meta.vecnormalize if meta.vecnormalize is not None else hp.normalize_kwargs is not None


def check_run_files(train_dir: Path, meta: RunMetadata) -> Hyperparams:
    """Raise ``RunDirError`` naming the first file evaluation needs that is missing; return the hyper-parameters."""
    hp = run_hyperparams(train_dir, meta)
    needed = [MODEL]
    if uses_vecnormalize(meta, hp):
        needed.append(VECNORM)
    if hp.goal_perception is not None or hp.lane_perception is not None:
        needed.append(ENCODER)
    for name in needed:
        if not (train_dir / name).is_file():
            why = {
                MODEL: "training not finished?",
                VECNORM: "the policy was trained with VecNormalize and cannot be evaluated without its statistics",
                ENCODER: "the policy was trained with a perception module and needs its pre-trained weights",
            }[name]
            raise RunDirError(f"{train_dir / name} does not exist ({why})")
    if not uses_vecnormalize(meta, hp) and (train_dir / VECNORM).is_file():
        raise RunDirError(f"{train_dir / VECNORM} exists but {train_dir} was trained without VecNormalize")
    return hp


def load_policy(path: Path, algo: type[BaseAlgorithm], **kwargs: object) -> BaseAlgorithm:
    """``algo.load(path, **kwargs)``; a missing or damaged zip raises ``RunDirError`` naming it."""
    if not path.is_file():
        raise RunDirError(f"{path} does not exist (training not finished?)")
    try:
        return algo.load(path, **kwargs)  # type: ignore[arg-type]
    except Exception as exc:  # SB3/zipfile/torch raise many types for a damaged file
        raise RunDirError(f"{path} is corrupt: {exc}") from exc


def load_vecnormalize(path: Path, venv: VecEnv, training: bool) -> VecNormalize:
    """``VecNormalize`` statistics from ``path`` around ``venv``; missing, damaged or mismatching files raise
    ``RunDirError`` naming the file. ``training=False`` freezes the statistics and reports raw rewards."""
    if not path.is_file():
        raise RunDirError(f"{path} does not exist: the policy was trained with VecNormalize and needs its statistics")
    try:
        vecnorm = VecNormalize.load(str(path), venv)
    except Exception as exc:  # pickle raises UnpicklingError, EOFError, ValueError, ... for a damaged file
        raise RunDirError(f"{path} is corrupt or does not match the env: {type(exc).__name__}: {exc}") from exc
    if not training:
        vecnorm.training, vecnorm.norm_reward = False, False
    return vecnorm
