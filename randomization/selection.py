"""The ``randomization`` argument, parsed once into a typed value.

Users select a scene distribution with one string or object in many places (``simreal train --randomization``,
``--domains``, experiment YAMLs, ``gym.make(..., randomization=...)``). :func:`parse_randomization` turns it into
exactly one of

- :class:`Domain`: a named domain, ``canonical``/``train``/``test``/``real`` (:data:`DOMAINS`), a reality member
  ``real:<index>`` or a user's lab ``real:<spec file>``;
- :class:`Preset`: a preset name (:data:`PRESETS`: ``none``, ``visual``, ``physics``, ``full``);
- :class:`SpecFile`: the path of a ``.yaml``/``.yml``/``.json`` spec file;
- :class:`Spec`: a spec given in memory (a :class:`RandomizationSpec` or a mapping);
- :class:`ADR`: ``"adr"``, automatic domain randomization (built by the agents layer).

Callers parse at their edge and pass the typed value down; ``str(value)`` gives back the text form (what
``run.json`` and the CLI hold), and :func:`selection_spec` the spec it stands for.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simreal.randomization.presets import DOMAINS, PRESETS, domain_spec, load_preset
from simreal.randomization.realities import SPEC_SUFFIXES, is_reality, parse_member
from simreal.randomization.spec import RandomizationSpec

ADR_NAME = "adr"
FORMS = (
    f"a domain ({', '.join(DOMAINS)}, real:<index>, real:<spec file>), a preset ({', '.join(PRESETS)}), "
    f"a {'/'.join(SPEC_SUFFIXES)} spec file, {ADR_NAME!r}, a spec mapping or a RandomizationSpec"
)


@dataclass(frozen=True)
class Domain:
    """A named domain: ``canonical``, ``train``, ``test``, ``real``, ``real:<index>`` or ``real:<spec file>``."""

    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Preset:
    """A preset spec of the env's family: ``none``, ``visual``, ``physics`` or ``full``."""

    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class SpecFile:
    """A spec file (``.yaml``/``.yml``/``.json``); read when the env is built, so it may not exist yet."""

    path: str

    def __str__(self) -> str:
        return self.path


@dataclass(frozen=True, repr=False)
class Spec:
    """A spec given in memory (sensitivity sweeps, tests)."""

    spec: RandomizationSpec

    def __repr__(self) -> str:
        return f"Spec(name={self.spec.name!r}, hash={self.spec.hash()!r})"

    def __str__(self) -> str:
        return f"spec {self.spec.name} ({self.spec.hash()})"


@dataclass(frozen=True)
class ADR:
    """Automatic domain randomization: ranges that widen with the agent's success (built by ``simreal.agents``)."""

    def __str__(self) -> str:
        return ADR_NAME


Randomization = Domain | Preset | SpecFile | Spec | ADR
TYPES = (Domain, Preset, SpecFile, Spec, ADR)


def parse_randomization(value: Any, where: str = "randomization") -> Randomization | None:
    """The typed form of ``value`` (``None`` stays ``None``: the env as registered). Bad input raises
    ``ValueError`` naming ``where`` and the allowed forms; spec files are not opened here."""
    if value is None or isinstance(value, TYPES):
        return value
    if isinstance(value, RandomizationSpec):
        return Spec(value)
    if isinstance(value, Mapping):
        return Spec(RandomizationSpec.from_dict(value))
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str):
        raise ValueError(f"{where}: unsupported type {type(value).__name__} {value!r}; expected {FORMS}")
    if value == ADR_NAME:
        return ADR()
    if value in DOMAINS:
        return Domain(value)
    if is_reality(value):
        try:
            parse_member(value)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from exc
        return Domain(value)
    if value in PRESETS:
        return Preset(value)
    if value.endswith(SPEC_SUFFIXES):
        return SpecFile(value)
    raise ValueError(f"{where}: expected {FORMS}; got {value!r}")


def selection_spec(selection: Randomization, family: str) -> RandomizationSpec:
    """The spec ``selection`` stands for in env family ``family`` (``ValueError`` for :class:`ADR`, whose ranges
    live in its wrapper, and for a spec file that does not exist)."""
    if isinstance(selection, Domain):
        return domain_spec(selection.name, family)
    if isinstance(selection, Preset):
        return load_preset(selection.name, family)
    if isinstance(selection, SpecFile):
        if not Path(selection.path).is_file():
            raise ValueError(f"randomization: spec file {selection.path!r} does not exist")
        return RandomizationSpec.load(selection.path)
    if isinstance(selection, Spec):
        return selection.spec
    raise ValueError(f"randomization: {selection} has no fixed spec (it is built by simreal.agents' ADR wrapper)")
