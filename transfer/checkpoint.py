"""Atomic CycleGAN checkpoints and loading of a single generator for inference.

A checkpoint is a ``torch.save`` dict of plain tensors and builtins (loadable with ``weights_only=True``)::

    {"format": "simreal.cyclegan/1", "config": CycleGANConfig.to_dict(), "step": int,
     "models": {"G_sim2real": ..., "G_real2sim": ..., "D_real": ..., "D_sim": ...},  # state dicts
     ...trainer state (optimizers, RNG, image pools, loss history)...}

The training *source* is the simulation side and the *target* the real side: ``sim2real`` is the generator
``G: source -> target`` and ``real2sim`` is ``F: target -> source``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from simreal.atomic import atomic_write
from simreal.transfer.config import CycleGANConfig, GeneratorConfig
from simreal.transfer.networks import ResnetGenerator

__all__ = ["CHECKPOINT_FORMAT", "DIRECTIONS", "load_checkpoint", "load_generator", "save_checkpoint"]

CHECKPOINT_FORMAT = "simreal.cyclegan/1"
DIRECTIONS = {"sim2real": "G_sim2real", "real2sim": "G_real2sim"}


def save_checkpoint(path: str | os.PathLike[str], state: dict[str, Any]) -> Path:
    """Write ``state`` (holding ``config``, ``step`` and ``models``) atomically to ``path``; return it."""
    for key in ("config", "step", "models"):
        if key not in state:
            raise ValueError(f"checkpoint state is missing {key!r}")
    payload = {"format": CHECKPOINT_FORMAT, **state}
    return atomic_write(path, lambda tmp: torch.save(payload, tmp))


def load_checkpoint(path: str | os.PathLike[str], map_location: torch.device | str = "cpu") -> dict[str, Any]:
    """Load and validate a checkpoint dict (``weights_only=True``).

    Raises FileNotFoundError when missing and ValueError naming the file when it is corrupt or not a
    simreal CycleGAN checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        data = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises RuntimeError, UnpicklingError, EOFError, ... for bad files
        raise ValueError(f"checkpoint {path} is corrupt or not a torch checkpoint: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"checkpoint {path} is not a simreal CycleGAN checkpoint (format {CHECKPOINT_FORMAT!r})")
    try:
        data["config"] = CycleGANConfig.from_dict(data["config"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"checkpoint {path} holds an invalid config: {exc}") from exc
    if not isinstance(data.get("models"), dict) or not isinstance(data.get("step"), int):
        raise ValueError(f"checkpoint {path} lacks model state dicts or step")
    return data


def load_generator(
    path: str | os.PathLike[str],
    direction: str = "real2sim",
    device: torch.device | str = "cpu",
    expected: GeneratorConfig | None = None,
) -> ResnetGenerator:
    """Build the ``direction`` generator (``"real2sim"`` or ``"sim2real"``) from a checkpoint, in eval mode.

    ``expected`` optionally pins the architecture: a checkpoint with another generator config raises
    ValueError. Weights that do not fit the stored architecture also raise ValueError naming the file.
    """
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {sorted(DIRECTIONS)}, got {direction!r}")
    data = load_checkpoint(path, map_location=device)
    config: GeneratorConfig = data["config"].generator
    if expected is not None and expected != config:
        raise ValueError(f"checkpoint {path} has generator architecture {config}, expected {expected}")
    key = DIRECTIONS[direction]
    if key not in data["models"]:
        raise ValueError(f"checkpoint {path} has no {key!r} weights")
    generator = ResnetGenerator(config)
    try:
        generator.load_state_dict(data["models"][key])
    except RuntimeError as exc:
        raise ValueError(f"checkpoint {path}: {key} weights do not match architecture {config}: {exc}") from exc
    return generator.to(device).eval().requires_grad_(False)
