"""Evaluation domains given as names or as a user's own spec file.

A domain is a named one (``canonical``, ``train``, ``test``, ``real``, ``real:k``, ...; see
:func:`simreal.randomization.selection.parse_randomization`) or the path of a randomization spec file (``my_lab.yaml``,
``.yml`` or ``.json``) describing a lab nobody designed the presets for. Evaluation frames of a domain are
seeded from the experiment seed and the domain's name alone, so adding or reordering domains, or evaluating
saved models later (``--eval-only``), gives every domain the same frames.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from simreal.data.episodes import RolloutSpec
from simreal.randomization import DOMAINS
from simreal.randomization.realities import SPEC_SUFFIXES
from simreal.randomization.selection import Domain, Randomization, SpecFile, parse_randomization

__all__ = ["SPEC_SUFFIXES", "check_domains", "domain_seed", "is_spec_file", "parse_domains", "rollout_spec"]


def _selection(domain: str) -> Randomization | None:
    try:
        return parse_randomization(domain, "domains")
    except ValueError:
        return None


def is_spec_file(domain: str) -> bool:
    """Whether ``domain`` is a spec file path rather than a named domain."""
    return isinstance(_selection(domain), SpecFile)


def check_domains(domains: Sequence[str]) -> tuple[str, ...]:
    """``domains`` as a tuple, each a named domain or an existing spec file; ``ValueError`` naming the bad one."""
    if isinstance(domains, str) or not domains:
        raise ValueError(f"domains: expected a non-empty list of domains, got {domains!r}")
    for domain in domains:
        selection = _selection(domain)
        if isinstance(selection, SpecFile):
            if not Path(domain).is_file():
                raise ValueError(f"domains: spec file {domain!r} does not exist")
        elif not isinstance(selection, Domain):
            raise ValueError(
                f"domains: {domain!r} is neither a named domain ({', '.join(DOMAINS)}, real:<index>) nor a spec "
                f"file ending in {', '.join(SPEC_SUFFIXES)}"
            )
    if len(set(domains)) != len(domains):
        raise ValueError(f"domains: each domain once, got {list(domains)}")
    return tuple(domains)


def parse_domains(text: str) -> tuple[str, ...]:
    """Comma-separated domains (``canonical,test,real:0,my_lab.yaml``), checked by :func:`check_domains`."""
    return check_domains([d.strip() for d in text.split(",") if d.strip()])


def rollout_spec(
    env_id: str, domain: str, camera: str, image_size: int, frames_per_episode: int = 1, action_noise: float = 0.0
) -> RolloutSpec:
    """The :class:`RolloutSpec` rendering ``domain`` (a spec file becomes the env's randomization)."""
    common = {"camera": camera, "image_size": image_size, "frames_per_episode": frames_per_episode}
    if is_spec_file(domain):
        return RolloutSpec(env_id, randomization=domain, action_noise=action_noise, **common)
    return RolloutSpec(env_id, domain, action_noise=action_noise, **common)


def domain_seed(seed: int, domain: str) -> np.random.SeedSequence:
    """The seed sequence of ``domain``'s frames: depends on ``seed`` and the domain's name only."""
    return np.random.SeedSequence(seed, spawn_key=(zlib.crc32(domain.encode()),))
