"""Ablation of a domain: its spec with one factor group removed (held at the canonical scene's values) and every
other group kept as it is, so that evaluating a policy on "``real:k`` without ``physics``" shows how much of the
loss on ``real:k`` that group causes.

The groups are the sensitivity sweeps' (:data:`~simreal.randomization.sweeps.GROUPS`) plus the factors no preset
sets (:data:`~simreal.randomization.sweeps.NOT_SWEPT`): every factor of ``factors.REGISTRY`` lies in one of them.
The ablation is paired (common random numbers): the ablated spec is the domain's own with the group named in
its ``without``, so the group is still drawn, in its place, but not applied (see ``sample.py`` and the wrapper).
Under the same episode seed every kept factor takes exactly the values it takes on the full domain, per episode
and per step, and the difference between the two evaluations is the group's effect alone. A composite group
(:data:`COMPOSITE`: ``appearance``, ``look``) removes several at once.
"""

from __future__ import annotations

import dataclasses

from simreal.randomization.factors import in_group
from simreal.randomization.presets import domain_spec, load_preset
from simreal.randomization.spec import RandomizationSpec, get_at
from simreal.randomization.sweeps import GROUPS as SWEPT
from simreal.randomization.sweeps import NOT_SWEPT

GROUPS = (*SWEPT, *NOT_SWEPT)
# groups removed together: ``appearance`` is everything a camera image shows and a translator could undo (every
# visual group and the sensor pipeline); a policy "without appearance" sees the canonical look under the domain's
# dynamics and control, so its success there is the ceiling of any image translator on that domain. ``look`` is
# the same but for the camera's pose and field of view: the ceiling of a translator that changes the look in place
# (trained on pairs through the same camera) and leaves the view as the domain's camera mount makes it
APPEARANCE = (*(g for g in GROUPS if g.startswith("visual.")), "sensor")
COMPOSITE = {"appearance": APPEARANCE, "look": tuple(g for g in APPEARANCE if g != "visual.camera")}
WITHOUT = " without "  # ablation domain label: "<domain> without <group>"
PAIRING = "paired"  # how an ablation is drawn (in cached evaluation keys: unpaired results of old runs are redone)


def check_group(group: str, where: str = "group") -> str:
    """``group`` if it is an ablation group (or a :data:`COMPOSITE` one), else ``ValueError`` naming ``where`` and
    the allowed groups."""
    if group not in GROUPS and group not in COMPOSITE:
        raise ValueError(f"{where}: must be one of {[*GROUPS, *COMPOSITE]}, got {group!r}")
    return group


def group_parts(group: str) -> tuple[str, ...]:
    """The factor groups ``group`` removes: itself, or a :data:`COMPOSITE` group's members."""
    return COMPOSITE.get(check_group(group), (group,))


def present_groups(spec: RandomizationSpec, family: str) -> tuple[str, ...]:
    """The groups of ``spec`` that differ from the canonical scene of ``family`` and are applied (not in its
    ``without``), in :data:`GROUPS` order."""
    canonical = load_preset("none", family)
    muted = [g for g in GROUPS if any(in_group(g, part) for part in spec.without)]
    return tuple(g for g in GROUPS if get_at(spec, g) != get_at(canonical, g) and g not in muted)


def without_group(spec: RandomizationSpec, group: str) -> RandomizationSpec:
    """``spec`` with ``group`` (every member of a composite one) drawn but not applied (added to its ``without``:
    the scene keeps its nominal values there, every other factor draws what it draws in ``spec``); the rest
    unchanged."""
    without = (*spec.without, *(g for g in group_parts(group) if g not in spec.without))
    return dataclasses.replace(spec, without=without, name=f"{spec.name}{WITHOUT}{group}")


def ablation_spec(domain: str, group: str, family: str) -> RandomizationSpec:
    """The spec of named domain ``domain`` (``real:k``, ``real:<file>``, ``test`` ...) without ``group``."""
    return without_group(domain_spec(domain, family), group)


def ablation_label(domain: str, group: str) -> str:
    """The evaluation domain label of ``domain`` without ``group``: ``"real:0 without physics"``."""
    return f"{domain}{WITHOUT}{group}"


def ablated_domain(label: str, group: str) -> str:
    """The domain of an ablation label (inverse of :func:`ablation_label`)."""
    suffix = f"{WITHOUT}{group}"
    if not label.endswith(suffix):
        raise ValueError(f"ablation label: {label!r} does not end in {suffix!r}")
    return label[: -len(suffix)]
