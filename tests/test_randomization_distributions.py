"""Distributions: validation, sampling bounds, determinism, dict round-trip."""

import math

import numpy as np
import pytest

from simreal.randomization.distributions import (
    Choice,
    Constant,
    LogUniform,
    Normal,
    Uniform,
    from_dict,
    supports_overlap,
)

ALL = [
    Uniform(-1.0, 2.0),
    LogUniform(0.1, 10.0),
    Normal(0.5, 0.3, low=0.0, high=1.0),
    Normal(0.0, 1.0),
    Choice((1, 2, 5)),
    Choice(("a", "b"), weights=(0.2, 0.8)),
    Constant(3.0),
    Constant("x"),
]


@pytest.mark.parametrize("dist", ALL, ids=repr)
def test_samples_inside_declared_support_and_deterministic(dist):
    a = dist.sample(np.random.default_rng(7), size=2000)
    b = dist.sample(np.random.default_rng(7), size=2000)
    assert np.array_equal(a, b)
    assert dist.contains(a)
    assert dist.contains(dist.sample(np.random.default_rng(1)))


@pytest.mark.parametrize("dist", ALL, ids=repr)
def test_dict_round_trip_and_repr(dist):
    assert from_dict(dist.to_dict()) == dist
    assert type(dist).__name__ in repr(dist)


def test_truncated_normal_respects_narrow_bounds():
    d = Normal(0.0, 5.0, low=-0.1, high=0.05)
    x = d.sample(np.random.default_rng(0), size=500)
    assert x.min() >= -0.1
    assert x.max() <= 0.05
    assert len(np.unique(x)) > 400  # rejection sampling, not clipping


def test_loguniform_is_uniform_in_log_space():
    x = LogUniform(1e-3, 1e3).sample(np.random.default_rng(0), size=20000)
    assert abs(np.median(np.log10(x))) < 0.1


def test_choice_weights_respected():
    x = Choice((0, 1), weights=(0.9, 0.1)).sample(np.random.default_rng(0), size=5000)
    assert 0.05 < x.mean() < 0.15


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: Uniform(1.0, 1.0), "low"),
        (lambda: Uniform(2.0, 1.0), "low"),
        (lambda: Uniform("a", 1.0), "low"),
        (lambda: Uniform(0.0, math.inf), "low/high"),
        (lambda: LogUniform(0.0, 1.0), "low"),
        (lambda: Normal(0.0, -1.0), "std"),
        (lambda: Normal(5.0, 1.0, low=0.0, high=1.0), "mean"),
        (lambda: Choice(()), "options"),
        (lambda: Choice((1, 1)), "options"),
        (lambda: Choice((1, 2), weights=(1.0,)), "weights"),
        (lambda: Choice((1, 2), weights=(-1.0, 2.0)), "weights"),
        (lambda: Constant(math.nan), "value"),
    ],
)
def test_invalid_construction_names_the_field(make, field):
    with pytest.raises(ValueError, match=rf"^{field}"):
        make()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"type": "gaussian", "mean": 0}, "type"),
        ({"type": "uniform", "low": 0}, "high"),
        ({"type": "uniform", "low": 0, "high": 1, "mu": 3}, "mu"),
        ({"type": "normal", "mean": 0, "std": -2}, "std"),
        ([1, 2], "expected a distribution"),
    ],
)
def test_from_dict_errors_name_the_key(data, field):
    with pytest.raises(ValueError, match=field):
        from_dict(data)


def test_support_overlap():
    assert supports_overlap(Uniform(0, 1), Uniform(0.5, 2))
    assert not supports_overlap(Uniform(0, 1), Uniform(1.01, 2))
    assert supports_overlap(Choice((1, 5)), Uniform(4, 6))
    assert not supports_overlap(Choice((1, 2)), Choice((3,)))
    assert not supports_overlap(Normal(0.5, 0.0), Uniform(0.6, 1.0))


@pytest.mark.parametrize(("low", "high"), [(-1.0, 2.0), (0.8, 1.2), (0.0019, 0.0021), (5000.0, 8000.0), (-1e-9, 3e5)])
def test_uniform_scalar_draws_are_generator_uniform_bit_for_bit(low, high):
    """The scalar fast path (one ``random()`` double, scaled) gives Generator.uniform's values and stream state."""
    ours, theirs = np.random.default_rng(3), np.random.default_rng(3)
    dist = Uniform(low, high)
    drawn = [dist.sample(ours) for _ in range(5000)]
    expected = [theirs.uniform(low, high) for _ in range(5000)]
    assert all(type(x) is float for x in drawn)
    assert np.array_equal(np.array(drawn).view(np.int64), np.array(expected).view(np.int64))
    assert ours.bit_generator.state == theirs.bit_generator.state
