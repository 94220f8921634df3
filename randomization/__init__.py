"""simreal.randomization: declarative domain randomization (visual, physics, sensor, control), named domains
and automatic domain randomization for the simreal MuJoCo envs."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from simreal.randomization.adr import AdrConfig, AdrParam, AdrWrapper, AutomaticDomainRandomization
from simreal.randomization.apply import Defaults, apply, restore
from simreal.randomization.distributions import Choice, Constant, Distribution, LogUniform, Normal, Uniform
from simreal.randomization.factors.camera import CameraSpec
from simreal.randomization.factors.colors import ColorEntry
from simreal.randomization.factors.control import ControlSpec
from simreal.randomization.factors.distractors import DistractorSpec
from simreal.randomization.factors.image_textures import ImageTextureEntry
from simreal.randomization.factors.lights import LightSpec
from simreal.randomization.factors.physics import PhysicsEntry
from simreal.randomization.factors.sensor import SensorSpec
from simreal.randomization.factors.textures import TextureEntry
from simreal.randomization.heldout import check_heldout, heldout_violations
from simreal.randomization.params import FieldOp, Op, Params, TextureOp
from simreal.randomization.presets import DOMAINS, PRESETS, domain_spec, env_family, load_preset
from simreal.randomization.sample import Sampler, sample
from simreal.randomization.selection import (
    ADR,
    Domain,
    Preset,
    Randomization,
    Spec,
    SpecFile,
    parse_randomization,
    selection_spec,
)
from simreal.randomization.sensor import SensorPipeline
from simreal.randomization.spec import PhysicsSpec, RandomizationSpec, VisualSpec
from simreal.randomization.spec_errors import SpecError
from simreal.randomization.wrapper import DomainRandomization


def make_randomized(
    env: gym.Env,
    randomization: Any = None,
    domain: str | None = None,
    seed_sequence: np.random.SeedSequence | None = None,
    resample: str | int = "episode",
) -> gym.Env:
    """Wrap ``env`` in ``DomainRandomization`` for a preset name / YAML path / spec (``randomization``) or a
    named ``domain`` (canonical, train, test, real); returns ``env`` unchanged when both are None."""
    if randomization is None and domain is None:
        return env
    if randomization is not None and domain is not None:
        raise ValueError(
            f"randomization/domain: pass one of them, got randomization={randomization!r} and domain={domain!r}"
        )
    family = env_family(env)
    selection = parse_randomization(randomization)
    if isinstance(selection, (Domain, ADR)):
        raise ValueError(f"randomization: {selection!r} is not a preset, spec file or spec (a domain goes in domain=)")
    spec = domain_spec(domain, family) if selection is None else selection_spec(selection, family)
    return DomainRandomization(env, spec, resample=resample, seed=seed_sequence)


__all__ = [
    "ADR",
    "DOMAINS",
    "PRESETS",
    "AdrConfig",
    "AdrParam",
    "AdrWrapper",
    "AutomaticDomainRandomization",
    "CameraSpec",
    "Choice",
    "ColorEntry",
    "Constant",
    "ControlSpec",
    "Defaults",
    "DistractorSpec",
    "Distribution",
    "Domain",
    "DomainRandomization",
    "FieldOp",
    "ImageTextureEntry",
    "LightSpec",
    "LogUniform",
    "Normal",
    "Op",
    "Params",
    "PhysicsEntry",
    "PhysicsSpec",
    "Preset",
    "Randomization",
    "RandomizationSpec",
    "Sampler",
    "SensorPipeline",
    "SensorSpec",
    "Spec",
    "SpecError",
    "SpecFile",
    "TextureEntry",
    "TextureOp",
    "Uniform",
    "VisualSpec",
    "apply",
    "check_heldout",
    "domain_spec",
    "env_family",
    "heldout_violations",
    "load_preset",
    "make_randomized",
    "parse_randomization",
    "restore",
    "sample",
    "selection_spec",
]
