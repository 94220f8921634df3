"""Factor ``sensor``: the camera pipeline applied to image observations (see ``randomization/sensor.py``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simreal.randomization import bounds as B
from simreal.randomization.distributions import Distribution
from simreal.randomization.draws import Draws
from simreal.randomization.factors.base import Compiler, Factor, Out, Step, Units, setting_units
from simreal.randomization.sensor import SENSOR_OPS


@dataclass(frozen=True)
class SensorSpec:
    """Camera pipeline applied to image observations (each ``None`` = off); see ``sensor.py`` for units."""

    blur_sigma: Distribution | None = None
    vignetting: Distribution | None = None
    shot_noise: Distribution | None = None
    gaussian_std: Distribution | None = None
    dead_pixels: Distribution | None = None
    color_temperature: Distribution | None = None
    white_balance: Distribution | None = None
    gamma: Distribution | None = None
    jpeg_quality: Distribution | None = None

    def __post_init__(self) -> None:
        B.check_group(self, B.SENSOR_BOUNDS)


@dataclass(frozen=True)
class SensorStep:
    """One setting per active op, in the pipeline's order (``white_balance``: three channel gains)."""

    ops: tuple[tuple[str, Distribution], ...]

    def __call__(self, d: Draws, out: Out) -> None:
        for name, dist in self.ops:
            value = d(dist, f"sensor.{name}", 3 if name == "white_balance" else None)
            out.sensor.append((name, tuple(float(v) for v in np.atleast_1d(value))))


def compile_sensor(spec: SensorSpec, path: str, c: Compiler) -> tuple[Step, ...]:
    ops = tuple((name, dist) for name in SENSOR_OPS if (dist := getattr(spec, name)) is not None)
    return (SensorStep(ops),) if ops else ()


def sensor_units(spec: SensorSpec) -> Units:
    return setting_units("sensor", spec)


SENSOR = Factor("sensor", SensorSpec, compile_sensor, frozenset(), sensor_units)
