"""Ablation specs: a domain without one factor group is the domain's spec with the group in ``without``; under a
seed every kept factor draws exactly the member's values (paired: common random numbers) and the removed group's
factors stay at the model's nominal values, for every group the member sets, on the arm and driving families."""

import dataclasses

import gymnasium as gym
import numpy as np
import pytest

from simreal.randomization import RandomizationSpec, Sampler, load_preset
from simreal.randomization.ablation import (
    COMPOSITE,
    GROUPS,
    ablated_domain,
    ablation_label,
    ablation_spec,
    group_parts,
    present_groups,
    without_group,
)
from simreal.randomization.apply import KP_BASE, Defaults, apply, restore
from simreal.randomization.factors import REGISTRY, in_group
from simreal.randomization.params import Params
from simreal.randomization.presets import domain_spec

NOT_SET = "visual.image_textures"  # no preset sets image textures
ENVS = {"arm": "simreal/Push-v0", "driving": "simreal/LaneFollow-v0"}


@pytest.fixture(scope="module", params=sorted(ENVS))
def family_model(request):
    env = gym.make(ENVS[request.param], obs_mode="state")
    yield request.param, env.unwrapped.model
    env.close()


def test_every_factor_lies_in_one_group() -> None:
    for factor in REGISTRY:
        assert sum(factor.path == g or factor.path.startswith(g + ".") for g in GROUPS) == 1, factor.path


def test_member_sets_every_preset_group() -> None:
    real0 = domain_spec("real:0", "arm")
    assert present_groups(real0, "arm") == tuple(g for g in GROUPS if g != "visual.image_textures")
    assert present_groups(load_preset("none", "arm"), "arm") == ()
    assert present_groups(load_preset("physics", "arm"), "arm") == ("physics",)


def _split(full: tuple, applied: tuple, muted: tuple) -> None:
    """``applied`` is ``full`` without the items of ``muted``, in order, and ``muted`` holds only items of ``full``."""
    assert len(applied) + len(muted) == len(full)
    assert list(applied) == [x for x in full if x not in muted]
    assert all(x in full for x in muted)


def _field_key(op) -> str:
    return "actuator_gainprm" if op.op in KP_BASE else op.field


def _assert_nominal(model, sampler: Sampler, applied: Params, muted: Params) -> None:
    """Applying ``applied`` leaves every model row and texture that only ``muted`` writes at its pristine value."""
    pristine = Defaults.capture(model, sampler.fields, sampler.texture_ids)
    apply(model, pristine, applied)
    try:
        after = Defaults.capture(model, sampler.fields, sampler.texture_ids)
        written = {(_field_key(op), r) for op in applied.fields for r in op.rows}
        checked = 0
        for op in muted.fields:
            key = _field_key(op)
            for r in op.rows:
                if (key, r) not in written:
                    np.testing.assert_array_equal(after.fields[key][r], pristine.fields[key][r], err_msg=key)
                    checked += 1
        assert checked or not muted.fields
        kept_textures = {t.tex_id for t in applied.textures}
        for t in muted.textures:
            if t.tex_id not in kept_textures:
                np.testing.assert_array_equal(after.textures[t.tex_id], pristine.textures[t.tex_id], err_msg=t.name)
    finally:
        restore(model, pristine)


@pytest.mark.parametrize("member", [0, 3])
def test_without_group_draws_the_members_values_and_leaves_the_group_nominal(family_model, member: int) -> None:
    family, model = family_model
    domain = f"real:{member}"
    full_spec = domain_spec(domain, family)
    groups = present_groups(full_spec, family)
    assert len(groups) >= 8  # every preset group (not image textures)
    for seed in (7, 11):
        full = Sampler(full_spec, model)(np.random.default_rng(seed))
        for group in groups:
            spec = ablation_spec(domain, group, family)
            assert spec.without == (group,) and spec.name == f"{full_spec.name} without {group}"
            assert dataclasses.replace(spec, without=(), name=full_spec.name) == full_spec  # every range kept
            sampler = Sampler(spec, model)
            applied, muted = sampler.draw(np.random.default_rng(seed))
            assert sampler(np.random.default_rng(seed)) == applied
            # common random numbers: the kept factors' draws and outputs are the member's, the group's set apart
            in_g = {k for k, _ in full.draws if in_group(k, group)}
            assert in_g and {k for k, _ in muted.draws} == in_g
            assert dict(applied.draws) == {k: v for k, v in full.draws if k not in in_g}
            assert dict(muted.draws) == {k: v for k, v in full.draws if k in in_g}
            for part in ("fields", "textures", "sensor", "control"):
                _split(getattr(full, part), getattr(applied, part), getattr(muted, part))
            assert applied.seed == full.seed and applied.spec_hash == spec.hash() != full.spec_hash
            if group == "sensor":
                assert applied.sensor == () and muted.sensor == full.sensor != ()
            if group == "control":
                assert applied.control == () and muted.control == full.control != ()
                assert sampler.per_step(np.random.default_rng(0)) == {}  # drawn (same stream), not applied
            if group not in ("sensor", "control"):
                assert muted.fields or muted.textures, group
            _assert_nominal(model, sampler, applied, muted)


