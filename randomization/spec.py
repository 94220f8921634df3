"""Declarative randomization spec: typed frozen dataclasses <-> YAML/JSON.

A spec has four groups (visual, physics, sensor, control); each field of a group belongs to one factor of
``factors/`` (its entries' dataclass, sampling, apply operations and held-out units live there).
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
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from simreal.atomic import atomic_write_text
from simreal.randomization import bounds as B
from simreal.randomization.compose import read_data, resolve_includes
from simreal.randomization.distributions import Distribution, is_distribution
from simreal.randomization.factors import group_paths
from simreal.randomization.factors.camera import CameraSpec
from simreal.randomization.factors.colors import ColorEntry
from simreal.randomization.factors.control import ControlSpec
from simreal.randomization.factors.distractors import DistractorSpec
from simreal.randomization.factors.image_textures import ImageTextureEntry
from simreal.randomization.factors.lights import LightSpec
from simreal.randomization.factors.physics import PhysicsEntry
from simreal.randomization.factors.sensor import SensorSpec
from simreal.randomization.factors.textures import TextureEntry
from simreal.randomization.spec_io import build, dump, join, parse
from simreal.randomization.specfile import locate, parse_yaml


@dataclass(frozen=True)
class VisualSpec:
    colors: tuple[ColorEntry, ...] = ()
    textures: tuple[TextureEntry, ...] = ()
    image_textures: tuple[ImageTextureEntry, ...] = ()
    lights: LightSpec | None = None
    camera: CameraSpec | None = None
    distractors: DistractorSpec | None = None
    skybox: TextureEntry | None = None


@dataclass(frozen=True)
class PhysicsSpec:
    entries: tuple[PhysicsEntry, ...] = ()
    gravity_tilt_deg: Distribution | None = None

    def __post_init__(self) -> None:
        B.check_dist(self.gravity_tilt_deg, B.GRAVITY_TILT, "gravity_tilt_deg")


@dataclass(frozen=True)
class RandomizationSpec:
    """The whole randomization: visual, physics, sensor and control groups.

    ``without`` (an ablation, e.g. ``[visual.lights]``) names parts of the spec (:func:`~simreal.randomization.
    factors.group_paths`) that are drawn exactly as usual but not applied: the scene keeps its nominal values there
    while every other factor takes the same random values, under the same seed, as in the spec without ``without``.
    """

    name: str = "custom"
    visual: VisualSpec = field(default_factory=VisualSpec)
    physics: PhysicsSpec = field(default_factory=PhysicsSpec)
    sensor: SensorSpec = field(default_factory=SensorSpec)
    control: ControlSpec = field(default_factory=ControlSpec)
    without: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.without, str) or not isinstance(self.without, (list, tuple)):
            raise ValueError(f"without: expected a list of spec parts, got {type(self.without).__name__}")
        object.__setattr__(self, "without", tuple(self.without))
        allowed = group_paths()
        for i, part in enumerate(self.without):
            if part not in allowed:
                raise ValueError(f"without[{i}]: must be one of {list(allowed)}, got {part!r}")
        if len(set(self.without)) != len(self.without):
            raise ValueError(f"without: must be unique, got {list(self.without)}")

    # ------------------------------------------------------------------ io
    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RandomizationSpec:
        return build(cls, data, "")

    def to_dict(self) -> dict[str, Any]:
        return dump(self)

    @classmethod
    def from_yaml(cls, text: str) -> RandomizationSpec:
        """Parse YAML text (syntax errors and duplicate keys raise ``SpecError('<string>:LINE: ...')``)."""
        data = parse(parse_yaml, text, "<string>")
        return cls.from_dict({} if data is None else data)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> RandomizationSpec:
        """Read a ``.yaml``/``.yml`` or ``.json`` file, merging the files it lists in ``include`` (see
        ``compose.py``); every error is a ``SpecError`` whose message starts with ``FILE:LINE:`` (the line of the
        offending field)."""
        source = str(path)
        data, text = parse(read_data, Path(path))

        def build_spec(d: Any) -> RandomizationSpec:
            d = parse(resolve_includes, d, Path(path))
            return cls.from_dict({} if d is None else d)

        return locate(build_spec, data, text, source)

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
        """True when nothing is randomized (``without`` removes nothing from an empty spec)."""
        return dataclasses.replace(self, without=()).to_dict() == RandomizationSpec(name=self.name).to_dict()


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
                rec(getattr(obj, f.name), join(path, f.name))
        elif isinstance(obj, tuple):
            for i, v in enumerate(obj):
                rec(v, f"{path}[{i}]")

    rec(spec, "")
    return out
