"""Physical bounds of every randomizable value, as data, and the checks that hold a distribution to them.

A bound applies to the value a draw *produces*: the draw itself for absolute fields (sensor, control, colours,
``mode: set``), the pristine model value combined with the draw for ``mode: scale``/``add`` and camera ``fovy``
jitter (checked when the spec is compiled against a model, see ``sample.py``). Because set/scale/add are affine
in the draw, checking the ends of a distribution's support (or every option of a choice) checks every draw.
Errors are ``ValueError`` naming the offending end (``dist.low``, ``options[2]``, ...) and the allowed range.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from simreal.randomization.distributions import Choice, Constant, Distribution, LogUniform, Normal, Uniform


@dataclass(frozen=True)
class Bound:
    """Allowed values ``[low, high]`` (``low_open``/``high_open`` exclude an end); ``integer``: whole numbers only."""

    low: float
    high: float
    unit: str = ""
    low_open: bool = False
    high_open: bool = False
    integer: bool = False

    def contains(self, x: Any) -> np.ndarray:
        arr = np.asarray(x, dtype=float)
        above = arr > self.low if self.low_open else arr >= self.low
        below = arr < self.high if self.high_open else arr <= self.high
        ok = above & below  # False for NaN; an infinite end passes only an unbounded side
        if self.integer:
            ok &= np.floor(arr) == arr
        return ok

    def __str__(self) -> str:
        lo, hi = "(" if self.low_open else "[", ")" if self.high_open else "]"
        unit = f" {self.unit}" if self.unit else ""
        kind = " (whole numbers)" if self.integer else ""
        return f"{lo}{self.low:g}, {self.high:g}{hi}{unit}{kind}"


def _b(low: float, high: float, unit: str = "", **kw: bool) -> Bound:
    return Bound(float(low), float(high), unit, **kw)


UNIT = _b(0, 1)
# ------------------------------------------------------------------------------------------------ visual
# absolute colour (hue wraps around 1, so a range may straddle 0 or 1)
HSV_BOUNDS: Mapping[str, Bound] = {"hue": _b(-1, 2), "saturation": UNIT, "value": UNIT}
# jitter added to the pristine HSV: any draw is safe (hue wraps, saturation and value clip to [0, 1], documented)
ANY = _b(-math.inf, math.inf)
COLOR_JITTER_BOUNDS: Mapping[str, Bound] = {"hue": ANY, "saturation": ANY, "value": ANY}
TEXTURE_BOUNDS: Mapping[str, Bound] = {"scale": _b(0, 64, "pattern cells", low_open=True)}
LIGHT_BOUNDS: Mapping[str, Bound] = {
    "pos_jitter": _b(-100, 100, "m"),
    "dir_jitter": _b(-10, 10),
    "intensity": _b(0, 10, "x diffuse"),
    "tint": _b(0, 10, "x diffuse"),
    "count": _b(1, 64, "lights", integer=True),
}
CAMERA_BOUNDS: Mapping[str, Bound] = {
    "pos_jitter": _b(-10, 10, "m"),
    "rot_jitter_deg": _b(-180, 180, "deg"),
    "fovy_jitter": _b(-180, 180, "deg", low_open=True, high_open=True),
}
CAMERA_FOVY = _b(0, 180, "deg", low_open=True, high_open=True)  # pristine fovy + jitter
DISTRACTOR_BOUNDS: Mapping[str, Bound] = {
    "count": _b(0, 1024, "geoms", integer=True),
    "size": _b(0, 10, "m (half-size)", low_open=True),
    "x": _b(-1000, 1000, "m"),
    "y": _b(-1000, 1000, "m"),
    "z": _b(-1000, 1000, "m"),
}
# ----------------------------------------------------------------------------------------------- physics
# Value of the field after the entry's mode; PHYSICS_COLUMN_BOUNDS overrides single columns.
PHYSICS_BOUNDS: Mapping[str, Bound] = {
    "body_mass": _b(0, 1e5, "kg", low_open=True),
    "body_inertia": _b(0, 1e5, "kg m^2", low_open=True),
    "geom_friction": _b(0, 10),
    "dof_damping": _b(0, 1e5),
    "dof_armature": _b(0, 1e5),
    "dof_frictionloss": _b(0, 1e5),
    "jnt_stiffness": _b(0, 1e6),
    "actuator_gainprm": _b(-1e6, 1e6),
    "actuator_biasprm": _b(-1e6, 1e6),
    "actuator_kp": _b(0, 1e6, low_open=True),
    "opt.timestep": _b(1e-4, 0.01, "s"),  # MuJoCo's default 0.002 s; coarser steps lose stability
}
PHYSICS_COLUMN_BOUNDS: Mapping[str, Mapping[int, Bound]] = {
    "actuator_gainprm": {0: _b(0, 1e6, "(gain)", low_open=True)},
}
GRAVITY_TILT = _b(-90, 90, "deg")
# --------------------------------------------------------------------------------------- sensor, control
SENSOR_BOUNDS: Mapping[str, Bound] = {
    "blur_sigma": _b(0, 8, "px"),  # kernel radius 3 sigma: at most 25 taps
    "vignetting": UNIT,  # corner darkening fraction
    "shot_noise": _b(0, 10, "levels per level"),
    "gaussian_std": _b(0, 64, "levels"),
    "dead_pixels": UNIT,  # fraction of pixels
    "color_temperature": _b(1000, 40000, "K"),
    "white_balance": _b(0, 4, "gain", low_open=True),
    "gamma": _b(0.1, 10),
    "jpeg_quality": _b(1, 95),  # PIL's useful range; the pipeline would clip higher values
}
CONTROL_BOUNDS: Mapping[str, Bound] = {
    "action_noise": _b(0, 1, "x action half-range"),
    "action_latency": _b(0, 20, "control steps"),  # a fractional part is a sub-step delay
    "action_repeat": _b(1, 20, "steps", integer=True),
    "period_jitter": _b(0, 4, "x control period", low_open=True),
    "obs_noise": _b(0, 10),
}


# ------------------------------------------------------------------------------------------------ checks
def support_points(dist: Distribution) -> list[tuple[str, Any]]:
    """The ends of ``dist``'s support (or every option), each with the key that names it in the spec."""
    if isinstance(dist, (Uniform, LogUniform)):
        return [(".low", dist.low), (".high", dist.high)]
    if isinstance(dist, Normal):
        return [(".mean", dist.mean)] if dist.std == 0.0 else [(".low", dist.low), (".high", dist.high)]
    if isinstance(dist, Choice):
        return [(f".options[{i}]", o) for i, o in enumerate(dist.options)]
    if isinstance(dist, Constant):
        return [("", dist.value)]
    raise ValueError(f"expected a distribution, got {type(dist).__name__}")  # pragma: no cover