def test_per_step_draws_advance_the_stream_when_control_is_removed(family_model) -> None:
    family, model = family_model
    full = Sampler(domain_spec("real:1", family), model).per_step
    muted = Sampler(ablation_spec("real:1", "control", family), model).per_step
    a, b = np.random.default_rng(5), np.random.default_rng(5)
    assert full(a) != {} and muted(b) == {}
    assert a.random() == b.random()


def test_ablated_spec_round_trips_and_hashes_apart() -> None:
    spec = ablation_spec("real:0", "visual.lights", "arm")
    assert spec.to_dict()["without"] == ["visual.lights"]
    assert RandomizationSpec.from_dict(spec.to_dict()) == spec
    assert RandomizationSpec.from_yaml(spec.to_yaml()).hash() == spec.hash() != domain_spec("real:0", "arm").hash()
    assert "without" not in domain_spec("real:0", "arm").to_dict()  # unablated specs (and hashes) unchanged
    twice = without_group(without_group(domain_spec("real:0", "arm"), "physics"), "sensor")
    assert twice.without == ("physics", "sensor")
    assert present_groups(twice, "arm") == tuple(g for g in GROUPS if g not in ("physics", "sensor", NOT_SET))
    assert present_groups(RandomizationSpec(without=("visual",)), "arm") == ()
    assert present_groups(dataclasses.replace(domain_spec("real:0", "arm"), without=("visual",)), "arm") == (
        "physics",
        "sensor",
        "control",
    )


@pytest.mark.parametrize(
    ("without", "match"),
    [
        (["lighting"], r"without\[0\]: must be one of \['visual', 'visual.colors'"),
        (["physics", "physics"], r"without: must be unique"),
        ("physics", r"without: expected a list"),
    ],
)
def test_bad_without_names_the_field(without, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        RandomizationSpec.from_dict({"without": without})


def test_labels_and_errors() -> None:
    assert ablation_label("real:0", "physics") == "real:0 without physics"
    assert ablated_domain("real:0 without physics", "physics") == "real:0"
    with pytest.raises(ValueError, match="does not end in"):
        ablated_domain("real:0", "physics")
    with pytest.raises(ValueError, match=r"group: must be one of \['visual.colors'"):
        without_group(load_preset("real", "arm"), "lighting")


def test_appearance_removes_every_visual_group_and_the_sensor_at_once(family_model) -> None:
    """The composite group: the canonical look under the member's physics and control (an image translator's
    ceiling). Its draws equal the member's, it mutes what each of its parts mutes, and nothing else. ``look`` keeps
    the member's camera too (a same-view translator's ceiling)."""
    family, model = family_model
    assert COMPOSITE["appearance"] == (*(g for g in GROUPS if g.startswith("visual.")), "sensor")
    spec = ablation_spec("real:2", "appearance", family)
    assert spec.without == COMPOSITE["appearance"] and spec.name.endswith(" without appearance")
    assert present_groups(spec, family) == ("physics", "control")
    full = Sampler(domain_spec("real:2", family), model)(np.random.default_rng(3))
    applied, muted = Sampler(spec, model).draw(np.random.default_rng(3))
    kept = {k for k, _ in full.draws if k.startswith(("physics", "control"))}
    assert {k for k, _ in applied.draws} == kept and applied.sensor == () and muted.sensor == full.sensor
    assert dict(applied.draws) == {k: v for k, v in full.draws if k in kept}
    assert group_parts("physics") == ("physics",)
    look = ablation_spec("real:2", "look", family)
    assert "visual.camera" not in look.without and set(look.without) == set(spec.without) - {"visual.camera"}
    assert present_groups(look, family) == ("visual.camera", "physics", "control")
    looked, _ = Sampler(look, model).draw(np.random.default_rng(3))
    assert {k for k, _ in looked.draws} == kept | {k for k, _ in full.draws if k.startswith("visual.camera")}
    with pytest.raises(ValueError, match=r"must be one of \[.*'visual.image_textures', 'appearance', 'look'\]"):
        group_parts("looks")
