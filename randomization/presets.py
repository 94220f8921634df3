"""Preset specs per env family (YAML files in ``presets/``) and the named domains built on them."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym

from simreal.randomization.realities import is_reality, member_spec, parse_member
from simreal.randomization.spec import RandomizationSpec

PRESET_DIR = Path(__file__).with_name("presets")
PRESETS = ("none", "visual", "physics", "sensor", "control", "full")  # full = visual + physics + sensor + control
FAMILIES = ("arm", "driving")
DOMAINS = {"canonical": "none", "train": "full", "test": "test", "real": "real"}


def env_family(env: gym.Env) -> str:
    """``"driving"`` or ``"arm"`` from the env class's module (``simreal.envs.<family>...``)."""
    module = type(env.unwrapped).__module__
    for family in FAMILIES:
        if f".{family}." in f".{module}.":
            return family
    raise ValueError(f"env: cannot tell the family (one of {list(FAMILIES)}) of {type(env.unwrapped).__name__}")


def load_preset(name: str, family: str) -> RandomizationSpec:
    """Preset ``name`` (``none``, one group: ``visual``/``physics``/``sensor``/``control``, their composition
    ``full``, or the domain specs ``test``/``real``); a preset file may ``include`` others (``compose.py``)."""
    if family not in FAMILIES:
        raise ValueError(f"family: must be one of {list(FAMILIES)}, got {family!r}")
    allowed = (*PRESETS, "test", "real")
    if name not in allowed:
        raise ValueError(f"randomization: preset must be one of {list(allowed)}, got {name!r}")
    return RandomizationSpec.load(PRESET_DIR / f"{family}_{name}.yaml")


def is_domain(name: str) -> bool:
    """Whether ``name`` is a named domain (including the reality members ``real:k`` and ``real:<file>``)."""
    return name in DOMAINS or is_reality(name)


def domain_spec(domain: str, family: str) -> RandomizationSpec:
    """The spec of a named domain: canonical (none), train (full), test (held-out), real (the whole reality
    family: every episode another lab), ``real:k`` (member k of the family, one lab) or ``real:<spec file>``
    (a user's own lab)."""
    if not is_domain(domain):
        allowed = f"one of {list(DOMAINS)}, 'real:<index>' or 'real:<spec file>'"
        raise ValueError(f"domain: must be {allowed}, got {domain!r}")
    if domain in DOMAINS:
        return load_preset(DOMAINS[domain], family)
    member = parse_member(domain)
    if isinstance(member, str):
        if not Path(member).is_file():
            raise ValueError(f"domain {domain!r}: spec file {member!r} does not exist")
        return RandomizationSpec.load(member)
    return member_spec(load_preset("real", family), member)
