"""Factor ``visual.distractors``: visual-only clutter geoms (how many, shape, size, position, colour)."""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

from simreal.randomization import bounds as B
from simreal.randomization.distributions import Choice, Distribution, Uniform
from simreal.randomization.draws import Draws
from simreal.randomization.factors.base import (
    ANY_HSV,
    HSV,
    Compiler,
    Factor,
    Out,
    Step,
    Units,
    draw_hsv,
    field_op,
    hsv_factors,
)
from simreal.randomization.params import Op
from simreal.randomization.spec_errors import check_names, check_subset

SHAPES = ("box", "sphere", "capsule", "cylinder", "ellipsoid")
GEOM_TYPES = {
    "sphere": int(mujoco.mjtGeom.mjGEOM_SPHERE),
    "capsule": int(mujoco.mjtGeom.mjGEOM_CAPSULE),
    "ellipsoid": int(mujoco.mjtGeom.mjGEOM_ELLIPSOID),
    "cylinder": int(mujoco.mjtGeom.mjGEOM_CYLINDER),
    "box": int(mujoco.mjtGeom.mjGEOM_BOX),
}
_DISTRACTOR_COUNT = Choice((0, 1, 2, 3))
_DISTRACTOR_SIZE = Uniform(0.01, 0.04)
_DISTRACTOR_XY = Uniform(-0.5, 0.5)
_DISTRACTOR_Z = Uniform(0.0, 0.3)


@dataclass(frozen=True)
class DistractorSpec:
    """Visual-only distractor geoms: how many are shown (up to the number of matched geoms), their shape,
    half-size, world position and colour."""

    names: tuple[str, ...] = ("distractor_*",)
    count: Distribution = _DISTRACTOR_COUNT
    shapes: tuple[str, ...] = SHAPES
    size: Distribution = _DISTRACTOR_SIZE
    x: Distribution = _DISTRACTOR_XY
    y: Distribution = _DISTRACTOR_XY
    z: Distribution = _DISTRACTOR_Z
    color: HSV = ANY_HSV

    def __post_init__(self) -> None:
        check_names(self.names)
        check_subset(self.shapes, SHAPES, "shapes")
        B.check_group(self, B.DISTRACTOR_BOUNDS)
        B.check_group(self.color, B.HSV_BOUNDS, "color.")


@dataclass(frozen=True)
class DistractorStep:
    spec: DistractorSpec
    rows: tuple[int, ...]
    shape_ids: tuple[float, ...]
    path: str

    def __call__(self, d: Draws, out: Out) -> None:
        spec, rows, path, n = self.spec, self.rows, self.path, len(self.rows)
        k = int(np.clip(round(float(d(spec.count, f"{path}.count"))), 0, n))
        visible = np.zeros(n)
        visible[d.rng.permutation(n)[:k]] = 1.0
        shapes = np.asarray(self.shape_ids)[d.rng.integers(len(self.shape_ids), size=n)]
        size = d(spec.size, f"{path}.size", (n, 3))
        pos = np.stack([d(spec.x, f"{path}.x", n), d(spec.y, f"{path}.y", n), d(spec.z, f"{path}.z", n)], axis=-1)
        hsv = draw_hsv(d, spec.color, f"{path}.color", n)
        out.fields.append(field_op("geom_type", Op.SET, rows, shapes))
        out.fields.append(field_op("geom_size", Op.SET, rows, size))
        out.fields.append(field_op("geom_pos", Op.SET, rows, pos))
        out.fields.append(field_op("geom_rgba", Op.HSV_SET, rows, hsv, (0, 1, 2)))
        out.fields.append(field_op("geom_rgba", Op.SET, rows, visible, (3,)))


def compile_distractors(spec: DistractorSpec, path: str, c: Compiler) -> tuple[Step, ...]:
    rows = c.match("geom", spec.names, f"{path}.names")
    slots = B.Bound(0, len(rows), "(the geoms matching names)", integer=True)
    c.within_bounds(path, B.check_dist, spec.count, slots, "count")
    shape_ids = tuple(float(GEOM_TYPES[s]) for s in spec.shapes)
    c.fields.update(("geom_type", "geom_size", "geom_pos", "geom_rgba"))
    return (DistractorStep(spec, rows, shape_ids, path),)


def distractor_units(spec: DistractorSpec) -> Units:
    f = {"count": spec.count, "shapes": frozenset(spec.shapes), "size": spec.size, "x": spec.x, "y": spec.y}
    f = {**f, "z": spec.z, **hsv_factors("color.", spec.color)}
    return {f"distractors:{n}": f for n in spec.names}


DISTRACTORS = Factor(
    "visual.distractors", DistractorSpec, compile_distractors, frozenset({Op.SET, Op.HSV_SET}), distractor_units
)
