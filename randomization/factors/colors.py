"""Factor ``visual.colors``: the colour of materials or geoms, jittered around or set in HSV."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from simreal.randomization import bounds as B
from simreal.randomization.distributions import Constant, Distribution
from simreal.randomization.draws import Draws
from simreal.randomization.factors.base import HSV, Compiler, Factor, Out, Step, Units, draw_hsv, field_op, hsv_factors
from simreal.randomization.params import Op
from simreal.randomization.spec_errors import check_in, check_names

_ZERO = Constant(0.0)


@dataclass(frozen=True)
class ColorEntry:
    """Colour of materials or geoms matching ``names``.

    ``mode="jitter"`` adds the draws to the pristine HSV (hue wraps, s/v clip); ``mode="free"`` sets them.
    """

    names: tuple[str, ...]
    target: Literal["material", "geom"] = "material"
    mode: Literal["jitter", "free"] = "jitter"
    hue: Distribution = _ZERO
    saturation: Distribution = _ZERO
    value: Distribution = _ZERO

    def __post_init__(self) -> None:
        check_names(self.names)
        check_in(self.target, ("material", "geom"), "target")
        check_in(self.mode, ("jitter", "free"), "mode")
        B.check_group(self, B.COLOR_JITTER_BOUNDS if self.mode == "jitter" else B.HSV_BOUNDS)


@dataclass(frozen=True)
class ColorStep:
    color: HSV
    path: str
    rows: tuple[int, ...]
    field: str
    op: Op

    def __call__(self, d: Draws, out: Out) -> None:
        hsv = draw_hsv(d, self.color, self.path, len(self.rows))
        out.fields.append(field_op(self.field, self.op, self.rows, hsv, (0, 1, 2)))


def compile_color(entry: ColorEntry, path: str, c: Compiler) -> tuple[Step, ...]:
    field = "mat_rgba" if entry.target == "material" else "geom_rgba"
    rows = c.match(entry.target, entry.names, f"{path}.names")
    op = Op.HSV_JITTER if entry.mode == "jitter" else Op.HSV_SET
    c.fields.add(field)
    return (ColorStep(HSV(entry.hue, entry.saturation, entry.value), path, rows, field, op),)


def color_units(entry: ColorEntry) -> Units:
    factors = hsv_factors("", HSV(entry.hue, entry.saturation, entry.value))
    return {f"colors:{entry.target}:{n}:{entry.mode}": factors for n in entry.names}


COLORS = Factor("visual.colors", ColorEntry, compile_color, frozenset({Op.HSV_JITTER, Op.HSV_SET}), color_units)
