"""Typed, validated environment options shared by every simreal env.

Each env id is built from a frozen config dataclass; :func:`config_from_kwargs` turns ``gym.make`` keyword arguments
into one and rejects unknown names or values with a ValueError that names the argument and what is allowed.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from simreal.envs.rendering import QUALITY_PRESETS

OBS_MODES = ("state", "pixels", "pixels_state")
RENDER_MODES = ("rgb_array", "depth_array", None)
IMAGE_SIZE_RANGE = (8, 512)


def check_choice(name: str, value: Any, allowed: tuple[Any, ...]) -> None:
    """Raise ValueError unless ``value`` is one of ``allowed``."""
    if value not in allowed:
        raise ValueError(f"{name} must be one of {list(allowed)}, got {value!r}")


def check_number_range(name: str, value: Any, low: float, high: float) -> None:
    """Raise ValueError unless ``value`` is a number (int or float, not bool) in ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ValueError(f"{name} must be a number in [{low}, {high}], got {value!r}")


def check_int_range(name: str, value: Any, low: int, high: int) -> None:
    """Raise ValueError unless ``value`` is an int in ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be an integer in [{low}, {high}], got {value!r}")


def no_unknown_keys(cls: type, data: Any, where: str) -> None:
    """``ValueError`` naming the keys of ``data`` that are not fields of the dataclass ``cls``, and the allowed ones
    (shared by every config parsed from YAML: run configs, experiments, benchmarks)."""
    if not isinstance(data, Mapping):
        raise ValueError(f"{where} must be a mapping, got {type(data).__name__}")
    allowed = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ValueError(f"{where}: unknown keys {unknown}; allowed {sorted(allowed)}")


def _type_name(tp: Any) -> str:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in args)
    if origin is tuple:
        return "a sequence of strings" if args[0] is str else f"a sequence of {_type_name(args[0])}"
    return {bool: "true/false", int: "an integer", float: "a finite number", str: "a string"}.get(tp, "None")


def _has_type(value: Any, tp: Any) -> bool:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return any(_has_type(value, a) for a in args)
    if origin is tuple:
        return isinstance(value, tuple) and all(_has_type(v, args[0]) for v in value)
    if tp is type(None):
        return value is None
    if tp is bool:
        return isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if tp is float:
        return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    return isinstance(value, tp)


def check_field_types(config: Any) -> None:
    """Raise ValueError naming the first field of a config dataclass whose value does not have its annotated type
    (ints are accepted for floats, bools are not numbers)."""
    hints = typing.get_type_hints(type(config))
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if not _has_type(value, hints[f.name]):
            default = "" if f.default is dataclasses.MISSING else f" (default {f.default!r})"
            kind = _type_name(hints[f.name])
            raise ValueError(f"{f.name} must be {kind}{default}, got {type(value).__name__} {value!r}")


@dataclass(frozen=True)
class EnvConfig:
    """Options common to every simreal env. Observations always render with the ``fast`` preset."""

    obs_mode: str = "state"
    image_size: int = 64
    cameras: tuple[str, ...] = ()  # empty -> the task's default camera
    render_mode: str | None = None
    render_quality: str = "high"  # for env.render() (videos); observations are always "fast"
    render_size: int = 256
    camera_projections: bool = False  # pixels_state: add each camera's 3x4 projection matrix ("<key>_projection")

    def __post_init__(self) -> None:
        check_field_types(self)  # of every field, subclasses' included, before any range check
        check_choice("obs_mode", self.obs_mode, OBS_MODES)
        check_int_range("image_size", self.image_size, *IMAGE_SIZE_RANGE)
        check_int_range("render_size", self.render_size, *IMAGE_SIZE_RANGE)
        check_choice("render_mode", self.render_mode, RENDER_MODES)
        check_choice("render_quality", self.render_quality, tuple(QUALITY_PRESETS))
        if isinstance(self.cameras, str) or not all(isinstance(c, str) for c in self.cameras):
            raise ValueError(f"cameras must be a sequence of camera names, got {self.cameras!r}")
        if len(set(self.cameras)) != len(self.cameras):
            raise ValueError(f"cameras must not repeat a name, got {self.cameras!r}")
        if self.camera_projections and self.obs_mode != "pixels_state":
            raise ValueError(f"camera_projections needs obs_mode='pixels_state', got obs_mode={self.obs_mode!r}")

    @property
    def uses_pixels(self) -> bool:
        """Whether observations contain images."""
        return self.obs_mode != "state"


ConfigT = TypeVar("ConfigT", bound=EnvConfig)


def config_from_kwargs(cls: type[ConfigT], kwargs: Mapping[str, Any], env_id: str) -> ConfigT:
    """Build ``cls`` from keyword arguments; unknown names raise a ValueError listing the allowed ones."""
    allowed = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(kwargs) - set(allowed))
    if unknown:
        raise ValueError(f"{env_id}: unknown argument(s) {unknown}; allowed: {allowed}")
    values = {k: v.item() if isinstance(v, np.generic) else v for k, v in kwargs.items()}  # numpy scalars
    if isinstance(values.get("cameras"), list | tuple):
        values["cameras"] = tuple(values["cameras"])
    return cls(**values)
