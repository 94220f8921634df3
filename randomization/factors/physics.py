"""Factors ``physics.entries`` (a model field of the matched elements) and ``physics.gravity_tilt_deg``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np

from simreal.randomization import bounds as B
from simreal.randomization.distributions import Distribution
from simreal.randomization.draws import Draws
from simreal.randomization.factors.base import Compiler, Factor, FieldDraw, FieldDrawStep, Out, Step, Units, field_op
from simreal.randomization.params import KP_OPS, MODE_OPS, Op
from simreal.randomization.spec_errors import SpecError, check_in, check_names

Mode = Literal["set", "scale", "add"]
PHYSICS_FIELDS = (
    "body_mass",
    "body_inertia",
    "geom_friction",
    "dof_damping",
    "dof_armature",
    "dof_frictionloss",
    "jnt_stiffness",
    "actuator_gainprm",
    "actuator_biasprm",
    "actuator_kp",
    "opt.timestep",
)
_PHYSICS_OBJ = {"body": "body", "geom": "geom", "dof": "joint", "jnt": "joint", "actuator": "actuator"}


@dataclass(frozen=True)
class PhysicsEntry:
    """``field`` of the elements matching ``names`` <- pristine (mode) draw.

    ``columns`` restricts multi-column fields (e.g. ``geom_friction`` column 0 = sliding); ``shared`` uses one
    draw for all matched elements instead of one per element; ``optional`` skips the entry when no element
    matches (e.g. the block of Push in the shared arm presets, absent from Reach). ``actuator_kp``
    scales/sets a position actuator's gain and bias consistently. ``opt.timestep`` takes ``names: ["*"]``.
    """

    field: str
    names: tuple[str, ...]
    dist: Distribution
    mode: Mode = "scale"
    columns: tuple[int, ...] | None = None
    shared: bool = False
    optional: bool = False

    def __post_init__(self) -> None:
        check_in(self.field, PHYSICS_FIELDS, "field")
        check_names(self.names)
        check_in(self.mode, ("set", "scale", "add"), "mode")
        if self.columns is not None:
            if not self.columns:
                raise ValueError("columns: must list at least one column index (omit it for every column)")
            for i, c in enumerate(self.columns):
                if not isinstance(c, int) or isinstance(c, bool) or c < 0:
                    raise ValueError(f"columns[{i}]: expected a column index >= 0, got {c!r}")
        self._check_bounds()

    def _check_bounds(self) -> None:
        """``set``: the draws themselves within the field's bounds; ``scale``: a factor that keeps the sign the
        bounds need. The pristine values that ``scale``/``add`` act on are checked when compiled."""
        what = f"{self.field} (mode {self.mode})"
        if self.mode == "set":
            for bound in B.physics_bounds(self.field, self.columns):
                B.check_dist(self.dist, bound, "dist", what)
        elif self.mode == "scale":
            factor = B.scale_factor_bound(self.field)
            for key, v in B.numeric_points(self.dist, "dist") if factor is not None else ():
                if not factor.contains(v):
                    sign = "> 0" if factor.low_open else ">= 0"
                    bound = B.PHYSICS_BOUNDS[self.field]
                    raise ValueError(f"dist{key}: {what} needs a factor {sign} to stay in {bound}, got {v:g}")
        B.check_dist(self.dist, B.ANY, "dist", what)  # numbers, not strings


def _rows(entry: PhysicsEntry, path: str, c: Compiler) -> tuple[int, ...]:
    if entry.field == "opt.timestep":
        return (0,)
    prefix = entry.field.split("_", 1)[0]
    ids = c.match(_PHYSICS_OBJ[prefix], entry.names, f"{path}.names", optional=entry.optional)
    if prefix != "dof":
        return ids
    return tuple(int(d) for d in np.flatnonzero(np.isin(c.model.dof_jntid, list(ids))))


def compile_entry(entry: PhysicsEntry, path: str, c: Compiler) -> tuple[Step, ...]:
    rows = _rows(entry, path, c)
    if not rows and entry.optional:
        return ()
    field = entry.field
    if not rows:
        raise SpecError(f"{path}.names: the matched joints have no degrees of freedom")
    fields: tuple[str, ...]
    if field == "actuator_kp":
        op, cols, fields = KP_OPS[entry.mode], None, ("actuator_gainprm", "actuator_biasprm")
    else:
        op, cols, fields = MODE_OPS[entry.mode], entry.columns, (field,)
        model_field = getattr(c.model, field) if field != "opt.timestep" else None
        ncols = 1 if model_field is None else model_field.reshape(len(model_field), -1).shape[1]
        for j, col in enumerate(cols or ()):
            if col >= ncols:
                raise SpecError(f"{path}.columns[{j}]: {field} has {ncols} columns, got index {col}")
    c.within_bounds(path, B.check_physics_entry, c.model, entry, rows, cols)
    c.fields.update(fields)
    return (FieldDrawStep(path, rows, (FieldDraw("dist", entry.dist, field, op, shared=entry.shared, cols=cols),)),)


def entry_units(entry: PhysicsEntry) -> Units:
    cols = "all" if entry.columns is None else ",".join(map(str, entry.columns))
    return {f"physics:{entry.field}:{n}:{entry.mode}:{cols}": {"dist": entry.dist} for n in entry.names}


@dataclass(frozen=True)
class GravityStep:
    dist: Distribution

    def __call__(self, d: Draws, out: Out) -> None:
        tilt = float(d(self.dist, "physics.gravity_tilt_deg"))
        out.fields.append(field_op("opt.gravity", Op.TILT, (0,), np.array([tilt, d.rng.uniform(0, 2 * np.pi)])))


def compile_gravity(dist: Distribution, path: str, c: Compiler) -> tuple[Step, ...]:
    c.fields.add("opt.gravity")
    return (GravityStep(dist),)


def gravity_units(dist: Distribution) -> Units:
    return {"physics:gravity_tilt_deg": {"dist": dist}}


PHYSICS = Factor(
    "physics.entries", PhysicsEntry, compile_entry, frozenset({*MODE_OPS.values(), *KP_OPS.values()}), entry_units
)
GRAVITY = Factor(
    "physics.gravity_tilt_deg",
    get_args(Distribution),
    compile_gravity,
    frozenset({Op.TILT}),
    gravity_units,
)
