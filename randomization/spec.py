"""Declarative randomization spec: typed frozen dataclasses <-> YAML/JSON.

Parsing is strict: unknown keys, wrong types and invalid distributions raise ``SpecError`` (a ``ValueError``)
whose message starts with the path of the bad field, e.g. ``visual.colors[2].hue.low: must be < high=0.1``.
Element name patterns (globs) are checked against a model when the spec is compiled (see ``sample.py``).
Every distribution is held to the physical bounds of its field (``bounds.py``): absolute values here, values
that ``scale``/``add`` derive from the model when compiled. Files load through ``specfile.py``: every error,
syntax included, is a ``SpecError`` starting with ``FILE:LINE:``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import yaml

from simreal.atomic import atomic_write_text
from simreal.randomization import bounds as B
from simreal.randomization.distributions import (
    Choice,
    Constant,
    Distribution,
    Uniform,
    from_dict,
    is_distribution,
)
from simreal.randomization.specfile import locate, parse_json, parse_yaml, read_text

Mode = Literal["set", "scale", "add"]
TEXTURE_FAMILIES = ("checker", "stripes", "noise", "gradient", "blobs")
MATERIAL_FAMILIES = ("wood", "concrete", "asphalt", "fabric")
ALL_FAMILIES = TEXTURE_FAMILIES + MATERIAL_FAMILIES
SHAPES = ("box", "sphere", "capsule", "cylinder", "ellipsoid")
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


class SpecError(ValueError):
    """Invalid spec; the message starts with the dotted path of the offending field."""


def _check_names(names: tuple[str, ...], fname: str = "names") -> None:
    if not names:
        raise ValueError(f"{fname}: must name at least one element pattern")
    for i, n in enumerate(names):
        if not isinstance(n, str) or not n:
            raise ValueError(f"{fname}[{i}]: expected a non-empty name or glob pattern, got {n!r}")


def _check_in(value: str, allowed: tuple[str, ...], fname: str) -> None:
    if value not in allowed:
        raise ValueError(f"{fname}: must be one of {list(allowed)}, got {value!r}")


def _check_subset(values: tuple[str, ...], allowed: tuple[str, ...], fname: str) -> None:
    if not values:
        raise ValueError(f"{fname}: must not be empty (allowed: {list(allowed)})")
    for i, v in enumerate(values):
        if v not in allowed:
            raise ValueError(f"{fname}[{i}]: must be one of {list(allowed)}, got {v!r}")


# frozen (immutable) defaults shared by the dataclasses below
_UNIT = Uniform(0.0, 1.0)
_ZERO = Constant(0.0)
_TEX_SCALE = Uniform(2.0, 8.0)
_DISTRACTOR_COUNT = Choice((0, 1, 2, 3))
_DISTRACTOR_SIZE = Uniform(0.01, 0.04)
_DISTRACTOR_XY = Uniform(-0.5, 0.5)
_DISTRACTOR_Z = Uniform(0.0, 0.3)


# ----------------------------------------------------------------------------------------------- visual
@dataclass(frozen=True)
class HSV:
    """A colour distribution in HSV (each channel in [0, 1]; hue wraps)."""

    hue: Distribution = _UNIT
    saturation: Distribution = _UNIT
    value: Distribution = _UNIT


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
        _check_names(self.names)
        _check_in(self.target, ("material", "geom"), "target")
        _check_in(self.mode, ("jitter", "free"), "mode")
        B.check_group(self, B.COLOR_JITTER_BOUNDS if self.mode == "jitter" else B.HSV_BOUNDS)


@dataclass(frozen=True)
class TextureEntry:
    """Procedural texture regenerated into every 2D/skybox texture matching ``names``."""

    names: tuple[str, ...]
    families: tuple[str, ...] = TEXTURE_FAMILIES
    color_a: HSV = HSV()
    color_b: HSV = HSV()
    scale: Distribution = _TEX_SCALE

    def __post_init__(self) -> None:
        _check_names(self.names)
        _check_subset(self.families, ALL_FAMILIES, "families")
        B.check_group(self, B.TEXTURE_BOUNDS)
        B.check_group(self.color_a, B.HSV_BOUNDS, "color_a.")
        B.check_group(self.color_b, B.HSV_BOUNDS, "color_b.")


@dataclass(frozen=True)
class ImageTextureEntry:
    """Textures matching ``names`` replaced by an image drawn from ``folder`` (resized to fit)."""

    names: tuple[str, ...]
    folder: str
    extensions: tuple[str, ...] = (".png", ".jpg", ".jpeg")

    def __post_init__(self) -> None:
        _check_names(self.names)
        if not self.folder:
            raise ValueError("folder: must be a directory path")
        _check_names(self.extensions, "extensions")


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
        _check_names(self.names)
        B.check_group(self, B.LIGHT_BOUNDS)


@dataclass(frozen=True)
class CameraSpec:
    """Cameras matching ``names``: position jitter (m, add), orientation jitter (deg, per local axis) and
    field-of-view jitter (deg, add)."""

    names: tuple[str, ...] = ("*",)
    pos_jitter: Distribution | None = None
    rot_jitter_deg: Distribution | None = None
    fovy_jitter: Distribution | None = None

    def __post_init__(self) -> None:
        _check_names(self.names)
        B.check_group(self, B.CAMERA_BOUNDS)


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
    color: HSV = HSV()

    def __post_init__(self) -> None:
        _check_names(self.names)
        _check_subset(self.shapes, SHAPES, "shapes")
        B.check_group(self, B.DISTRACTOR_BOUNDS)
        B.check_group(self.color, B.HSV_BOUNDS, "color.")


@dataclass(frozen=True)
class VisualSpec:
    colors: tuple[ColorEntry, ...] = ()
    textures: tuple[TextureEntry, ...] = ()
    image_textures: tuple[ImageTextureEntry, ...] = ()
    lights: LightSpec | None = None
    camera: CameraSpec | None = None
    distractors: DistractorSpec | None = None
    skybox: TextureEntry | None = None


# ---------------------------------------------------------------------------------------------- physics
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
        _check_in(self.field, PHYSICS_FIELDS, "field")
        _check_names(self.names)
        _check_in(self.mode, ("set", "scale", "add"), "mode")
        if self.columns is not None:
            if not self.columns:
                raise ValueError("columns: must list at least one column index (omit it for every column)")
            for i, c in enumerate(self.columns):
                if not isinstance(c, int) or isinstance(c, bool) or c < 0:
                    raise ValueError(f"columns[{i}]: expected a column index >= 0, got {c!r}")
        self._check_bounds()

    def _check_bounds(self) -> None:
        """``set``: the draws themselves within the field's bounds; ``scale``: a factor that keeps the sign the
        bounds need. The pristine values that ``scale``/``add`` act on are checked when compiled (sample.py)."""
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


@dataclass(frozen=True)
class PhysicsSpec:
    entries: tuple[PhysicsEntry, ...] = ()
    gravity_tilt_deg: Distribution | None = None

    def __post_init__(self) -> None:
        B.check_dist(self.gravity_tilt_deg, B.GRAVITY_TILT, "gravity_tilt_deg")


# ------------------------------------------------------------------------------------ sensor & control
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
class RandomizationSpec:
    """The whole randomization: visual, physics, sensor and control groups."""

    name: str = "custom"
    visual: VisualSpec = field(default_factory=VisualSpec)
    physics: PhysicsSpec = field(default_factory=PhysicsSpec)
    sensor: SensorSpec = field(default_factory=SensorSpec)
    control: ControlSpec = field(default_factory=ControlSpec)

    # ------------------------------------------------------------------ io
    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RandomizationSpec:
        return _build(cls, data, "")

    def to_dict(self) -> dict[str, Any]:
        return _dump(self)

    @classmethod
    def from_yaml(cls, text: str) -> RandomizationSpec:
        """Parse YAML text (syntax errors and duplicate keys raise ``SpecError('<string>:LINE: ...')``)."""
        data = _parse(parse_yaml, text, "<string>")
        return cls.from_dict({} if data is None else data)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> RandomizationSpec:
        """Read a ``.yaml``/``.yml`` or ``.json`` file; every error is a ``SpecError`` whose message starts with
        ``FILE:LINE:`` (the line of the offending field)."""
        source = str(path)
        text = _parse(read_text, Path(path))
        is_json = source.endswith(".json")
        data = _parse(parse_json if is_json else parse_yaml, text, source)
        return locate(lambda d: cls.from_dict({} if d is None else d), data, text, source)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write YAML (or JSON for a ``.json`` path) atomically."""
        text = json.dumps(self.to_dict(), indent=2) if str(path).endswith(".json") else self.to_yaml()
        atomic_write_text(Path(path), text)

    def hash(self) -> str:
        """Stable short id: sha256 of the canonical JSON of the spec (name excluded), 12 hex digits."""
        data = self.to_dict()
        data.pop("name", None)
        canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:12]

    @property
    def is_empty(self) -> bool:
        """True when nothing is randomized."""
        return self.to_dict() == RandomizationSpec(name=self.name).to_dict()


