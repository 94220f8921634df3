"""ADR on a stub: ranges widen when the task is solved at the boundary and narrow when it is not."""

import json

import gymnasium as gym
import numpy as np
import pytest

import simreal  # noqa: F401
from simreal.randomization import (
    AdrConfig,
    AdrParam,
    AdrWrapper,
    AutomaticDomainRandomization,
    Constant,
    DomainRandomization,
    RandomizationSpec,
    Uniform,
)

BASE = RandomizationSpec.from_dict(
    {
        "physics": {
            "entries": [
                {"field": "body_mass", "names": ["*"], "dist": 1.0},
                {"field": "dof_damping", "names": ["*"], "dist": 1.0},
            ]
        }
    }
)
MASS, DAMP = "physics.entries[0].dist", "physics.entries[1].dist"


def make_adr(**cfg):
    params = [
        AdrParam(MASS, low=1.0, high=1.0, min_low=0.2, max_high=3.0),
        AdrParam(DAMP, low=0.9, high=1.1, min_low=0.5, max_high=1.5, step=0.1),
    ]
    return AutomaticDomainRandomization(BASE, params, AdrConfig(buffer_size=5, step=0.1, **cfg))


def run(adr, performance, episodes, seed=0):
    """Stub training loop: performance(spec, boundary) -> success in [0, 1]."""
    rng = np.random.default_rng(seed)
    for _ in range(episodes):
        spec, boundary = adr.propose(rng)
        adr.update(boundary, performance(spec, boundary))


def test_widens_when_solved_and_respects_hard_limits():
    adr = make_adr()
    run(adr, lambda spec, b: 1.0, episodes=1500)
    assert adr.ranges[MASS] == pytest.approx([0.2, 3.0])
    assert adr.ranges[DAMP] == pytest.approx([0.5, 1.5])
    assert any(h["event"].startswith("widen") for h in adr.history)


def test_narrows_when_not_solved():
    adr = make_adr()
    adr.ranges[MASS] = [0.5, 2.0]
    run(adr, lambda spec, b: 0.0, episodes=400)
    lo, hi = adr.ranges[MASS]
    assert lo == pytest.approx(hi)  # collapsed to a point, never inverted
    assert 0.5 <= lo <= 2.0
    assert any(h["event"].startswith("narrow") for h in adr.history)


def test_grows_until_the_task_gets_hard():
    """Success only while the mass stays below 2: the high side stops near 2, the low side keeps widening."""
    adr = make_adr()

    def perf(spec, boundary):
        dist = spec.physics.entries[0].dist
        value = dist.value if isinstance(dist, Constant) else dist.high
        return float(value <= 2.0)

    run(adr, perf, episodes=1500)
    lo, hi = adr.ranges[MASS]
    assert lo == pytest.approx(0.2)
    assert 1.8 <= hi <= 2.2


def test_boundary_episodes_pin_the_parameter():
    adr = make_adr(boundary_prob=1.0)
    spec, boundary = adr.propose(np.random.default_rng(0))
    pinned = spec.physics.entries[0 if boundary[0] == MASS else 1].dist
    assert isinstance(pinned, Constant)
    adr.ranges[DAMP] = [0.8, 1.2]
    assert adr.spec().physics.entries[1].dist == Uniform(0.8, 1.2)


def test_save_load_round_trip(tmp_path):
    adr = make_adr()
    run(adr, lambda spec, b: 1.0, episodes=60)
    adr.save(tmp_path / "adr.json")
    other = make_adr()
    other.load(tmp_path / "adr.json")
    assert other.ranges == adr.ranges
    assert other.buffers == adr.buffers
    assert other.history == adr.history
    assert json.loads((tmp_path / "adr.json").read_text())["episodes"] == 60
    state = adr.state_dict()
    state["spec_hash"] = "0" * 12
    with pytest.raises(ValueError, match="spec_hash"):
        other.load_state_dict(state)


def test_invalid_config_and_params():
    with pytest.raises(ValueError, match="threshold_low"):
        AdrConfig(threshold_low=0.9, threshold_high=0.5)
    with pytest.raises(ValueError, match="low"):
        AdrParam(MASS, low=2.0, high=1.0)
    with pytest.raises(ValueError, match=r"params\[0\]\.path"):
        AutomaticDomainRandomization(BASE, [AdrParam("physics.entries[7].dist", 1.0, 1.0)])


def test_adr_wrapper_drives_episodes_on_an_env():
    env = gym.make("simreal/Reach-v0", obs_mode="state", max_episode_steps=3).unwrapped
    base = RandomizationSpec.from_dict(
        {"physics": {"entries": [{"field": "dof_damping", "names": ["arm_*"], "dist": 1.0}]}}
    )
    adr = AutomaticDomainRandomization(
        base, [AdrParam(MASS, 0.8, 1.2, 0.5, 2.0)], AdrConfig(buffer_size=1, boundary_prob=1.0)
    )
    wrapped = AdrWrapper(gym.wrappers.TimeLimit(DomainRandomization(env, base), 3), adr, seed=0)
    for ep in range(3):
        wrapped.reset(seed=ep)
        done = False
        while not done:
            *_, term, trunc, _ = wrapped.step(wrapped.action_space.sample())
            done = term or trunc
    assert adr.episodes == 3
    assert len(adr.history) > 1  # buffer of 1, boundary every episode: each (failed) episode narrows
