"""find_wrapper (the one walk down a wrapper chain by type) and the attribute lookups that replaced the others."""

from __future__ import annotations

import gymnasium as gym
import pytest

from simreal.agents.env_factory import spec_hash
from simreal.envs.wrappers import find_wrapper
from simreal.randomization import DomainRandomization
from simreal.randomization.adr import AdrParam, AdrWrapper, AutomaticDomainRandomization


def test_find_wrapper_returns_the_outermost_of_the_type_or_none() -> None:
    env = gym.make("simreal/Reach-v0", domain="train")
    dr = find_wrapper(env, DomainRandomization)
    assert isinstance(dr, DomainRandomization)
    outer = gym.wrappers.RecordEpisodeStatistics(env)
    assert find_wrapper(outer, DomainRandomization) is dr
    assert find_wrapper(outer, gym.wrappers.RecordEpisodeStatistics) is outer  # the env itself counts
    assert find_wrapper(gym.make("simreal/Reach-v0"), DomainRandomization) is None
    assert find_wrapper(env.unwrapped, DomainRandomization) is None  # not a wrapper at all


def test_spec_hash_reads_the_randomization_through_any_outer_wrapper() -> None:
    env = gym.wrappers.RecordEpisodeStatistics(gym.make("simreal/Reach-v0", domain="train"))
    expected = find_wrapper(env, DomainRandomization).randomization_spec.hash()  # type: ignore[union-attr]
    assert spec_hash(env, "fallback") == expected
    assert spec_hash(gym.make("simreal/Reach-v0"), "fallback") == "fallback"


def test_adr_finds_its_randomization_wrapper_or_says_it_needs_one() -> None:
    env = gym.wrappers.RecordEpisodeStatistics(gym.make("simreal/Reach-v0", randomization="physics"))
    spec = env.get_wrapper_attr("randomization_spec")
    adr = AutomaticDomainRandomization(spec, [AdrParam("physics.entries[2].dist", 1.0, 1.0, 0.5, 1.5)])
    assert AdrWrapper(env, adr, seed=0)._dr is find_wrapper(env, DomainRandomization)
    with pytest.raises(ValueError, match="needs a DomainRandomization wrapper"):
        AdrWrapper(gym.make("simreal/Reach-v0"), adr)
