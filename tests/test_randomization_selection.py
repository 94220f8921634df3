"""The randomization argument is parsed once into a typed value (issue 19, item 4)."""

from __future__ import annotations

from pathlib import Path

import pytest

from simreal.agents.env_factory import randomization_kwargs
from simreal.randomization import (
    ADR,
    DOMAINS,
    Domain,
    Preset,
    RandomizationSpec,
    Spec,
    SpecFile,
    load_preset,
    parse_randomization,
    selection_spec,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("canonical", Domain("canonical")),
        ("train", Domain("train")),
        ("test", Domain("test")),
        ("real", Domain("real")),
        ("real:3", Domain("real:3")),
        ("real:lab.yaml", Domain("real:lab.yaml")),
        ("none", Preset("none")),
        ("full", Preset("full")),
        ("my/lab.yml", SpecFile("my/lab.yml")),
        (Path("lab.json"), SpecFile("lab.json")),
        ("adr", ADR()),
        (Domain("test"), Domain("test")),
    ],
)
def test_forms(value, expected):
    parsed = parse_randomization(value)
    assert parsed == expected
    if expected is not None:
        assert type(parsed) is type(expected)
        assert parse_randomization(str(parsed)) == parsed  # the text form parses back to the same value


def test_every_named_domain_is_a_domain():
    assert tuple(DOMAINS) == ("canonical", "train", "test", "real")
    assert all(parse_randomization(name) == Domain(name) for name in DOMAINS)


def test_specs_in_memory():
    spec = load_preset("visual", "arm")
    assert parse_randomization(spec) == Spec(spec)
    from_dict = parse_randomization(spec.to_dict())
    assert isinstance(from_dict, Spec) and from_dict.spec.hash() == spec.hash()
    assert repr(Spec(spec)) == f"Spec(name={spec.name!r}, hash={spec.hash()!r})"
    assert repr(Domain("real:3")) == "Domain(name='real:3')"


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ("fancy", r"^randomization: expected a domain \(canonical, train, test, real, real:<index>"),
        ("real:x", r"^randomization: domain 'real:x': the part after 'real:'"),
        (3, r"^randomization: unsupported type int 3; expected a domain"),
        ("", r"^randomization: expected"),
    ],
)
def test_bad_input_names_the_forms(value, match):
    with pytest.raises(ValueError, match=match):
        parse_randomization(value)
    with pytest.raises(ValueError, match=r"^--domains: "):
        parse_randomization(value, "--domains")


def test_selection_spec(tmp_path):
    assert selection_spec(Preset("full"), "arm") == load_preset("full", "arm")
    assert selection_spec(Domain("train"), "arm") == load_preset("full", "arm")
    assert selection_spec(Domain("canonical"), "arm") == load_preset("none", "arm")
    assert selection_spec(Domain("real:1"), "arm").name.endswith(":1")
    path = tmp_path / "lab.yaml"
    load_preset("physics", "arm").save(path)
    assert selection_spec(SpecFile(str(path)), "arm") == RandomizationSpec.load(path)
    with pytest.raises(ValueError, match="does not exist"):
        selection_spec(SpecFile(str(tmp_path / "missing.yaml")), "arm")
    with pytest.raises(ValueError, match="adr"):
        selection_spec(ADR(), "arm")


def test_gym_make_keywords():
    reach = "simreal/Reach-v0"
    spec = load_preset("visual", "arm")
    assert randomization_kwargs(reach, None) == {}
    assert randomization_kwargs(reach, Preset("none")) == {}  # the env as registered, as before
    assert randomization_kwargs(reach, Domain("real:2")) == {"domain": "real:2"}
    assert randomization_kwargs(reach, Preset("full")) == {"randomization": "full"}
    assert randomization_kwargs(reach, SpecFile("a.yaml")) == {"randomization": "a.yaml"}
    assert randomization_kwargs(reach, Spec(spec)) == {"randomization": spec}
    assert randomization_kwargs("Pendulum-v1", Domain("test")) == {}  # a label only on Gymnasium's envs
    with pytest.raises(ValueError, match="needs a simreal env id"):
        randomization_kwargs("Pendulum-v1", Preset("full"))
    with pytest.raises(ValueError, match="adr"):
        randomization_kwargs(reach, ADR())


def test_gym_make_keeps_domains_out_of_randomization():
    import gymnasium as gym

    with pytest.raises(ValueError, match=r"^randomization: Domain\(name='train'\) is not a preset"):
        gym.make("simreal/Reach-v0", randomization="train")


def test_cli_domain_choices_match():
    from simreal import cli

    assert cli.DOMAIN_NAMES == tuple(DOMAINS)  # cli.py keeps a copy: it must import without MuJoCo
