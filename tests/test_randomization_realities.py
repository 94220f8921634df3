"""The reality family: seeded members, disjoint from training, user labs as spec files, covered units."""

import gymnasium as gym
import pytest

import simreal  # noqa: F401  (registers the ids)
from simreal.randomization import check_heldout, domain_spec, heldout_violations, load_preset
from simreal.randomization.distributions import Uniform
from simreal.randomization.realities import expand_domains, member_spec, parse_member, reality_domains
from simreal.randomization.spec import distribution_paths


@pytest.mark.parametrize("family", ["arm", "driving"])
def test_every_member_is_disjoint_from_training_and_lies_inside_the_family(family):
    train, real = load_preset("full", family), load_preset("real", family)
    family_dists = distribution_paths(real)
    for domain in reality_domains():
        member = domain_spec(domain, family)
        check_heldout(train, member)
        for path, dist in distribution_paths(member).items():
            if isinstance(dist, Uniform):
                low, high = family_dists[path].support()
                assert low <= dist.low < dist.high <= high, path


def test_members_are_deterministic_and_different():
    real = load_preset("real", "arm")
    assert member_spec(real, 2) == member_spec(real, 2)
    hashes = {member_spec(real, k).hash() for k in range(5)}
    assert len(hashes) == 5
    assert member_spec(real, 3).name == "arm_real:3"


def test_expand_domains_replaces_real_by_its_members():
    assert expand_domains(["canonical", "real", "test"]) == ("canonical", *reality_domains(), "test")
    assert expand_domains(["real:1", "real"], members=2) == ("real:1", "real:0")


def test_user_lab_as_a_spec_file(tmp_path):
    lab = member_spec(load_preset("real", "arm"), 7)
    path = tmp_path / "mylab.yaml"
    lab.save(path)
    assert domain_spec(f"real:{path}", "arm").hash() == lab.hash()
    _, info = gym.make("simreal/Reach-v0", domain=f"real:{path}").reset(seed=0)
    assert info["spec_hash"] == lab.hash()


@pytest.mark.parametrize("bad", ["real:x", "real:-1", "real:lab.txt"])
def test_bad_reality_names_raise_naming_the_domain(bad):
    with pytest.raises(ValueError, match="real:"):
        parse_member(bad)
    with pytest.raises(ValueError, match="real"):
        domain_spec(bad, "arm")


def test_missing_user_lab_file_raises():
    with pytest.raises(ValueError, match="does not exist"):
        domain_spec("real:/nonexistent/lab.yaml", "arm")


def test_latency_is_covered_by_training_but_must_be_present():
    train, real = load_preset("full", "arm"), load_preset("real", "arm")
    assert heldout_violations(train, real) == []
    strict = heldout_violations(train, real, covered=frozenset())
    assert any(v.startswith("control:action_latency") for v in strict)
    without = real.from_dict({**real.to_dict(), "control": {}})
    assert any("control:action_latency" in v and "not in the held-out" in v for v in heldout_violations(train, without))
