"""Factor ``visual.lights``: light position/direction jitter, intensity and tint, and how many are on."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simreal.randomization import bounds as B
from simreal.randomization.distributions import Distribution
from simreal.randomization.draws import Draws
from simreal.randomization.factors.base import (
    Compiler,
    DrawRow,
    Factor,
    FieldDrawStep,
    Out,
    Step,
    Units,
    field_op,
    present,
)
from simreal.randomization.params import Op
from simreal.randomization.spec_errors import check_names


@dataclass(frozen=True)
class LightSpec:
    """Lights matching ``names``: position/direction jitter (add), intensity and colour tint (scale of
    diffuse) and the number of active lights (``count``, 1 to the number of matched lights)."""

    names: tuple[str, ...] = ("*",)
    pos_jitter: Distribution | None = None
    dir_jitter: Distribution | None = None
    intensity: Distribution | None = None
    tint: Distribution | None = None
    count: Distribution | None = None

    def __post_init__(self) -> None:
        check_names(self.names)
        B.check_group(self, B.LIGHT_BOUNDS)


@dataclass(frozen=True)
class ActiveCountStep:
    """``count`` of the matched lights on (a random subset), the others off."""

    dist: Distribution
    path: str
    rows: tuple[int, ...]

    def __call__(self, d: Draws, out: Out) -> None:
        n = len(self.rows)
        k = int(np.clip(round(float(d(self.dist, f"{self.path}.count"))), 1, n))
        on = np.zeros(n)
        on[d.rng.permutation(n)[:k]] = 1.0
        out.fields.append(field_op("light_active", Op.SET, self.rows, on))


LIGHT_DRAWS: tuple[DrawRow, ...] = (
    ("pos_jitter", "light_pos", Op.ADD, 3),
    ("dir_jitter", "light_dir", Op.DIR_ADD, 3),
    ("intensity", "light_diffuse", Op.SCALE, 1),
    ("tint", "light_diffuse", Op.SCALE, 3),
)


def compile_lights(spec: LightSpec, path: str, c: Compiler) -> tuple[Step, ...]:
    rows = c.match("light", spec.names, f"{path}.names")
    lights = B.Bound(1, len(rows), "(the lights matching names)", integer=True)
    c.within_bounds(path, B.check_dist, spec.count, lights, "count")
    step = FieldDrawStep.of(spec, path, rows, LIGHT_DRAWS)
    c.fields.update(item.field for item in step.draws)
    steps: list[Step] = [step]
    if spec.count is not None:
        c.fields.add("light_active")
        steps.append(ActiveCountStep(spec.count, path, rows))
    return tuple(steps)


def light_units(spec: LightSpec) -> Units:
    f = present(pos=spec.pos_jitter, dir=spec.dir_jitter, intensity=spec.intensity, tint=spec.tint, count=spec.count)
    return {f"lights:{n}": f for n in spec.names}


LIGHTS = Factor(
    "visual.lights", LightSpec, compile_lights, frozenset({Op.ADD, Op.DIR_ADD, Op.SCALE, Op.SET}), light_units
)
