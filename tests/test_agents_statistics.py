"""Statistics against hand-computed values."""

import numpy as np
import pytest

from simreal.agents.statistics import (
    iqm,
    mean,
    median,
    probability_of_improvement,
    probability_of_improvement_ci,
    stratified_bootstrap_ci,
)


def test_iqm_drops_quartiles() -> None:
    # 8 values: drop 2 lowest and 2 highest -> mean(3, 4, 5, 6) = 4.5
    assert iqm(np.array([8, 1, 7, 2, 6, 3, 5, 4])) == pytest.approx(4.5)
    # 10 values: int(2.5) = 2 cut each side -> mean(2..7) = 4.5 (outliers ignored)
    assert iqm(np.array([-100, 1, 2, 3, 4, 5, 6, 7, 8, 1000])) == pytest.approx(4.5)
    # (runs, tasks) matrix is flattened: [0, 0, 1, 1, 1, 1, 10, 10] -> mean(1, 1, 1, 1) = 1
    assert iqm(np.array([[0, 10], [1, 1], [1, 1], [0, 10]])) == pytest.approx(1.0)


def test_mean_and_median() -> None:
    scores = np.array([[1.0, 2.0], [3.0, 10.0]])
    assert mean(scores) == pytest.approx(4.0)
    assert median(scores) == pytest.approx(2.5)


def test_aggregates_reduce_last_two_axes() -> None:
    stack = np.stack([np.full((4, 2), 1.0), np.full((4, 2), 3.0)])
    np.testing.assert_allclose(iqm(stack), [1.0, 3.0])


def test_probability_of_improvement_hand_computed() -> None:
    # pairs (1,0) win, (1,3) lose, (2,0) win, (2,3) lose -> 0.5
    assert probability_of_improvement([1, 2], [0, 3]) == pytest.approx(0.5)
    # ties count one half
    assert probability_of_improvement([1, 1], [1, 1]) == pytest.approx(0.5)
    # 3 x 2 pairs: x=[2,3,4], y=[1,3]: wins 1+1.5+2 = 4.5 of 6 = 0.75
    assert probability_of_improvement([2, 3, 4], [1, 3]) == pytest.approx(0.75)
    # averaged over tasks: task0 -> 1.0, task1 -> 0.0
    assert probability_of_improvement([[5, 0], [6, 0]], [[1, 9], [2, 9]]) == pytest.approx(0.5)


def test_probability_of_improvement_task_mismatch() -> None:
    with pytest.raises(ValueError, match="tasks"):
        probability_of_improvement(np.zeros((3, 2)), np.zeros((3, 1)))


def test_bootstrap_ci_constant_and_bounds() -> None:
    rng = np.random.default_rng(0)
    ci = stratified_bootstrap_ci(np.full((5, 3), 0.7), mean, rng, reps=100)
    assert (ci.point, ci.low, ci.high) == pytest.approx((0.7, 0.7, 0.7))
    # two runs {0, 1}: bootstrap means are 0, 0.5, 1 with prob 1/4, 1/2, 1/4 -> 95% CI is [0, 1]
    ci = stratified_bootstrap_ci([0.0, 1.0], mean, np.random.default_rng(1), reps=4000)
    assert ci.point == pytest.approx(0.5)
    assert (ci.low, ci.high) == (0.0, 1.0)


def test_bootstrap_is_stratified_per_task() -> None:
    # each task has a constant column, so resampling runs within a task never changes the mean
    scores = np.array([[0.0, 1.0], [0.0, 1.0], [0.0, 1.0]])
    ci = stratified_bootstrap_ci(scores, mean, np.random.default_rng(2), reps=500)
    assert (ci.low, ci.high) == pytest.approx((0.5, 0.5))


def test_bootstrap_seeded_reproducible() -> None:
    scores = np.random.default_rng(3).normal(size=(6, 4))
    a = stratified_bootstrap_ci(scores, iqm, np.random.default_rng(7), reps=300)
    b = stratified_bootstrap_ci(scores, iqm, np.random.default_rng(7), reps=300)
    assert a == b
    assert a.low <= a.point <= a.high


def test_poi_ci_contains_point_and_separated_case() -> None:
    ci = probability_of_improvement_ci([5, 6, 7], [1, 2, 3], np.random.default_rng(0), reps=200)
    assert (ci.point, ci.low, ci.high) == pytest.approx((1.0, 1.0, 1.0))
    ci = probability_of_improvement_ci([1, 4, 2, 5], [3, 2, 4, 1], np.random.default_rng(0), reps=500)
    assert ci.low <= ci.point <= ci.high


@pytest.mark.parametrize(("kwargs", "field"), [({"reps": 0}, "reps"), ({"confidence": 1.0}, "confidence")])
def test_bad_arguments(kwargs: dict, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        stratified_bootstrap_ci([1.0, 2.0], mean, np.random.default_rng(0), **kwargs)


def test_bad_scores() -> None:
    with pytest.raises(ValueError, match="scores"):
        stratified_bootstrap_ci(np.zeros((0, 2)), iqm, np.random.default_rng(0))
