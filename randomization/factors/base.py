"""What one randomization factor is made of, and the pieces factors share.

A :class:`Factor` owns one part of a :class:`~simreal.randomization.spec.RandomizationSpec` (``path``, e.g.
``visual.colors``): the spec dataclass of its entries (``spec_type``), a ``compile`` step that checks an entry
against a model and returns the steps that draw it, the apply operations those steps emit (``ops``, an
:class:`~simreal.randomization.params.Op` each) and ``heldout_units``, which cuts an entry into the units that
:mod:`~simreal.randomization.heldout` compares between a training and a held-out spec. A factor missing any
part is rejected when it is built.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import mujoco
import numpy as np

from simreal.randomization.distributions import Distribution, Uniform
from simreal.randomization.draws import Draws
from simreal.randomization.elements import element_names, match
from simreal.randomization.params import FieldOp, Op, TextureOp
from simreal.randomization.spec_errors import SpecError

Factors = dict[str, Any]  # held-out factor name -> Distribution or frozenset of categorical values
Units = dict[str, Factors]  # held-out unit name -> its factors

_UNIT = Uniform(0.0, 1.0)


@dataclass(frozen=True)
class HSV:
    """A colour distribution in HSV (each channel in [0, 1]; hue wraps)."""

    hue: Distribution = _UNIT
    saturation: Distribution = _UNIT
    value: Distribution = _UNIT


ANY_HSV = HSV()  # any colour (a frozen default shared by the entries below)


def hsv_factors(prefix: str, c: HSV) -> Factors:
    """The three channels of ``c`` as held-out factors named ``<prefix>hue`` etc."""
    return {f"{prefix}hue": c.hue, f"{prefix}saturation": c.saturation, f"{prefix}value": c.value}


def present(**kw: Distribution | None) -> Factors:
    """The keyword distributions that are set (held-out factors of optional fields)."""
    return {k: v for k, v in kw.items() if v is not None}


def setting_units(group: str, spec: Any) -> Units:
    """One unit per set distribution of a group of independent settings (``sensor:gamma``, ``control:...``)."""
    names = (f.name for f in dataclasses.fields(spec) if getattr(spec, f.name) is not None)
    return {f"{group}:{name}": {"dist": getattr(spec, name)} for name in names}


@dataclass
class Out:
    """What the steps of one sample append to: model writes, textures, sensor and control settings."""

    fields: list[FieldOp] = field(default_factory=list)
    textures: list[TextureOp] = field(default_factory=list)
    sensor: list[tuple[str, tuple[float, ...]]] = field(default_factory=list)
    control: list[tuple[str, float]] = field(default_factory=list)


class Step(Protocol):
    """One compiled spec entry: draws its values and appends its outputs. Steps are module-level frozen
    dataclasses rather than closures, so that a Sampler (and every env holding one) pickles and deep-copies."""

    def __call__(self, d: Draws, out: Out) -> None: ...


def draw_hsv(d: Draws, color: HSV, path: str, n: int) -> np.ndarray:
    """``n`` HSV draws (rows), recorded at ``path.hue`` etc."""
    out = np.empty((n, 3))
    out[:, 0] = d(color.hue, f"{path}.hue", n)
    out[:, 1] = d(color.saturation, f"{path}.saturation", n)
    out[:, 2] = d(color.value, f"{path}.value", n)
    return out


def field_op(field: str, op: Op, rows: tuple[int, ...], values: Any, cols: tuple[int, ...] | None = None) -> FieldOp:
    """A ``FieldOp`` from ``values`` shaped (rows, ...) (one value per row broadcasts over the columns)."""
    arr = np.asarray(values, dtype=np.float64).reshape(len(rows), -1)
    return FieldOp(field, op, rows, cols, tuple(arr.ravel().tolist()), arr.shape[1])


@dataclass(frozen=True)
class FieldDraw:
    """One distribution of an entry written into a model field: ``width`` draws per row (or one ``shared``
    draw for all rows), recorded at ``<entry path>.<name>``."""

    name: str
    dist: Distribution
    field: str
    op: Op
    width: int = 1
    shared: bool = False
    cols: tuple[int, ...] | None = None


DrawRow = tuple[str, str, Op, int]  # spec attribute, model field, operation, draws per row


@dataclass(frozen=True)
class FieldDrawStep:
    """The step of an entry whose draws go straight into model fields (lights, cameras, physics entries)."""

    path: str
    rows: tuple[int, ...]
    draws: tuple[FieldDraw, ...]

    @classmethod
    def of(cls, spec: Any, path: str, rows: tuple[int, ...], table: tuple[DrawRow, ...]) -> FieldDrawStep:
        """The step of ``spec``'s distributions named in ``table`` (rows ``(name, field, op, width)``; a
        distribution that is ``None`` is off)."""
        draws = [FieldDraw(name, getattr(spec, name), field, op, width) for name, field, op, width in table]
        return cls(path, rows, tuple(d for d in draws if d.dist is not None))

    def __call__(self, d: Draws, out: Out) -> None:
        n = len(self.rows)
        for item in self.draws:
            key = f"{self.path}.{item.name}"
            if item.shared:
                values: Any = np.full(n, float(d(item.dist, key)))
            else:
                values = d(item.dist, key, n if item.width == 1 else (n, item.width))
            out.fields.append(field_op(item.field, item.op, self.rows, values, item.cols))


@dataclass(frozen=True)
class Texture:
    tex_id: int
    name: str


class Compiler:
    """A model to compile spec entries against; collects the model fields and textures the steps write."""

    def __init__(self, model: mujoco.MjModel) -> None:
        self.model = model
        self.fields: set[str] = set()
        self.texture_ids: set[int] = set()

    def match(self, kind: str, patterns: tuple[str, ...], path: str, optional: bool = False) -> tuple[int, ...]:
        return match(self.model, kind, patterns, path, optional)

    def textures(self, names: tuple[str, ...], path: str) -> tuple[Texture, ...]:
        ids = match(self.model, "texture", names, f"{path}.names")
        all_names = element_names(self.model, "texture")
        self.texture_ids.update(ids)
        return tuple(Texture(i, all_names[i]) for i in ids)

    def within_bounds(self, path: str, check: Callable[..., None], *args: Any) -> None:
        """Run a ``bounds`` check against the model's pristine values; its ValueError becomes a SpecError at
        ``path``."""
        try:
            check(*args)
        except ValueError as err:
            raise SpecError(f"{path}.{err}") from None


Compile = Callable[[Any, str, Compiler], tuple[Step, ...]]
HeldoutUnits = Callable[[Any], Units]


@dataclass(frozen=True)
class Factor:
    """One randomization factor (see the module docstring). ``path`` is where its entries live in a spec: a
    tuple of entries (one per index), an optional entry (``None``: absent) or a whole group."""

    path: str
    spec_type: Any
    compile: Compile
    ops: frozenset[Op]
    heldout_units: HeldoutUnits

    def __post_init__(self) -> None:
        for part in ("path", "spec_type", "compile", "ops", "heldout_units"):
            if getattr(self, part) is None or getattr(self, part) == "":
                raise ValueError(f"factor {self.path or '?'}: {part} is missing (a factor owns all five parts)")
        if not all(isinstance(op, Op) for op in self.ops):
            raise ValueError(f"factor {self.path}: ops must be Op members, got {sorted(map(str, self.ops))}")

    def entries(self, spec: Any) -> Iterator[tuple[str, Any]]:
        """``(path, entry)`` of every entry of this factor in ``spec``."""
        value = spec
        for part in self.path.split("."):
            value = getattr(value, part)
        items = enumerate(value) if isinstance(value, tuple) else () if value is None else ((None, value),)
        for i, entry in items:
            path = self.path if i is None else f"{self.path}[{i}]"
            if not isinstance(entry, self.spec_type):
                raise TypeError(f"{path}: expected {self.spec_type}, got {type(entry).__name__}")
            yield path, entry


def is_group(tp: Any) -> bool:
    """Whether ``tp`` is a spec dataclass type (a container walked for factor coverage)."""
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)
