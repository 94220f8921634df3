"""``simreal transfer train``: collect frames of both sides (a simreal env and domain, or a folder or video of real
images) and train a CycleGAN from sim to real; :mod:`simreal.cli` parses the arguments and calls :func:`train_main`."""

from __future__ import annotations

from pathlib import Path

from simreal.transfer.config import PRESETS, CycleGANConfig, CycleGANRun
from simreal.transfer.trainer import train_cyclegan

__all__ = ["train_main"]


def train_main(
    source: str,
    target: str,
    preset: str,
    out: str,
    steps: int,
    seed: int,
    n_frames: int,
    image_size: int,
) -> Path:
    """Collect ``n_frames`` frames per side and train a CycleGAN from ``source`` (sim) to ``target`` (real).

    Each side is an ``env_id:domain`` spec (e.g. ``simreal/Push-v0:canonical``) or a folder/video of frames,
    resolved by :func:`simreal.data.sources.load_frames`. Returns the checkpoint path under ``out``.
    """
    if preset not in PRESETS:
        raise ValueError(f"preset must be one of {PRESETS}, got {preset!r}")
    if isinstance(n_frames, bool) or not isinstance(n_frames, int) or n_frames < 1:
        raise ValueError(f"n_frames must be an int >= 1, got {n_frames!r}")
    config = CycleGANConfig.preset(preset, image_size=image_size)
    from simreal.data.sources import load_frames  # lazy: data collection pulls in MuJoCo

    source_frames = load_frames(source, n=n_frames, image_size=image_size, seed=seed)
    target_frames = load_frames(target, n=n_frames, image_size=image_size, seed=seed + 1)
    return train_cyclegan(source_frames, target_frames, config, out, CycleGANRun(steps, seed))