def numeric_points(dist: Distribution, name: str) -> list[tuple[str, float]]:
    """``support_points`` as floats; a string option raises ValueError naming it."""
    points = support_points(dist)
    for key, v in points:
        if isinstance(v, str):
            raise ValueError(f"{name}{key}: expected a number, got {v!r} (in {dist!r})")
    return [(k, float(v)) for k, v in points]


def _integer_kind(dist: Distribution, bound: Bound, name: str) -> None:
    if bound.integer and not isinstance(dist, (Choice, Constant)) and not (isinstance(dist, Normal) and dist.std == 0):
        raise ValueError(f"{name}: must take whole-number values {bound}; use a choice or constant, got {dist!r}")


def _hint(name: str, value: float) -> str:
    if math.isinf(value) and name.endswith((".low", ".high")):
        return " (truncate the normal with finite low/high)"
    return ""


def check_dist(dist: Distribution | None, bound: Bound, name: str, what: str = "") -> None:
    """Raise ValueError unless every draw of ``dist`` lies within ``bound`` (None: nothing to check)."""
    if dist is None:
        return
    _integer_kind(dist, bound, name)
    for key, v in numeric_points(dist, name):
        if not bool(bound.contains(v)):
            label = f"{what} " if what else ""
            raise ValueError(f"{name}{key}: {label}must be in {bound}, got {v:g}{_hint(key, v)}")


