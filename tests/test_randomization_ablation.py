"""Ablation specs: a reality member without one factor group lacks that group's draws and keeps every other group
(spec and sampled values under a seed), for every group the member sets."""

import dataclasses

import gymnasium as gym
import numpy as np
import pytest

from simreal.randomization import RandomizationSpec, Sampler, load_preset
from simreal.randomization.ablation import (
    GROUPS,
    ablated_domain,
    ablation_label,
    ablation_spec,
    present_groups,
    without_group,
)
from simreal.randomization.factors import REGISTRY
from simreal.randomization.presets import domain_spec
from simreal.randomization.spec import get_at


@pytest.fixture(scope="module")
def push_model():
    env = gym.make("simreal/Push-v0", obs_mode="state")
    yield env.unwrapped.model
    env.close()


def _dropped(data: dict, group: str) -> dict:
    """The spec mapping ``data`` with ``group`` (``physics`` or ``visual.colors``) deleted, built by hand."""
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in data.items()}
    head, _, tail = group.partition(".")
    if tail:
        out[head].pop(tail, None)
    else:
        out.pop(head, None)
    return out


def test_every_factor_lies_in_one_group() -> None:
    for factor in REGISTRY:
        assert sum(factor.path == g or factor.path.startswith(g + ".") for g in GROUPS) == 1, factor.path


def test_member_sets_every_preset_group() -> None:
    real0 = domain_spec("real:0", "arm")
    assert present_groups(real0, "arm") == tuple(g for g in GROUPS if g != "visual.image_textures")
    assert present_groups(load_preset("none", "arm"), "arm") == ()
    assert present_groups(load_preset("physics", "arm"), "arm") == ("physics",)


@pytest.mark.parametrize("group", [g for g in GROUPS if g != "visual.image_textures"])
def test_without_group_lacks_it_and_keeps_the_rest(group: str, push_model) -> None:
    full = domain_spec("real:2", "arm")
    ablated = ablation_spec("real:2", group, "arm")
    assert ablated.name == "arm_real:2 without " + group
    assert get_at(ablated, group) == get_at(load_preset("none", "arm"), group)
    assert group not in present_groups(ablated, "arm")
    assert set(present_groups(ablated, "arm")) == set(present_groups(full, "arm")) - {group}
    # everything else is the member's: the same spec as the member's mapping with the group deleted by hand
    by_hand = RandomizationSpec.from_dict(_dropped(full.to_dict(), group))
    assert ablated.to_dict() == dataclasses.replace(by_hand, name=ablated.name).to_dict()
    # sampled under a seed: identical to the hand-built spec, no draw of the group, every other group still drawn
    params = Sampler(ablated, push_model)(np.random.default_rng(7))
    assert params.draws == Sampler(by_hand, push_model)(np.random.default_rng(7)).draws
    full_draws = Sampler(full, push_model)(np.random.default_rng(7))
    keys = {k for k, _ in params.draws}
    in_group = {k for k, _ in full_draws.draws if k == group or k.startswith(group + ".") or k.startswith(group + "[")}
    assert in_group and not keys & in_group
    assert keys == {k for k, _ in full_draws.draws} - in_group
    if group == "sensor":
        assert params.sensor == () and full_draws.sensor != ()
    if group == "control":
        assert params.control == () and full_draws.control != ()


def test_kept_draws_stay_in_the_member_ranges(push_model) -> None:
    ablated = ablation_spec("real:1", "visual.colors", "arm")
    params = Sampler(ablated, push_model)(np.random.default_rng(0))
    draws = dict(params.draws)
    latency = ablated.control.action_latency
    assert all(latency.low <= v <= latency.high for v in draws["control.action_latency"])


def test_labels_and_errors() -> None:
    assert ablation_label("real:0", "physics") == "real:0 without physics"
    assert ablated_domain("real:0 without physics", "physics") == "real:0"
    with pytest.raises(ValueError, match="does not end in"):
        ablated_domain("real:0", "physics")
    with pytest.raises(ValueError, match=r"group: must be one of \['visual.colors'"):
        without_group(load_preset("real", "arm"), "lighting", "arm")
