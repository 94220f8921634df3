"""Sampled randomization parameters: frozen, JSON-serialisable records produced by ``sample`` and consumed by
``apply`` (model fields and textures) and the wrapper (sensor and control)."""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np


class Op(enum.Enum):
    """How a ``FieldOp`` combines its values with the field's current (pristine) values (``apply.OPERATIONS``).

    ``SET``/``SCALE``/``ADD`` (``width`` 1 broadcasts over columns), ``HSV_JITTER``/``HSV_SET`` (RGB columns of an
    rgba field), ``QUAT_ROT`` (local rotation vector in degrees), ``DIR_ADD`` (add then normalise), ``TILT``
    (gravity tilt: degrees, azimuth in radians), ``KP_SET``/``KP_SCALE``/``KP_ADD`` (position-actuator gain with
    the matching bias). The value is the JSON form.
    """

    SET = "set"
    SCALE = "scale"
    ADD = "add"
    HSV_JITTER = "hsv_jitter"
    HSV_SET = "hsv_set"
    QUAT_ROT = "quat_rot"
    DIR_ADD = "dir_add"
    TILT = "tilt"
    KP_SET = "kp_set"
    KP_SCALE = "kp_scale"
    KP_ADD = "kp_add"


MODE_OPS = {"set": Op.SET, "scale": Op.SCALE, "add": Op.ADD}  # a spec entry's ``mode`` -> its operation
KP_OPS = {"set": Op.KP_SET, "scale": Op.KP_SCALE, "add": Op.KP_ADD}  # the same for ``actuator_kp``


@dataclass(frozen=True)
class FieldOp:
    """Write ``values`` (row-major, ``width`` per row) into ``field[rows][:, cols]`` with operation ``op``."""

    field: str
    op: Op
    rows: tuple[int, ...]
    cols: tuple[int, ...] | None
    values: tuple[float, ...]
    width: int

    def array(self) -> np.ndarray:
        return np.asarray(self.values, dtype=np.float64).reshape(len(self.rows), self.width)


@dataclass(frozen=True)
class TextureOp:
    """Regenerate texture ``tex_id``: a procedural ``family`` or, for ``family == "image"``, ``image``."""

    tex_id: int
    name: str
    family: str
    color_a: tuple[float, float, float]
    color_b: tuple[float, float, float]
    scale: float
    seed: int
    image: str = ""


@dataclass(frozen=True)
class Params:
    """One draw of a spec: model writes, textures, sensor/control settings and raw draws by spec path."""

    spec_hash: str
    fields: tuple[FieldOp, ...] = ()
    textures: tuple[TextureOp, ...] = ()
    sensor: tuple[tuple[str, tuple[float, ...]], ...] = ()
    control: tuple[tuple[str, float], ...] = ()
    seed: int = 0
    draws: tuple[tuple[str, tuple[Any, ...]], ...] = ()

    def sensor_dict(self) -> dict[str, tuple[float, ...]]:
        return dict(self.sensor)

    def control_dict(self) -> dict[str, float]:
        return dict(self.control)

    def to_dict(self) -> dict[str, Any]:
        """Full JSON-able form (lists instead of tuples)."""
        return _listify(asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Params:
        return cls(
            spec_hash=data["spec_hash"],
            fields=tuple(
                FieldOp(**{**f, "op": Op(f["op"]), **_tuples(f, "rows", "cols", "values")}) for f in data["fields"]
            ),
            textures=tuple(TextureOp(**{**t, **_tuples(t, "color_a", "color_b")}) for t in data["textures"]),
            sensor=tuple((k, tuple(v)) for k, v in data["sensor"]),
            control=tuple((k, v) for k, v in data["control"]),
            seed=data["seed"],
            draws=tuple((k, tuple(v)) for k, v in data["draws"]),
        )

    def summary(self) -> dict[str, Any]:
        """Compact JSON-able summary for ``info``: draws by spec path, texture families, sensor, control.

        Leaves are tuples (immutable), so a shallow copy per step is enough to hand out fresh info data.
        """
        return {
            "spec_hash": self.spec_hash,
            "draws": dict(self.draws),
            "textures": {t.name: t.family if t.family != "image" else t.image for t in self.textures},
            "sensor": dict(self.sensor),
            "control": dict(self.control),
        }


class InfoSummary(dict):
    """``info["randomization"]``: the summary's two levels of dicts over immutable leaves (tuples, strings, numbers).

    A deep copy copies the dicts and shares the leaves, which is a full deep copy of such data at a fraction of
    ``copy.deepcopy``'s cost: SB3's ``DummyVecEnv`` deep-copies every step's infos (~250 us per step for a
    ``train`` summary, about half a state env step, before this class)."""

    def fresh(self) -> InfoSummary:
        """A copy whose dicts are new (the leaves shared)."""
        return InfoSummary({k: dict(v) if isinstance(v, dict) else v for k, v in self.items()})

    def __deepcopy__(self, memo: dict[int, Any]) -> InfoSummary:
        return self.fresh()


def _tuples(d: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: (None if d[k] is None else tuple(d[k])) for k in keys}


def _listify(x: Any) -> Any:
    if isinstance(x, Op):
        return x.value
    if isinstance(x, dict):
        return {k: _listify(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_listify(v) for v in x]
    return x
