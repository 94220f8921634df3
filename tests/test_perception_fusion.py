"""Multi-view fusion of table positions: agreeing views averaged, a gross outlier outvoted, disagreement "not found"."""

from __future__ import annotations

import numpy as np
import pytest

from simreal.perception.fusion import fuse_views

AGREE = 0.02


def _fuse(positions: list[list[list[float]]], confidence: list[list[float]], found: list[list[bool]]):
    return fuse_views(np.array(positions), np.array(confidence), np.array(found), AGREE)


def test_two_agreeing_views_outvote_a_confident_gross_outlier() -> None:
    fused = _fuse([[[0.10, 0.00], [0.11, 0.00], [-0.20, 0.15]]], [[0.4, 0.6, 0.95]], [[True, True, True]])
    np.testing.assert_allclose(fused.positions[0], [0.4 * 0.10 / 1.0 + 0.6 * 0.11 / 1.0, 0.0], atol=1e-8)
    assert fused.found[0] and fused.views[0] == 2


def test_three_agreeing_views_are_averaged_by_confidence() -> None:
    fused = _fuse([[[0.0, 0.0], [0.01, 0.0], [0.0, 0.01]]], [[1.0, 1.0, 2.0]], [[True, True, True]])
    np.testing.assert_allclose(fused.positions[0], [0.0025, 0.005], atol=1e-8)
    assert fused.found[0] and fused.views[0] == 3


def test_disagreeing_found_views_are_not_found_with_the_most_confident_as_best_guess() -> None:
    fused = _fuse([[[0.0, 0.0], [0.1, 0.0], [0.0, 0.1]]], [[0.5, 0.9, 0.7]], [[True, True, True]])
    np.testing.assert_allclose(fused.positions[0], [0.1, 0.0])
    assert not fused.found[0] and fused.views[0] == 1


def test_one_found_view_uncontradicted_is_found_and_not_found_views_do_not_vote() -> None:
    # views 1 and 2 agree but were not found; view 0 alone was found: it answers
    fused = _fuse([[[0.05, 0.05], [0.0, 0.0], [0.001, 0.0]]], [[0.3, 0.9, 0.9]], [[True, False, False]])
    np.testing.assert_allclose(fused.positions[0], [0.05, 0.05])
    assert fused.found[0] and fused.views[0] == 1


def test_no_found_view_gives_the_most_confident_table_view_and_nan_when_none_met_the_table() -> None:
    fused = _fuse(
        [[[0.0, 0.0], [np.nan, np.nan], [0.1, 0.0]], [[np.nan, np.nan]] * 3],
        [[0.2, 0.9, 0.1], [0.5, 0.5, 0.5]],
        [[False, True, False], [True, True, True]],  # a NaN view is never found, whatever its verdict says
    )
    np.testing.assert_allclose(fused.positions[0], [0.0, 0.0])
    assert not fused.found.any()
    assert np.isnan(fused.positions[1]).all() and fused.views.tolist() == [1, 0]


def test_shapes_bounds_and_agreement_distance() -> None:
    rng = np.random.default_rng(0)
    truth = rng.uniform(-0.1, 0.1, (50, 2))
    positions = truth[:, None] + rng.normal(0, 0.003, (50, 3, 2))
    positions[::2, 2] += 0.3  # a gross error in every other frame's third view
    fused = fuse_views(positions, rng.uniform(0.2, 1, (50, 3)), np.ones((50, 3), bool), AGREE)
    assert fused.positions.shape == (50, 2) and fused.found.shape == (50,) and fused.views.shape == (50,)
    assert fused.found.all() and np.abs(fused.positions - truth).max() < AGREE
    assert (fused.views[::2] == 2).all() and (fused.views[1::2] == 3).all()
    # with a tolerance below the noise, no views agree: the best guess is one view, never found when all are
    tight = fuse_views(positions, np.ones((50, 3)), np.ones((50, 3), bool), 1e-6)
    assert not tight.found.any() and (tight.views == 1).all()


@pytest.mark.parametrize(
    ("positions", "confidence", "found", "agree", "match"),
    [
        (np.zeros((4, 3)), np.zeros((4, 3)), np.ones((4, 3), bool), AGREE, "positions"),
        (np.zeros((4, 3, 2)), np.zeros((4, 2)), np.ones((4, 3), bool), AGREE, "confidence and found"),
        (np.zeros((4, 3, 2)), np.full((4, 3), np.nan), np.ones((4, 3), bool), AGREE, "confidence"),
        (np.zeros((4, 3, 2)), np.zeros((4, 3)), np.ones((4, 3), bool), 0.0, "agree_m"),
        (np.zeros((4, 9, 2)), np.zeros((4, 9)), np.ones((4, 9), bool), AGREE, "1 to 8 views"),
    ],
)
def test_bad_input_is_named(
    positions: np.ndarray, confidence: np.ndarray, found: np.ndarray, agree: float, match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        fuse_views(positions, confidence, found, agree)