# ------------------------------------------------------------------------------------ generic (de)serialise
def _parse(reader: Callable[..., Any], *args: Any) -> Any:
    try:
        return reader(*args)
    except ValueError as err:
        raise SpecError(str(err)) from None


def _join(path: str, key: str) -> str:
    return key if not path else f"{path}.{key}"


def _prefixed(path: str, err: ValueError) -> SpecError:
    msg = str(err)
    if isinstance(err, SpecError) or not path:
        return SpecError(msg)
    head = msg.split(":", 1)[0]
    if re.fullmatch(r"[A-Za-z_][\w.\[\]]*", head):  # message already names a sub-field
        return SpecError(f"{path}.{msg}")
    return SpecError(f"{path}: {msg}")


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _build(cls: type, data: Any, path: str) -> Any:
    if not isinstance(data, Mapping):
        raise SpecError(f"{path or '<root>'}: expected a mapping for {cls.__name__}, got {type(data).__name__}")
    hints = _hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    for key in data:
        if key not in names:
            raise SpecError(f"{_join(path, str(key))}: unknown field for {cls.__name__} (allowed: {sorted(names)})")
    kwargs = {k: _convert(hints[k], v, _join(path, k)) for k, v in data.items()}
    try:
        return cls(**kwargs)
    except SpecError:
        raise
    except TypeError as err:  # missing required field
        missing = re.findall(r"'(\w+)'", str(err))
        where = _join(path, missing[0]) if missing else path
        raise SpecError(f"{where}: required field missing ({err})") from err
    except ValueError as err:
        raise _prefixed(path, err) from err


