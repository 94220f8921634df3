"""Presets compile on every env; held-out domains (test, real) are provably disjoint from train."""

import gymnasium as gym
import numpy as np
import pytest

import simreal.registration
from simreal.randomization import (
    PRESETS,
    Sampler,
    Uniform,
    check_heldout,
    domain_spec,
    env_family,
    heldout_violations,
    load_preset,
)
from simreal.randomization.spec import replace_at

ENVS = list(simreal.registration.ENVS)  # every registered id: a new task is covered without editing this


@pytest.fixture(scope="module", params=ENVS)
def env(request):
    return gym.make(request.param, obs_mode="state").unwrapped


@pytest.mark.parametrize("name", [*PRESETS, "test", "real"])
def test_every_preset_compiles_and_samples_on_every_env(env, name):
    family = env_family(env)
    assert family == ("driving" if "LaneFollow" in env.spec.id else "arm")
    spec = load_preset(name, family)
    params = Sampler(spec, env.model)(np.random.default_rng(0))
    assert bool(params.fields or params.sensor or params.control) == (name != "none")


@pytest.mark.parametrize("family", ["arm", "driving"])
@pytest.mark.parametrize("heldout", ["test", "real"])
def test_heldout_domains_are_disjoint_from_train(family, heldout):
    train = domain_spec("train", family)
    assert train == load_preset("full", family)
    check_heldout(train, domain_spec(heldout, family))


def test_overlap_and_missing_units_are_reported():
    train = load_preset("full", "arm")
    test = load_preset("test", "arm")
    overlapping = replace_at(test, "physics.entries[0].dist", Uniform(1.5, 2.5))  # inside train's [0.5, 2]
    problems = heldout_violations(train, overlapping)
    assert problems == ["physics:body_mass:block:scale:all: every factor ['dist'] overlaps the training support"]
    no_sensor = replace_at(test, "sensor", type(test.sensor)())
    assert any(
        p.startswith("sensor:gaussian_std: randomized in training but not")
        for p in heldout_violations(train, no_sensor)
    )
    with pytest.raises(ValueError, match="not disjoint"):
        check_heldout(train, train)


def test_one_disjoint_factor_makes_a_texture_unit_disjoint():
    train = load_preset("full", "arm")
    test = load_preset("test", "arm")
    same_colours = replace_at(test, "visual.textures[0].color_a", train.visual.textures[0].color_a)
    assert not any(p.startswith("texture:") for p in heldout_violations(train, same_colours))


def test_domain_and_preset_errors():
    with pytest.raises(ValueError, match="domain"):
        domain_spec("mars", "arm")
    with pytest.raises(ValueError, match="family"):
        load_preset("full", "boat")
    with pytest.raises(ValueError, match="preset"):
        load_preset("extreme", "arm")


def test_driving_test_domain_uses_test_tracks():
    env = gym.make("simreal/LaneFollow-v0", obs_mode="state", domain="test")
    _, info = env.reset(seed=0)
    assert info["spec_hash"] == load_preset("test", "driving").hash()
    assert env.unwrapped.config.track_split == "test"
