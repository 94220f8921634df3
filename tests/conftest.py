"""Shared test helpers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import simreal  # noqa: F401  (selects the GL backend and registers the ids before any test imports mujoco)


@pytest.fixture
def tiny_pretrained_pixel_config(tmp_path: Path) -> Callable[..., Path]:
    """Write a tiny PPO config for pixel Reach with a pre-trained extractor: ``(extractor, kwargs, env_extra)``
    -> the YAML path (``kwargs``: the extractor's keyword arguments; ``env_extra``: more ``env_kwargs`` entries)."""

    def write(extractor: str, kwargs: str, env_extra: str = "") -> Path:
        path = tmp_path / "ppo.yml"
        path.write_text(
            f"""simreal/Reach-v0:
  policy: MultiInputPolicy
  n_envs: 2
  n_steps: 32
  batch_size: 32
  n_epochs: 1
  normalize: "dict(norm_obs_keys=['state'])"
  pretrain_encoder: "dict(frames=64, epochs=1)"
  policy_kwargs: "dict(features_extractor_class={extractor}, features_extractor_kwargs=dict({kwargs}))"
  env_kwargs: {{obs_mode: pixels_state, cameras: [front, side], image_size: 16{env_extra}}}
"""
        )
        return path

    return write