def check_group(group: Any, bounds: Mapping[str, Bound], prefix: str = "") -> None:
    """``check_dist`` on every field of a spec dataclass listed in ``bounds`` (names prefixed by ``prefix``)."""
    for field, bound in bounds.items():
        check_dist(getattr(group, field), bound, prefix + field)


def scale_factor_bound(field: str) -> Bound | None:
    """Allowed scale factors when ``field`` must stay non-negative (positive), else None."""
    bounds = [PHYSICS_BOUNDS[field], *PHYSICS_COLUMN_BOUNDS.get(field, {}).values()]
    if all(b.low < 0 for b in bounds):
        return None
    positive = any(b.low > 0 or b.low_open for b in bounds if b.low >= 0)
    return Bound(0.0, math.inf, "(scale factor)", low_open=positive)


_MODES = {
    "set": lambda pristine, v: np.full_like(pristine, v),
    "scale": lambda pristine, v: pristine * v,
    "add": lambda pristine, v: pristine + v,
}


def check_result(
    dist: Distribution, mode: str, pristine: np.ndarray, bounds: list[Bound], name: str, what: str
) -> None:
    """Raise ValueError unless ``mode``(pristine, draw) lies within ``bounds[j]`` for column j of ``pristine``
    (rows x columns, the elements a spec entry touches) for every draw of ``dist``."""
    pristine = np.atleast_2d(np.asarray(pristine, dtype=float))
    for key, v in numeric_points(dist, name):
        out = _MODES[mode](pristine, v)
        for j, bound in enumerate(bounds):
            bad = ~bound.contains(out[:, j])
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                verb = {"set": "set to", "scale": "scaled by", "add": "plus"}[mode]
                raise ValueError(
                    f"{name}{key}: {what} = model value {pristine[i, j]:g} {verb} {v:g} = {out[i, j]:g}, "
                    f"outside the allowed range {bound}"
                )


def physics_bounds(field: str, columns: tuple[int, ...] | None) -> list[Bound]:
    """The bounds of the ``columns`` of a physics field (all its distinct column bounds when None)."""
    per_column = PHYSICS_COLUMN_BOUNDS.get(field, {})
    default = PHYSICS_BOUNDS[field]
    if columns is None:
        return [default, *per_column.values()]
    return [per_column.get(c, default) for c in columns]


def physics_pristine(model: Any, field: str, rows: tuple[int, ...], cols: tuple[int, ...] | None) -> np.ndarray:
    """The model's current values that a physics entry acts on (rows x columns)."""
    if field == "opt.timestep":
        return np.array([[float(model.opt.timestep)]])
    if field == "actuator_kp":
        return np.asarray(model.actuator_gainprm)[list(rows), :1].copy()
    arr = np.asarray(getattr(model, field))
    block = arr.reshape(len(arr), -1)[list(rows)]
    return (block if cols is None else block[:, list(cols)]).copy()


def check_physics_entry(model: Any, entry: Any, rows: tuple[int, ...], cols: tuple[int, ...] | None) -> None:
    """Raise ValueError (naming ``dist...``) unless ``entry`` keeps every value it writes within the field's bounds."""
    field = entry.field
    pristine = physics_pristine(model, field, rows, cols)
    if field in ("opt.timestep", "actuator_kp"):
        bounds = [PHYSICS_BOUNDS[field]]
    else:
        per_column = PHYSICS_COLUMN_BOUNDS.get(field, {})
        bounds = [per_column.get(c, PHYSICS_BOUNDS[field]) for c in (cols or range(pristine.shape[1]))]
    check_result(entry.dist, entry.mode, pristine, bounds, "dist", field)
