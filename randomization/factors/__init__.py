"""The randomization factors, one unit each (robosuite's per-factor modders, dm_control's variations).

:data:`REGISTRY` lists every factor in sampling order (the order of the draws is part of the results: a
seed gives the same params only while it is unchanged). The sampler compiles, and the held-out checker cuts,
exactly the factors listed here; :func:`uncovered_paths` names any part of a spec that no factor owns (a test
keeps it empty), so a new spec field cannot be sampled or checked by accident without a factor. A spec's
``without`` names parts (:func:`group_paths`) whose factors are drawn but not applied (an ablation).

To add a factor: a module here with its spec dataclass, its compile function and steps, the ``Op`` members its
steps emit and its held-out units; a field for it in the spec group (``spec.py``); its entry in REGISTRY.
"""

from __future__ import annotations

import dataclasses
import functools
import typing
from collections.abc import Sequence
from typing import Any

from simreal.randomization.factors.base import Factor, is_group
from simreal.randomization.factors.camera import CAMERA
from simreal.randomization.factors.colors import COLORS
from simreal.randomization.factors.control import CONTROL
from simreal.randomization.factors.distractors import DISTRACTORS
from simreal.randomization.factors.image_textures import IMAGE_TEXTURES
from simreal.randomization.factors.lights import LIGHTS
from simreal.randomization.factors.physics import GRAVITY, PHYSICS
from simreal.randomization.factors.sensor import SENSOR
from simreal.randomization.factors.textures import SKYBOX, TEXTURES

REGISTRY: tuple[Factor, ...] = (
    COLORS,
    TEXTURES,
    IMAGE_TEXTURES,
    SKYBOX,
    LIGHTS,
    CAMERA,
    DISTRACTORS,
    PHYSICS,
    GRAVITY,
    SENSOR,
    CONTROL,
)


METADATA = ("name", "without")  # the top-level spec fields that are not randomization factors


@functools.cache
def group_paths() -> tuple[str, ...]:
    """The parts of a spec that hold whole factors: every factor's path and the groups above it (``visual``,
    ``physics``), in registry order (computed once: every spec checks its ``without`` against them)."""
    out: dict[str, None] = {}
    for factor in REGISTRY:
        parts = factor.path.split(".")
        out.update((".".join(parts[: i + 1]), None) for i in range(len(parts)))
    return tuple(out)


def in_group(path: str, group: str) -> bool:
    """Whether the dotted spec ``path`` (``physics.entries[0].scale``) is ``group`` or lies below it."""
    return path == group or path.startswith((f"{group}.", f"{group}["))


def uncovered_paths(spec_type: type, factors: Sequence[Factor] = REGISTRY, prefix: str = "") -> list[str]:
    """Dotted paths of the fields of ``spec_type`` (a spec dataclass) that no factor owns, descending into the
    group dataclasses (``VisualSpec``, ...) that are not themselves a factor; :data:`METADATA` is not a factor."""
    owned = {f.path for f in factors}
    out: list[str] = []
    hints = typing.get_type_hints(spec_type)
    for f in dataclasses.fields(spec_type):
        path = f"{prefix}{f.name}"
        if path in owned or (not prefix and f.name in METADATA):
            continue
        tp: Any = hints[f.name]
        if is_group(tp):
            out += uncovered_paths(tp, factors, f"{path}.")
        else:
            out.append(path)
    return out


__all__ = ["METADATA", "REGISTRY", "Factor", "group_paths", "in_group", "uncovered_paths"]
