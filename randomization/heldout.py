"""Checks that a held-out spec (``test``, ``real``) never produces what the training spec can produce.

A spec is cut into *units* (one colour entry per element pattern, one texture per name, the lights of one
pattern, a physics field of one pattern, one sensor op, ...). Each unit is a product of independent factors
(hue, saturation, texture family, ...), so two units' outcome sets are disjoint exactly when at least one
shared factor has disjoint supports. The held-out spec is disjoint from training when every unit that the
training spec randomizes is present in the held-out spec and disjoint there.

Exception, on purpose: the units in :data:`COVERED_UNITS` (actuation latency, control-period jitter) are what
every real lab has some amount of and what a policy must be trained across; training covers their whole
plausible range and the held-out specs draw *inside* it, so these units are exempt from disjointness (the
held-out specs must still randomize them). Everything else of a held-out lab stays outside training.
"""

from __future__ import annotations

from typing import Any

from simreal.randomization.distributions import Choice, Distribution, supports_overlap
from simreal.randomization.spec import HSV, RandomizationSpec, TextureEntry

Factors = dict[str, Any]  # factor name -> Distribution or frozenset of categorical values
COVERED_UNITS = frozenset({"control:action_latency", "control:period_jitter"})


def _hsv(prefix: str, c: HSV) -> Factors:
    return {f"{prefix}hue": c.hue, f"{prefix}saturation": c.saturation, f"{prefix}value": c.value}


def _texture(t: TextureEntry) -> Factors:
    return {"families": frozenset(t.families), **_hsv("a.", t.color_a), **_hsv("b.", t.color_b), "scale": t.scale}


def _present(**kw: Distribution | None) -> Factors:
    return {k: v for k, v in kw.items() if v is not None}


def _visual_units(spec: RandomizationSpec) -> dict[str, Factors]:
    out: dict[str, Factors] = {}
    v = spec.visual
    for c in v.colors:
        for n in c.names:
            out[f"colors:{c.target}:{n}:{c.mode}"] = _hsv("", HSV(c.hue, c.saturation, c.value))
    for t in (*v.textures, *(() if v.skybox is None else (v.skybox,))):
        for n in t.names:
            out[f"texture:{n}"] = _texture(t)
    for it in v.image_textures:
        for n in it.names:
            out[f"texture:{n}"] = {"families": frozenset(["image:" + it.folder])}
    if v.lights is not None:
        lt = v.lights
        f = _present(pos=lt.pos_jitter, dir=lt.dir_jitter, intensity=lt.intensity, tint=lt.tint, count=lt.count)
        out.update({f"lights:{n}": f for n in lt.names})
    if v.camera is not None:
        cam = v.camera
        f = _present(pos=cam.pos_jitter, rot=cam.rot_jitter_deg, fovy=cam.fovy_jitter)
        out.update({f"camera:{n}": f for n in cam.names})
    if v.distractors is not None:
        d = v.distractors
        f = {"count": d.count, "shapes": frozenset(d.shapes), "size": d.size, "x": d.x, "y": d.y, "z": d.z}
        out.update({f"distractors:{n}": {**f, **_hsv("color.", d.color)} for n in d.names})
    return out


def units(spec: RandomizationSpec) -> dict[str, Factors]:
    """Every randomized unit of ``spec`` keyed by a stable name, with its factors."""
    out = _visual_units(spec)
    for e in spec.physics.entries:
        cols = "all" if e.columns is None else ",".join(map(str, e.columns))
        for n in e.names:
            out[f"physics:{e.field}:{n}:{e.mode}:{cols}"] = {"dist": e.dist}
    if spec.physics.gravity_tilt_deg is not None:
        out["physics:gravity_tilt_deg"] = {"dist": spec.physics.gravity_tilt_deg}
    for group in ("sensor", "control"):
        g = getattr(spec, group)
        for name in type(g).__dataclass_fields__:
            dist = getattr(g, name)
            if dist is not None:
                out[f"{group}:{name}"] = {"dist": dist}
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
