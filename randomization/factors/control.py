"""Factor ``control``: action noise, actuation latency, action repeat, control-period jitter, observation noise.

``action_noise``, ``action_latency`` and ``obs_noise`` are drawn with the other params (once per resample);
``action_repeat`` and ``period_jitter`` are drawn every control step (:class:`PerStepControl`), by the wrapper
from its generator, and reported in ``info["randomization"]["control_step"]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simreal.randomization import bounds as B
from simreal.randomization.distributions import Distribution
from simreal.randomization.draws import Draws
from simreal.randomization.factors.base import Compiler, Factor, Out, Step, Units, setting_units

PER_SAMPLE = ("action_noise", "action_latency", "obs_noise")
PER_STEP = ("action_repeat", "period_jitter")


@dataclass(frozen=True)
class ControlSpec:
    """Action noise (std as a fraction of the action half-range), latency (control steps, drawn per episode; a
    fractional part interpolates between the two neighbouring delayed actions, a sub-step delay), per-step action
    repeat (times the inner env is stepped), control-period jitter (a per-step scale of the number of physics
    steps in one control step; the physics timestep, and so its stability, is unchanged) and state-observation
    noise (std, absolute)."""

    action_noise: Distribution | None = None
    action_latency: Distribution | None = None
    action_repeat: Distribution | None = None
    period_jitter: Distribution | None = None
    obs_noise: Distribution | None = None

    def __post_init__(self) -> None:
        B.check_group(self, B.CONTROL_BOUNDS)


@dataclass(frozen=True)
class ControlStep:
    ops: tuple[tuple[str, Distribution], ...]

    def __call__(self, d: Draws, out: Out) -> None:
        for name, dist in self.ops:
            out.control.append((name, float(d(dist, f"control.{name}"))))


def compile_control(spec: ControlSpec, path: str, c: Compiler) -> tuple[Step, ...]:
    ops = tuple((name, dist) for name in PER_SAMPLE if (dist := getattr(spec, name)) is not None)
    return (ControlStep(ops),) if ops else ()


@dataclass(frozen=True)
class PerStepControl:
    """The per-control-step draws of a ``ControlSpec``: the action repeat (whole inner steps, >= 1) and the
    control-period scale (``period_jitter``), each present only when the spec sets it. ``muted`` (an ablation of
    the control group): drawn as usual, so the generator advances the same, but nothing is returned (nominal)."""

    action_repeat: Distribution | None = None
    period_jitter: Distribution | None = None
    muted: bool = False

    @classmethod
    def of(cls, spec: ControlSpec, muted: bool = False) -> PerStepControl:
        return cls(spec.action_repeat, spec.period_jitter, muted)

    @property
    def active(self) -> bool:
        return self.action_repeat is not None or self.period_jitter is not None

    def __call__(self, rng: np.random.Generator) -> dict[str, float]:
        """One step's draws, repeat before period (the order of the generator calls is part of the results)."""
        out: dict[str, float] = {}
        if self.action_repeat is not None:
            out["action_repeat"] = max(1, round(float(self.action_repeat.sample(rng))))
        if self.period_jitter is not None:
            out["period_jitter"] = float(self.period_jitter.sample(rng))
        return {} if self.muted else out


def control_units(spec: ControlSpec) -> Units:
    return setting_units("control", spec)


CONTROL = Factor("control", ControlSpec, compile_control, frozenset(), control_units)
