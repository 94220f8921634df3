"""Shared test helpers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

import simreal  # noqa: F401  (selects the GL backend and registers the ids before any test imports mujoco)

TINY_PPO = (
    "Pendulum-v1:\n  policy: MlpPolicy\n  n_steps: 64\n  batch_size: 64\n  n_epochs: 1\n"
    "  policy_kwargs: 'dict(net_arch=[16])'\n"
)


@pytest.fixture
def tiny_experiment(tmp_path: Path) -> Callable[..., Path]:
    """Writes a policy-matrix YAML that trains PPO on Pendulum for 128 steps (no-DR and DR, seeds 0-1, canonical and
    real, 2 episodes) under ``tmp_path/NAME``; keyword arguments replace its keys. Returns the YAML's path."""

    def write(name: str = "t", **overrides: Any) -> Path:
        zoo = tmp_path / "ppo.yml"
        zoo.write_text(TINY_PPO)
        cfg = {
            "name": name,
            "env_id": "Pendulum-v1",
            "algo": "ppo",
            "methods": [{"name": "no-DR"}, {"name": "DR", "randomization": "train"}],
            "seeds": [0, 1],
            "config_path": str(zoo),
            "timesteps": 128,
            "domains": ["canonical", "real"],
            "episodes": 2,
            "eval_freq": 64,
            "eval_episodes": 1,
            "gif_frames": 0,
            "out_dir": str(tmp_path / name / "runs"),
            "report_dir": str(tmp_path / name / "report"),
            **overrides,
        }
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(cfg))
        return path

    return write


@pytest.fixture
def tiny_ppo_run(tmp_path: Path) -> Callable[[str], Path]:
    """Trains PPO (MlpPolicy, one 64-step update, seed 0) on the given env id under ``tmp_path/run``; returns the run
    folder."""

    def train_run(env_id: str) -> Path:
        from simreal.agents.run_config import RunConfig
        from simreal.agents.train import train

        zoo = tmp_path / "ppo.yml"
        zoo.write_text(f"{env_id}:\n  policy: MlpPolicy\n  n_steps: 64\n  batch_size: 64\n  n_epochs: 1\n")
        return Path(train(RunConfig(
            env_id=env_id, algo="ppo", timesteps=64, seed=0, out_dir=tmp_path / "run", config_path=zoo,
            eval_freq=0, progress_bar=False,
        )))  # fmt: skip

    return train_run
