"""Walk and rescale randomization specs: the scalar ranges ADR grows and the per-group strength sweeps."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

from simreal.randomization.distributions import Constant, Uniform
from simreal.randomization.presets import domain_spec, load_preset
from simreal.randomization.spec import RandomizationSpec, get_at, replace_at

# Sensitivity-sweep axes: each factor of ``factors.REGISTRY`` lies in one of them (physics as a whole) or in
# NOT_SWEPT (a test checks it, so a new factor is not silently left out of the sweeps).
GROUPS = (
    "visual.colors",
    "visual.textures",
    "visual.lights",
    "visual.camera",
    "visual.distractors",
    "visual.skybox",
    "physics",
    "sensor",
    "control",
)
NOT_SWEPT = ("visual.image_textures",)  # needs a user's image folder: no preset has one
LATENCY = "latency"  # sweep axis: the canonical scene with a fixed actuation latency (strength = control steps)
MAX_LATENCY = 20


def uniform_paths(obj: Any, prefix: str = "") -> Iterator[tuple[str, Uniform]]:
    """Dotted paths (``visual.colors[0].hue``) of every ``Uniform`` inside a spec (or part of one)."""
    if isinstance(obj, Uniform):
        yield prefix, obj
    elif isinstance(obj, tuple):
        for i, item in enumerate(obj):
            yield from uniform_paths(item, f"{prefix}[{i}]")
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            yield from uniform_paths(getattr(obj, f.name), f"{prefix}.{f.name}" if prefix else f.name)


def scale_uniforms(obj: Any, strength: float) -> Any:
    """Copy of ``obj`` with every ``Uniform`` range scaled by ``strength`` around its centre."""
    if strength < 0:
        raise ValueError(f"strength must be >= 0, got {strength}")
    if strength == 1:
        return obj
    out = obj
    for path, dist in uniform_paths(obj):
        centre = 0.5 * (dist.low + dist.high)
        half = 0.5 * (dist.high - dist.low) * strength
        new: Any = Uniform(centre - half, centre + half) if half > 0 else Constant(centre)
        out = new if not path else replace_at(out, path, new)
    return out


def latency_spec(family: str, steps: float, base: str = "canonical") -> RandomizationSpec:
    """Domain ``base`` with its actuation latency fixed to ``steps`` control steps (fractions: sub-step delay)."""
    if not 0 <= steps <= MAX_LATENCY:
        raise ValueError(f"latency: steps must be in [0, {MAX_LATENCY}], got {steps}")
    spec = domain_spec(base, family)
    control = dataclasses.replace(spec.control, action_latency=Constant(float(steps)))
    return dataclasses.replace(spec, control=control, name=f"{spec.name}@latency={steps:g}")


def group_spec(family: str, group: str, strength: float, source: str = "full") -> RandomizationSpec:
    """The canonical spec plus one group of preset ``source`` at ``strength`` (0 = canonical, 1 = as trained);
    group ``latency`` is the canonical scene with ``strength`` control steps of actuation latency."""
    if group == LATENCY:
        return latency_spec(family, strength)
    if group not in GROUPS:
        raise ValueError(f"group must be one of {[*GROUPS, LATENCY]}, got {group!r}")
    base = load_preset("none", family)
    if strength == 0:
        return base
    part = scale_uniforms(get_at(load_preset(source, family), group), strength)
    return dataclasses.replace(replace_at(base, group, part), name=f"{source}:{group}@{strength:g}")
