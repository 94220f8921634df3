"""One factor = one unit: every registered factor owns a spec dataclass, a compile step, its apply operations (Op)
and its held-out units; a spec field no factor owns, or a factor missing a part, is caught."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import gymnasium as gym
import numpy as np
import pytest

import simreal  # noqa: F401  (registers the ids)
from simreal.randomization import (
    Choice,
    ControlSpec,
    DomainRandomization,
    Op,
    RandomizationSpec,
    Sampler,
    Uniform,
    VisualSpec,
    heldout_violations,
    load_preset,
)
from simreal.randomization.apply import KP_BASE, OPERATIONS
from simreal.randomization.distributions import Distribution
from simreal.randomization.factors import REGISTRY, Factor, uncovered_paths
from simreal.randomization.factors.colors import color_units, compile_color
from simreal.randomization.heldout import units
from simreal.randomization.spec import get_at, replace_at
from simreal.randomization.sweeps import GROUPS, NOT_SWEPT

FAMILY_ENVS = {"arm": "simreal/Push-v0", "driving": "simreal/LaneFollow-v0"}


def test_every_registered_factor_has_all_its_parts():
    assert len({f.path for f in REGISTRY}) == len(REGISTRY)
    for factor in REGISTRY:
        types = factor.spec_type if isinstance(factor.spec_type, tuple) else (factor.spec_type,)
        assert all(isinstance(t, type) for t in types), factor.path
        assert callable(factor.compile), factor.path
        assert callable(factor.heldout_units), factor.path
        assert isinstance(factor.ops, frozenset) and all(isinstance(op, Op) for op in factor.ops), factor.path


def test_every_spec_field_is_owned_by_a_factor():
    assert uncovered_paths(RandomizationSpec) == []


@dataclass(frozen=True)
class FoggyVisual(VisualSpec):
    fog: Distribution | None = None


@dataclass(frozen=True)
class FoggySpec(RandomizationSpec):
    visual: FoggyVisual = field(default_factory=FoggyVisual)


def test_a_spec_field_without_a_factor_is_reported():
    assert uncovered_paths(FoggySpec) == ["visual.fog"]


@pytest.mark.parametrize("part", ["compile", "ops", "heldout_units", "spec_type", "path"])
def test_a_factor_missing_a_part_is_rejected(part):
    parts = {
        "path": "visual.fog",
        "spec_type": Uniform,
        "compile": compile_color,
        "ops": frozenset({Op.SET}),
        "heldout_units": color_units,
    }
    with pytest.raises(ValueError, match=f"factor .*: {part} is missing"):
        Factor(**{**parts, part: None})
    Factor(**parts)  # complete: accepted


def test_factor_ops_must_be_op_members_not_strings():
    with pytest.raises(ValueError, match="ops must be Op members"):
        Factor("visual.fog", Uniform, compile_color, frozenset({"hsv_jitter"}), color_units)


def test_every_factor_is_a_sensitivity_sweep_axis_or_exempt():
    for factor in REGISTRY:
        axes = [g for g in GROUPS if factor.path == g or factor.path.startswith(g + ".")]
        assert len(axes) + (factor.path in NOT_SWEPT) == 1, factor.path


def test_an_entry_of_the_wrong_type_is_rejected():
    spec = replace_at(RandomizationSpec(), "visual.camera", Uniform(0.0, 1.0))
    with pytest.raises(TypeError, match=r"visual\.camera: expected .*CameraSpec"):
        list(REGISTRY[[f.path for f in REGISTRY].index("visual.camera")].entries(spec))


def test_every_operation_has_an_implementation():
    assert set(OPERATIONS) | set(KP_BASE) == set(Op)
    assert set(KP_BASE.values()) <= set(OPERATIONS)


def _only(spec: RandomizationSpec, factor: Factor) -> RandomizationSpec:
    return replace_at(RandomizationSpec(name=spec.name), factor.path, get_at(spec, factor.path))


@pytest.mark.parametrize("family", list(FAMILY_ENVS))
@pytest.mark.parametrize("preset", ["full", "test", "real"])
def test_each_factor_emits_only_its_declared_operations(family, preset):
    model = gym.make(FAMILY_ENVS[family], obs_mode="state").unwrapped.model
    spec = load_preset(preset, family)
    seen = set()
    for factor in REGISTRY:
        if not list(factor.entries(spec)):
            continue
        seen.add(factor.path)
        params = Sampler(_only(spec, factor), model)(np.random.default_rng(0))
        assert {op.op for op in params.fields} <= factor.ops, factor.path
        if not factor.ops:
            assert not params.fields, factor.path
    assert {"visual.colors", "physics.entries", "sensor", "control"} <= seen


@pytest.mark.parametrize("family", list(FAMILY_ENVS))
def test_the_heldout_checker_covers_every_factor_of_the_training_spec(family):
    train = load_preset("full", family)
    for factor in REGISTRY:
        entries = list(factor.entries(train))
        if not entries:
            continue
        own = {k for _, entry in entries for k in factor.heldout_units(entry)}
        assert own and own <= set(units(train)), factor.path
        alone = _only(train, factor)
        # a spec is never disjoint from itself: each factor's units are compared (covered units excepted)
        problems = heldout_violations(alone, alone)
        varying = [k for k in own if k not in ("control:action_latency", "control:period_jitter")]
        assert {p.split(": ")[0] for p in problems} >= {k for k in varying if k in units(alone)}, factor.path


def test_units_of_a_new_factor_entry_are_compared():
    """The held-out checker iterates the registry: a colour unit overlapping training is reported."""
    train = load_preset("full", "arm")
    moved = replace_at(train, "visual.colors[1].hue", Uniform(0.1, 0.2))  # inside train's 0..0.6
    test = load_preset("test", "arm")
    test = replace_at(test, "visual.colors", moved.visual.colors)
    problems = heldout_violations(train, test)
    assert any(p.startswith("colors:material:mat_block:free:") for p in problems)


class _CountSteps(gym.Wrapper):
    def __init__(self, env):
        super().__init__(env)
        self.calls = 0

    def step(self, action):
        self.calls += 1
        return self.env.step(action)


def test_action_repeat_and_period_jitter_are_drawn_per_step_and_reported_in_info():
    control = ControlSpec(action_repeat=Choice((1, 2, 3)), period_jitter=Uniform(0.8, 1.2))
    inner = _CountSteps(gym.make("simreal/Reach-v0", obs_mode="state").unwrapped)
    env = DomainRandomization(inner, RandomizationSpec(control=control))
    _, info = env.reset(seed=0)
    assert info["randomization"]["control_step"] == {}
    frame_skip = env.unwrapped.frame_skip
    repeats = []
    for _ in range(30):
        before = inner.calls
        _, _, terminated, truncated, info = env.step(np.zeros(env.action_space.shape, np.float32))
        step = info["randomization"]["control_step"]
        assert set(step) == {"action_repeat", "period_jitter"}
        assert inner.calls - before == step["action_repeat"]  # the reported repeat is the one applied
        assert 0.8 <= step["period_jitter"] <= 1.2
        repeats.append(step["action_repeat"])
        assert not (terminated or truncated)
    assert set(repeats) == {1, 2, 3}
    assert env.unwrapped.frame_skip == frame_skip  # restored after every step
    # same seed, same per-step draws
    env.reset(seed=0)
    zero = np.zeros(env.action_space.shape, np.float32)
    again = [env.step(zero)[4]["randomization"]["control_step"]["action_repeat"] for _ in range(5)]
    assert again == repeats[:5]


def _repeated_pixel_rollout(direct: bool) -> tuple[list[np.ndarray], int, int]:
    """Observations and rewards of a LaneFollow pixel rollout with every step repeated 1-3 times, the number of
    frames rendered and of observations rendered after an episode ended inside a repeat; ``direct`` False takes
    the wrapper's generic path, which steps the inner env through ``step`` and renders every repeat."""
    spec = RandomizationSpec(control=ControlSpec(action_repeat=Choice((1, 2, 3))))
    base = gym.make(
        "simreal/LaneFollow-v0", obs_mode="pixels_state", image_size=32, start_offset=1.4, start_heading=0.8
    ).unwrapped
    env = DomainRandomization(base, spec)
    env._direct = direct
    rendered = [0]
    render_frame = base.render_frame

    def counting(*args: object, **kwargs: object) -> np.ndarray:
        rendered[0] += 1
        return render_frame(*args, **kwargs)

    base.render_frame = counting  # type: ignore[method-assign]
    observed = [0]
    observe = base.observe

    def counting_observe() -> object:
        observed[0] += 1
        return observe()

    base.observe = counting_observe  # type: ignore[method-assign]
    rng = np.random.default_rng(0)
    obs, _ = env.reset(seed=3)
    out = [obs["pixels"], obs["state"]]
    ends = 0
    for step in range(150):
        obs, reward, terminated, truncated, _ = env.step(rng.uniform(-1.0, 1.0, 2).astype(np.float32))
        out += [obs["pixels"], obs["state"], np.array([reward])]
        if terminated or truncated:
            ends += 1
            obs, _ = env.reset(seed=100 + step)
            out += [obs["pixels"], obs["state"]]
    assert ends > 0  # random steering leaves the road: the rollout covers episode ends (and the resets after)
    return out, rendered[0], observed[0]


def test_a_repeated_step_renders_only_the_observation_it_returns():
    fast, fast_renders, late = _repeated_pixel_rollout(direct=True)
    every, every_renders, _ = _repeated_pixel_rollout(direct=False)
    assert late >= 1  # an episode ended inside a repeat: its frame was rendered after the loop
    assert len(fast) == len(every)
    assert all(np.array_equal(a, b) for a, b in zip(fast, every, strict=True))  # the same frames, bit for bit
    assert fast_renders < 0.6 * every_renders  # about one render per step instead of two on average


def test_per_step_control_is_absent_without_those_factors():
    spec = dataclasses.replace(RandomizationSpec(), control=ControlSpec(action_noise=Uniform(0.0, 0.1)))
    sampler = Sampler(spec, gym.make("simreal/Reach-v0", obs_mode="state").unwrapped.model)
    assert not sampler.per_step.active
    assert sampler.per_step(np.random.default_rng(0)) == {}
