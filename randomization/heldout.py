"""Checks that a held-out spec (``test``, ``real``) never produces what the training spec can produce.

A spec is cut into *units* by its factors (``factors/``: one colour entry per element pattern, one texture per
name, the lights of one pattern, a physics field of one pattern, one sensor op, ...). Each unit is a product of
independent factors (hue, saturation, texture family, ...), so two units' outcome sets are disjoint exactly when
at least one shared factor has disjoint supports. The held-out spec is disjoint from training when every unit
that the training spec randomizes is present in the held-out spec and disjoint there.

Exception, on purpose: the units in :data:`COVERED_UNITS` (actuation latency, control-period jitter, the control
rate as whole repeated periods: ``action_repeat``) are what every real lab has some amount of and what a policy
must be trained across; training covers their whole plausible range and the held-out specs draw *inside* it, so
these units are exempt from disjointness (the held-out specs must still randomize them). Everything else of a
held-out lab stays outside training.
"""

from __future__ import annotations

from typing import Any

from simreal.randomization.distributions import Choice, supports_overlap
from simreal.randomization.factors import REGISTRY
from simreal.randomization.factors.base import Factors
from simreal.randomization.spec import RandomizationSpec

COVERED_UNITS = frozenset({"control:action_latency", "control:period_jitter", "control:action_repeat"})


def units(spec: RandomizationSpec) -> dict[str, Factors]:
    """Every randomized unit of ``spec`` keyed by a stable name, with its factors (each registered factor cuts
    its own entries into units: ``Factor.heldout_units``)."""
    out: dict[str, Factors] = {}
    for factor in REGISTRY:
        for _, entry in factor.entries(spec):
            out.update(factor.heldout_units(entry))
    return {k: f for k, f in out.items() if f}


def _disjoint(a: Any, b: Any) -> bool:
    if isinstance(a, frozenset) or isinstance(b, frozenset):
        sa = a if isinstance(a, frozenset) else a.support()
        sb = b if isinstance(b, frozenset) else b.support()
        if isinstance(sa, frozenset) and isinstance(sb, frozenset):
            return not (sa & sb)
        return False
    return not supports_overlap(a, b)


def _varies(f: Any) -> bool:
    if isinstance(f, frozenset):
        return len(f) > 1
    if isinstance(f, Choice):
        return len(f.options) > 1
    sup = f.support()
    return isinstance(sup, frozenset) or sup[0] != sup[1]


def heldout_violations(
    train: RandomizationSpec, heldout: RandomizationSpec, covered: frozenset[str] = COVERED_UNITS
) -> list[str]:
    """Reasons ``heldout`` can reproduce a ``train`` outcome (empty list: provably disjoint), ignoring the
    overlap of the ``covered`` units (which must still be present in ``heldout``)."""
    tu, hu = units(train), units(heldout)
    problems = []
    for key, tf in sorted(tu.items()):
        if not any(_varies(f) for f in tf.values()):
            continue  # a constant in training (e.g. a fixed offset) is not a randomized unit
        if key not in hu:
            problems.append(f"{key}: randomized in training but not in the held-out spec")
            continue
        if key in covered:
            continue
        shared = sorted(set(tf) & set(hu[key]))
        if not any(_disjoint(tf[k], hu[key][k]) for k in shared):
            problems.append(f"{key}: every factor {shared} overlaps the training support")
    return problems


def check_heldout(train: RandomizationSpec, heldout: RandomizationSpec) -> None:
    """Raise ``ValueError`` listing every unit where ``heldout`` overlaps ``train``."""
    problems = heldout_violations(train, heldout)
    if problems:
        raise ValueError(f"{heldout.name}: not disjoint from {train.name}:\n  " + "\n  ".join(problems))
