"""The one checkpoint format of the perception models: ``torch.save`` of plain tensors and builtins, written
atomically, loadable with ``weights_only=True``::

    {"version": 1, "kind": "PointDetector", "config": {...} | None, "state_dict": {...}, "info": {...}}

``config`` holds the constructor arguments (``model.config``) when the model can be rebuilt from them alone
(:class:`~simreal.perception.detector.PointDetector`, :class:`~simreal.perception.localization.LocalizationCNN`):
:func:`load_model` rebuilds it. A :class:`~simreal.perception.goal_perception.GoalTriangulator` is built from an
observation space, so :func:`load_weights` fills one built by the caller. ``info`` is free-form (e.g. a fit error).

Files written before this format still load: localization/detector checkpoints had no ``info`` (and the oldest no
``kind``: a LocalizationCNN), a policy's ``encoder.pt`` stored ``weights`` and ``info`` only.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, TypeVar

import torch
from torch import nn

from simreal.atomic import atomic_write

__all__ = ["CHECKPOINT_VERSION", "load_model", "load_weights", "save_model"]

CHECKPOINT_VERSION = 1
ModelT = TypeVar("ModelT", bound=nn.Module)


def save_model(model: nn.Module, path: str | os.PathLike[str], info: dict[str, Any] | None = None) -> Path:
    """Write ``model``'s weights, kind, constructor settings (``model.config`` if it has one) and ``info``."""
    payload = {
        "version": CHECKPOINT_VERSION,
        "kind": type(model).__name__,
        "config": getattr(model, "config", None),
        "state_dict": model.state_dict(),
        "info": dict(info or {}),
    }
    return atomic_write(path, lambda tmp: torch.save(payload, tmp))


def _read(path: Path, expected: str) -> dict[str, Any]:
    if not path.is_file():
        raise ValueError(f"path: no checkpoint at {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for a damaged file
        raise ValueError(f"{path}: not a readable checkpoint ({error})") from error
    if not isinstance(payload, dict) or payload.get("version") != CHECKPOINT_VERSION:
        raise ValueError(f"{path}: not a perception checkpoint of version {CHECKPOINT_VERSION}")
    kind = payload.get("kind", "LocalizationCNN" if "config" in payload else expected)  # the oldest files
    if kind != expected:
        raise ValueError(f"{path}: holds a {kind}, expected a {expected}")
    return payload


def _frozen(model: ModelT) -> ModelT:
    model.eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return model


def load_model(path: str | os.PathLike[str], model_class: type[ModelT]) -> ModelT:
    """Rebuild a ``model_class`` saved by :func:`save_model` from its settings: frozen, in eval mode."""
    path = Path(path)
    payload = _read(path, model_class.__name__)
    if payload.get("config") is None:
        raise ValueError(f"{path}: holds no constructor settings; build the model and use load_weights")
    model = model_class(**payload["config"])
    model.load_state_dict(payload["state_dict"])
    return _frozen(model)


def load_weights(model: nn.Module, path: str | os.PathLike[str], freeze: bool = True) -> dict[str, Any]:
    """Load the weights saved by :func:`save_model` into ``model`` (built by the caller with the same settings;
    ``freeze``: eval mode, no gradients); returns the saved ``info``."""
    path = Path(path)
    payload = _read(path, type(model).__name__)
    weights = payload["state_dict"] if "state_dict" in payload else payload.get("weights")  # encoder.pt files
    if not isinstance(weights, dict):
        raise ValueError(f"{path}: the checkpoint holds no weights")
    try:
        model.load_state_dict(weights)
    except RuntimeError as error:
        raise ValueError(f"{path}: weights of another architecture ({error})") from error
    if freeze:
        _frozen(model)
    return dict(payload.get("info", {}))
