"""Multi-view fusion of table positions: agreeing views averaged, a gross outlier outvoted, disagreement "not found";
heatmap evidence summed on a table grid."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from simreal.perception.fusion import fuse_heatmaps, fuse_views, supported_answer

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


def _camera(centre: tuple[float, float, float], focal: float, size: int = 64) -> np.ndarray:
    """A pinhole looking straight down from ``centre`` (image right = +x, image down = -y): its 3x4 projection."""
    intrinsics = np.array([[focal, 0.0, size / 2], [0.0, focal, size / 2], [0.0, 0.0, 1.0]])
    rotation = np.diag([1.0, -1.0, -1.0])
    return intrinsics @ np.hstack([rotation, -rotation @ np.array(centre)[:, None]])


def _heatmap(projection: np.ndarray, point: np.ndarray, cells: int = 32, sigma: float = 1.0) -> torch.Tensor:
    """Log-probabilities of a Gaussian heatmap (stride 2 px) around ``point``'s projection."""
    pixel = projection @ np.append(point, 1.0)
    u, v = pixel[:2] / pixel[2] / 2.0 - 0.5  # in cells
    rows, columns = np.mgrid[0:cells, 0:cells]
    logits = -((columns - u) ** 2 + (rows - v) ** 2) / (2 * sigma**2)
    return torch.log_softmax(torch.tensor(logits, dtype=torch.float32).flatten(), 0).view(cells, cells)


REGION = [[-0.1, -0.1], [0.1, 0.1]]
HEIGHT = 0.02


def test_heatmap_fusion_finds_the_point_the_views_agree_on_and_outweighs_a_confident_wrong_view() -> None:
    cameras = [_camera((0.0, 0.0, 0.5), 80.0), _camera((0.05, 0.02, 0.6), 90.0), _camera((-0.03, 0.0, 0.45), 70.0)]
    projections = np.stack(cameras)[None]
    truth, wrong = np.array([0.031, -0.047, HEIGHT]), np.array([-0.06, 0.05, HEIGHT])
    agreeing = torch.stack([_heatmap(p, truth) for p in cameras])[None]
    fused = fuse_heatmaps(agreeing, projections, 2.0, REGION, HEIGHT)
    # a cell here is 1.2-1.3 cm on the table: the grid's answer is within a fraction of it (views refine it later)
    assert fused.shape == (1, 2) and np.abs(fused[0] - truth[:2]).max() < 0.003
    one_wrong = torch.stack([_heatmap(cameras[0], truth), _heatmap(cameras[1], truth), _heatmap(cameras[2], wrong)])
    fused = fuse_heatmaps(one_wrong[None], projections, 2.0, REGION, HEIGHT)
    assert np.abs(fused[0] - truth[:2]).max() < 0.003
    # a view that sees none of the region adds nothing: one good view decides
    blind = _camera((2.0, 2.0, 0.5), 80.0)
    pair = torch.stack([_heatmap(cameras[1], truth), torch.full((32, 32), -float(np.log(1024)))])[None]
    fused = fuse_heatmaps(pair, np.stack([cameras[1], blind])[None], 2.0, REGION, HEIGHT)
    assert np.abs(fused[0] - truth[:2]).max() < 0.004


def test_heatmap_fusion_names_bad_input_and_the_views_near_its_answer_refine_it() -> None:
    projections = np.stack([_camera((0.0, 0.0, 0.5), 80.0)])[None]
    maps = torch.zeros(1, 1, 32, 32)
    with pytest.raises(ValueError, match="log_probs"):
        fuse_heatmaps(maps[0], projections, 2.0, REGION, HEIGHT)
    with pytest.raises(ValueError, match="projections"):
        fuse_heatmaps(maps, projections[:, :, :2], 2.0, REGION, HEIGHT)
    with pytest.raises(ValueError, match="step"):
        fuse_heatmaps(maps, projections, 2.0, REGION, HEIGHT, step=0.0)
    with pytest.raises(ValueError, match="region"):
        fuse_heatmaps(maps, projections, 2.0, [[0.0, 0.0], [0.001, 0.001]], HEIGHT)
    answer = np.array([[0.0, 0.0], [0.5, 0.5]])
    views = np.array([[[0.01, 0.0], [0.3, 0.0], [0.005, 0.0]], [[0.0, 0.0], [0.0, 0.0], [0.0, 0.0]]])
    found = np.array([[True, True, False], [True, True, False]])
    fused = supported_answer(answer, views, np.array([[0.6, 0.9, 0.9], [1.0, 1.0, 1.0]]), found, AGREE)
    # frame 0: one found view backs the answer (the far one and the not-found one do not): its position
    np.testing.assert_allclose(fused.positions, [[0.01, 0.0], [0.5, 0.5]])
    assert fused.found.tolist() == [True, False] and fused.views.tolist() == [1, 0]
    with pytest.raises(ValueError, match="answer"):
        supported_answer(answer[:1], views, np.ones((2, 3)), found, AGREE)