def _convert(tp: Any, value: Any, path: str) -> Any:  # noqa: C901 - one branch per supported type
    origin, args = get_origin(tp), get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        non_none = [a for a in args if a is not type(None)]
        if all(a in _DIST_TYPES for a in non_none):
            return _dist(value, path)
        return _convert(non_none[0], value, path)
    if tp in _DIST_TYPES:
        return _dist(value, path)
    if origin is Literal:
        if value not in args:
            raise SpecError(f"{path}: must be one of {list(args)}, got {value!r}")
        return value
    if origin is tuple:
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
            raise SpecError(f"{path}: expected a list, got {type(value).__name__}")
        item = args[0]
        return tuple(_convert(item, v, f"{path}[{i}]") for i, v in enumerate(value))
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _build(tp, value, path)
    if tp is bool:
        if not isinstance(value, bool):
            raise SpecError(f"{path}: expected true/false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise SpecError(f"{path}: expected an integer, got {value!r}")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise SpecError(f"{path}: expected a string, got {type(value).__name__} {value!r}")
        return value
    raise SpecError(f"{path}: unsupported field type {tp!r}")  # pragma: no cover - programming error


_DIST_TYPES = set(get_args(Distribution))


def _dist(value: Any, path: str) -> Distribution:
    if is_distribution(value):
        return value
    try:
        return from_dict(value)
    except ValueError as err:
        raise _prefixed(path, err) from err


def _dump(obj: Any) -> Any:
    if is_distribution(obj):
        return obj.to_dict()
    if dataclasses.is_dataclass(obj):
        out = {}
        for f in dataclasses.fields(obj):
            v = getattr(obj, f.name)
            if v is None or v == ():
                continue
            out[f.name] = _dump(v)
        return out
    if isinstance(obj, tuple):
        return [_dump(v) for v in obj]
    return obj


# -------------------------------------------------------------------------------------------- path access
_TOKEN = re.compile(r"([A-Za-z_]\w*)|\[(\d+)\]")


def _tokens(path: str) -> list[str | int]:
    out: list[str | int] = []
    for part in path.split("."):
        for name, idx in _TOKEN.findall(part):
            out.append(name if name else int(idx))
    return out


def get_at(spec: Any, path: str) -> Any:
    """Value at a dotted path such as ``visual.colors[0].hue``."""
    obj = spec
    for tok in _tokens(path):
        obj = obj[tok] if isinstance(tok, int) else getattr(obj, tok)
    return obj


def replace_at(spec: Any, path: str, value: Any) -> Any:
    """Copy of ``spec`` with the value at ``path`` replaced (frozen dataclasses are rebuilt)."""

    def rec(obj: Any, toks: list[str | int]) -> Any:
        if not toks:
            return value
        tok, rest = toks[0], toks[1:]
        if isinstance(tok, int):
            items = list(obj)
            items[tok] = rec(items[tok], rest)
            return tuple(items)
        return dataclasses.replace(obj, **{tok: rec(getattr(obj, tok), rest)})

    return rec(spec, _tokens(path))


def distribution_paths(spec: RandomizationSpec) -> dict[str, Distribution]:
    """Every distribution in ``spec`` keyed by its dotted path."""
    out: dict[str, Distribution] = {}

    def rec(obj: Any, path: str) -> None:
        if is_distribution(obj):
            out[path] = obj
        elif dataclasses.is_dataclass(obj):
            for f in dataclasses.fields(obj):
                rec(getattr(obj, f.name), _join(path, f.name))
        elif isinstance(obj, tuple):
            for i, v in enumerate(obj):
                rec(v, f"{path}[{i}]")

    rec(spec, "")
    return out
