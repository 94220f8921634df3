"""Typed, validated environment options shared by every simreal env.

Each env id is built from a frozen config dataclass; :func:`config_from_kwargs` turns ``gym.make`` keyword arguments
into one and rejects unknown names or values with a ValueError that names the argument and what is allowed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from simreal.envs.rendering import QUALITY_PRESETS

OBS_MODES = ("state", "pixels", "pixels_state")
RENDER_MODES = ("rgb_array", "depth_array", None)
IMAGE_SIZE_RANGE = (8, 512)


def check_choice(name: str, value: Any, allowed: tuple[Any, ...]) -> None:
    """Raise ValueError unless ``value`` is one of ``allowed``."""
    if value not in allowed:
        raise ValueError(f"{name} must be one of {list(allowed)}, got {value!r}")


def check_int_range(name: str, value: Any, low: int, high: int) -> None:
    """Raise ValueError unless ``value`` is an int in ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be an integer in [{low}, {high}], got {value!r}")


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
    values = dict(kwargs)
    if "cameras" in values and not isinstance(values["cameras"], str):
        values["cameras"] = tuple(values["cameras"])
    return cls(**values)
