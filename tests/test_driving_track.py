"""Track generation: determinism, seed splits, curvature bound, no self-intersection, centre-line queries."""

import numpy as np
import pytest

from simreal.envs.driving.track import (
    CLEARANCE,
    HALF_WIDTH,
    MAX_CURVATURE,
    SPLIT_SEEDS,
    generate_track,
    min_clearance,
    segments_intersect,
    split_seed_range,
)


def _turning_curvature(points: np.ndarray) -> np.ndarray:
    """Discrete curvature of a closed polyline: turning angle per unit length (independent of the generator)."""
    seg = np.roll(points, -1, axis=0) - points
    heading = np.arctan2(seg[:, 1], seg[:, 0])
    turn = (np.diff(heading, append=heading[:1]) + np.pi) % (2 * np.pi) - np.pi
    mean_len = 0.5 * (np.linalg.norm(seg, axis=1) + np.linalg.norm(np.roll(seg, -1, axis=0), axis=1))
    return turn / mean_len


def test_same_seed_same_track() -> None:
    a = generate_track.__wrapped__(123)
    b = generate_track.__wrapped__(123)
    np.testing.assert_array_equal(a.points, b.points)
    assert a.length == b.length
    assert not np.array_equal(a.points, generate_track.__wrapped__(124).points)


def test_splits_are_disjoint_and_reproducible() -> None:
    train, test = split_seed_range("train"), split_seed_range("test")
    assert train[1] <= test[0] or test[1] <= train[0]
    assert split_seed_range("train") == train
    assert split_seed_range("train", num_tracks=10) == (train[0], train[0] + 10)
    assert set(SPLIT_SEEDS) == {"train", "test"}


@pytest.mark.parametrize(
    ("split", "kwargs", "field"), [("val", {}, "track_split"), ("train", {"num_tracks": 0}, "num_tracks")]
)
def test_bad_split_arguments_raise(split: str, kwargs: dict, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        split_seed_range(split, **kwargs)


@pytest.mark.parametrize("seed", [-1, 1.5, True])
def test_bad_seed_raises(seed: object) -> None:
    with pytest.raises(ValueError, match="track_seed"):
        generate_track(seed)


def test_intersection_check_detects_a_figure_eight() -> None:
    t = np.linspace(0, 2 * np.pi, 200, endpoint=False) + 0.013  # no vertex exactly on the crossing
    assert segments_intersect(np.stack([np.sin(2 * t), np.sin(t)], 1))
    assert not segments_intersect(np.stack([np.cos(t), np.sin(t)], 1))


def test_200_tracks_are_simple_smooth_and_clear() -> None:
    start = split_seed_range("test")[0]
    for seed in [*range(100), *range(start, start + 100)]:
        track = generate_track(seed)
        assert not segments_intersect(track.points), seed
        assert np.max(np.abs(track.curvature)) <= MAX_CURVATURE, seed
        assert np.max(np.abs(_turning_curvature(track.points))) <= MAX_CURVATURE * 1.02, seed
        assert min_clearance(track.points, track.spacing) >= CLEARANCE, seed
        # uniform arc-length sampling, closed loop
        seg = np.linalg.norm(np.diff(track.points, axis=0, append=track.points[:1]), axis=1)
        np.testing.assert_allclose(seg, track.spacing, rtol=2e-3)
        # counter-clockwise: the signed area is positive
        x, y = track.points.T
        assert 0.5 * np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y) > 0


def test_project_recovers_arc_length_and_offset() -> None:
    track = generate_track(7)
    rng = np.random.default_rng(0)
    for s in rng.uniform(0, track.length, size=20):
        i = int(s / track.spacing)
        offset = rng.uniform(-HALF_WIDTH, HALF_WIDTH)
        xy = track.points[i] + offset * track.normals[i]
        s_hat, offset_hat, heading = track.project(xy)
        assert s_hat == pytest.approx(track.s[i], abs=0.05)
        assert offset_hat == pytest.approx(offset, abs=0.02)
        assert np.cos(heading - np.arctan2(*track.tangents[i][::-1])) > 0.99


def test_track_arrays_are_read_only() -> None:
    with pytest.raises(ValueError, match="read-only"):
        generate_track(3).points[0, 0] = 1.0
