"""A family of reality proxies: several seeded, different, plausible labs drawn from one reality-family spec.

The family spec (preset ``real``) gives, per factor, the range in which a lab's value may lie (lighting, table,
clutter, camera mount, sensor, dynamics, latency). Member ``k`` (domain ``real:k``) is one lab: every interval of
the family is narrowed to a sub-interval ``width`` times as wide, placed by a generator seeded with ``k``; every
multi-option choice, texture family set and distractor shape set keeps one option. A member therefore lies
inside the family, so it stays disjoint from training wherever the family is (``check_heldout``).

A user adds their own lab as a spec file: domain ``real:path/to/lab.yaml`` (any ``.yaml``/``.yml``/``.json``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from simreal.randomization.distributions import Choice, Distribution, Uniform
from simreal.randomization.factors.textures import TextureEntry
from simreal.randomization.spec import RandomizationSpec, distribution_paths, replace_at

REALITY = "real"
PREFIX = REALITY + ":"
MEMBERS = 5  # "real" in evaluations and reports means real:0 .. real:4
WIDTH = 0.25  # a member's interval is this fraction of the family's
_SALT = 0x2EA1  # separates member streams from other uses of the same small integers
SPEC_SUFFIXES = (".yaml", ".yml", ".json")


def is_reality(domain: str) -> bool:
    """Whether ``domain`` names a reality proxy (``real``, ``real:k`` or ``real:<spec file>``)."""
    return domain == REALITY or domain.startswith(PREFIX)


def reality_domains(members: int = MEMBERS) -> tuple[str, ...]:
    """The member domains ``real:0`` .. ``real:{members-1}``."""
    if members < 1:
        raise ValueError(f"members: must be >= 1, got {members}")
    return tuple(f"{PREFIX}{k}" for k in range(members))


def expand_domains(domains: Sequence[str], members: int = MEMBERS) -> tuple[str, ...]:
    """``domains`` with ``real`` replaced by its members (order kept, duplicates dropped)."""
    out: list[str] = []
    for d in domains:
        for item in reality_domains(members) if d == REALITY else (d,):
            if item not in out:
                out.append(item)
    return tuple(out)


def _narrow(dist: Distribution, rng: np.random.Generator, width: float) -> Distribution:
    if isinstance(dist, Uniform):
        span = (dist.high - dist.low) * width
        start = float(rng.uniform(dist.low, dist.high - span))
        return Uniform(start, start + span)
    if isinstance(dist, Choice) and len(dist.options) > 1:
        return Choice((dist.options[int(rng.integers(len(dist.options)))],))
    return dist  # constants, normals and log-uniforms are kept as the family gives them


def _one_of(values: tuple[str, ...], rng: np.random.Generator) -> tuple[str, ...]:
    return (values[int(rng.integers(len(values)))],)


def _pick_categories(spec: RandomizationSpec, rng: np.random.Generator) -> RandomizationSpec:
    visual = spec.visual
    textures = tuple(dataclasses.replace(t, families=_one_of(t.families, rng)) for t in visual.textures)
    skybox: TextureEntry | None = visual.skybox
    if skybox is not None:
        skybox = dataclasses.replace(skybox, families=_one_of(skybox.families, rng))
    distractors = visual.distractors
    if distractors is not None:
        distractors = dataclasses.replace(distractors, shapes=_one_of(distractors.shapes, rng))
    visual = dataclasses.replace(visual, textures=textures, skybox=skybox, distractors=distractors)
    return dataclasses.replace(spec, visual=visual)


def member_spec(family: RandomizationSpec, index: int, width: float = WIDTH) -> RandomizationSpec:
    """Reality ``index`` of ``family``: same seed and family -> the same lab."""
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise ValueError(f"reality index: expected an int >= 0, got {index!r}")
    if not 0.0 < width <= 1.0:
        raise ValueError(f"width: must be in (0, 1], got {width}")
    rng = np.random.default_rng([index, _SALT])
    spec: Any = family
    for path, dist in distribution_paths(family).items():
        spec = replace_at(spec, path, _narrow(dist, rng, width))
    spec = _pick_categories(spec, rng)
    return dataclasses.replace(spec, name=f"{family.name}:{index}")


def parse_member(domain: str) -> int | str:
    """The member index of ``real:k``, or the spec file path of ``real:<file>`` (ValueError otherwise)."""
    if not domain.startswith(PREFIX):
        raise ValueError(f"domain: expected 'real:<index>' or 'real:<spec file>', got {domain!r}")
    tail = domain[len(PREFIX) :]
    if tail.isdigit():
        return int(tail)
    if tail.endswith(SPEC_SUFFIXES):
        return tail
    raise ValueError(
        f"domain {domain!r}: the part after 'real:' must be a member index (0, 1, ...) or a spec file "
        f"ending in {list(SPEC_SUFFIXES)}"
    )
