"""SB3 callbacks: atomic checkpoints and a learning curve of periodic deterministic evaluations."""

from __future__ import annotations

import copy
import json
import shutil
import time
from pathlib import Path

import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.vec_env import VecEnv, VecNormalize

from simreal.agents.results import LearningCurve, load_curve, save_curve
from simreal.atomic import atomic_path, atomic_write_text

CHECKPOINT_DIR = "checkpoints"
LATEST = "latest.json"
MODEL = "model.zip"
VECNORM = "vecnormalize.pkl"
REPLAY = "replay_buffer.pkl"


def save_checkpoint(model: BaseAlgorithm, root: Path, replay_buffer: bool) -> Path:
    """Write model (+ VecNormalize stats, + replay buffer) to a new step dir, then point latest.json there.

    The pointer is replaced atomically after every file is complete, so a crash never leaves a half checkpoint
    as the latest one. Older step dirs are removed afterwards.
    """
    ckpt_root = root / CHECKPOINT_DIR
    step_dir = ckpt_root / f"step_{model.num_timesteps:012d}"
    step_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(step_dir / MODEL, suffix=".zip") as tmp:
        model.save(tmp)
    vecnorm = model.get_vec_normalize_env()
    if vecnorm is not None:
        with atomic_path(step_dir / VECNORM) as tmp:
            vecnorm.save(tmp)
    if replay_buffer and isinstance(model, OffPolicyAlgorithm):
        with atomic_path(step_dir / REPLAY, suffix=".pkl") as tmp:
            model.save_replay_buffer(tmp)
    atomic_write_text(
        ckpt_root / LATEST, json.dumps({"dir": step_dir.name, "num_timesteps": model.num_timesteps}) + "\n"
    )
    for old in ckpt_root.glob("step_*"):
        if old != step_dir:
            shutil.rmtree(old, ignore_errors=True)
    return step_dir


def latest_checkpoint(root: Path) -> Path | None:
    """The step dir ``latest.json`` points at, or ``None`` when there is no complete checkpoint."""
    pointer = root / CHECKPOINT_DIR / LATEST
    if not pointer.is_file():
        return None
    try:
        latest = json.loads(pointer.read_text())
        step_dir = root / CHECKPOINT_DIR / latest["dir"]
        if not isinstance(latest["num_timesteps"], int):
            raise TypeError(f"num_timesteps must be an int, got {latest['num_timesteps']!r}")
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ValueError(f"{pointer} is corrupt: {exc!r}") from exc
    if not (step_dir / MODEL).is_file():
        raise ValueError(f"{pointer} points at {step_dir}, which has no {MODEL}")
    return step_dir


def _crossed(before: int, after: int, every: int) -> bool:
    return every > 0 and after // every > before // every


class CheckpointCallback(BaseCallback):
    """Atomic checkpoint every ``every`` env steps (counted over all envs)."""

    def __init__(self, root: Path, every: int, replay_buffer: bool) -> None:
        super().__init__()
        self.root, self.every, self.replay_buffer = root, every, replay_buffer
        self._last = 0

    def _on_training_start(self) -> None:
        self._last = self.num_timesteps

    def _on_step(self) -> bool:
        if _crossed(self._last, self.num_timesteps, self.every):
            save_checkpoint(self.model, self.root, self.replay_buffer)
            self._last = self.num_timesteps
        return True


def evaluate_episodes(model: BaseAlgorithm, env: VecEnv, episodes: int, seed: int) -> tuple[float, float]:
    """Mean return and success rate of the deterministic policy over ``episodes`` seeded episodes."""
    returns, successes = [], []
    env.seed(seed)
    obs = env.reset()
    ep_return = np.zeros(env.num_envs)
    while len(returns) < episodes:
        action, _ = model.predict(obs, deterministic=True)
        obs, reward, done, infos = env.step(action)
        raw = env.get_original_reward() if isinstance(env, VecNormalize) else reward
        ep_return += raw
        for i in np.flatnonzero(done):
            returns.append(float(ep_return[i]))
            successes.append(bool(infos[i].get("is_success", False)))
            ep_return[i] = 0.0
    return float(np.mean(returns[:episodes])), float(np.mean(successes[:episodes]))


class LearningCurveCallback(BaseCallback):
    """Evaluate every ``every`` env steps on ``eval_env`` and append to ``learning_curve.json`` atomically."""

    def __init__(
        self,
        root: Path,
        eval_env: VecEnv,
        every: int,
        episodes: int,
        seed: int,
        target_success: float | None = None,
    ) -> None:
        super().__init__()
        self.root, self.eval_env, self.every, self.episodes, self.seed = root, eval_env, every, episodes, seed
        self.target_success = target_success
        self._last = 0
        self._start = 0.0
        self._offset = 0.0

    def _on_training_start(self) -> None:
        self._last = self.num_timesteps
        self._start = time.perf_counter()
        curve = load_curve(self.root)
        self._offset = curve.wall_time[-1] if curve.wall_time else 0.0

    def evaluate_now(self) -> float:
        """Append one evaluation at the current step (reused if present); return its success rate."""
        steps = self.model.num_timesteps
        curve: LearningCurve = load_curve(self.root)
        if curve.timesteps and curve.timesteps[-1] >= steps:
            return curve.success_rate[-1]
        training_stats = self.model.get_vec_normalize_env()
        if isinstance(self.eval_env, VecNormalize) and training_stats is not None:
            # copied directly: SB3's sync_envs_normalization fails when an image env adds VecTransposeImage
            self.eval_env.obs_rms = copy.deepcopy(training_stats.obs_rms)
            self.eval_env.ret_rms = copy.deepcopy(training_stats.ret_rms)
        mean_return, success = evaluate_episodes(self.model, self.eval_env, self.episodes, self.seed)
        wall = self._offset + time.perf_counter() - self._start
        save_curve(self.root, curve.append(steps, mean_return, success, wall))
        return success

    def _on_step(self) -> bool:
        """Evaluate when due; stop training once ``target_success`` is reached."""
        if not _crossed(self._last, self.num_timesteps, self.every):
            return True
        self._last = self.num_timesteps
        success = self.evaluate_now()
        return self.target_success is None or success < self.target_success
