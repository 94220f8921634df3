"""Paired renders (same state, same camera, randomized vs canonical look) and the RCAN translator trained on them."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from simreal.transfer.paired import PairedFrames, paired_frames
from simreal.transfer.rcan import RCANConfig, train_rcan
from simreal.transfer.wrapper import ImageTranslator


@pytest.fixture(scope="module")
def pairs():
    return paired_frames("simreal/Push-v0", "front", 6, 32, np.random.SeedSequence(4))


def test_pairs_show_the_same_state_through_the_same_camera(pairs) -> None:
    assert pairs.randomized.shape == pairs.canonical.shape == (6, 32, 32, 3)
    assert not np.array_equal(pairs.randomized, pairs.canonical)
    again = paired_frames("simreal/Push-v0", "front", 6, 32, np.random.SeedSequence(4))
    np.testing.assert_array_equal(again.canonical, pairs.canonical)
    for image, (u, v) in zip(pairs.canonical, pairs.pixels, strict=True):
        r, g, b = image[int(v), int(u)].astype(int)  # the canonical block is red at its labelled pixel
        assert r > 100 and r > g + 40 and r > b + 40


def test_rcan_is_seeded_and_saves_a_real2sim_checkpoint(pairs, tmp_path) -> None:
    torch.set_num_threads(1)
    a = train_rcan(pairs, steps=3, seed=1, out=tmp_path / "a.pt", config=RCANConfig(batch_size=4))
    b = train_rcan(pairs, steps=3, seed=1, out=tmp_path / "b.pt", config=RCANConfig(batch_size=4))
    out_a = ImageTranslator(a).translate_batch(pairs.randomized)
    np.testing.assert_array_equal(out_a, ImageTranslator(b).translate_batch(pairs.randomized))
    assert out_a.shape == pairs.randomized.shape and out_a.dtype == np.uint8
    with pytest.raises(ValueError, match="steps"):
        train_rcan(pairs, steps=0, seed=1, out=tmp_path / "c.pt")


def test_pairs_carry_the_task_objects_mask(pairs) -> None:
    assert pairs.masks.shape == (6, 32, 32) and pairs.masks.dtype == bool
    for mask, (u, v) in zip(pairs.masks, pairs.pixels, strict=True):
        assert 2 <= mask.sum() < 0.2 * mask.size  # a small object, not the table
        rows, cols = np.nonzero(mask)
        assert abs(cols.mean() - u) < 2.0 and abs(rows.mean() - v) < 2.0  # centred on the labelled pixel
    reach = paired_frames("simreal/Reach-v0", "top", 3, 32, np.random.SeedSequence(0))
    assert all(m.any() for m in reach.masks)  # Reach's task object is its goal marker


def test_lanefollow_pairs_share_the_track_the_car_and_the_camera() -> None:
    """LaneFollow draws a new road every episode: the canonical side must lay the same one. Paired on the canonical
    domain itself, both sides are then the very same image; on train they differ in look only, and the mask is the
    lane markings (no object pixel)."""
    same = paired_frames("simreal/LaneFollow-v0", None, 4, 32, np.random.SeedSequence(0), domain="canonical")
    np.testing.assert_array_equal(same.randomized, same.canonical)
    assert np.isnan(same.pixels).all()
    assert all(m.any() for m in same.masks)
    assert all(same.canonical[i][same.masks[i]].mean() > 200 for i in range(4))  # white paint
    tracks = paired_frames("simreal/LaneFollow-v0", None, 4, 32, np.random.SeedSequence(0), domain="train")
    assert not np.array_equal(tracks.randomized, tracks.canonical)
    assert len({m.tobytes() for m in tracks.masks}) == 4  # a different road each episode


def test_object_weight_keeps_a_small_object_that_plain_l1_paints_over(tmp_path) -> None:
    """Synthetic pairs: a 3x3 white square on a background whose colour changes (randomized side) vs a fixed grey
    (canonical side). Trained briefly, plain L1 learns the background and loses the square; the object term keeps it."""
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    n, size = 32, 16
    randomized = np.empty((n, size, size, 3), np.uint8)
    randomized[:] = rng.integers(0, 255, (n, 1, 1, 3))
    canonical = np.full((n, size, size, 3), 120, np.uint8)
    masks = np.zeros((n, size, size), bool)
    pixels = rng.integers(3, size - 3, (n, 2)).astype(float)
    for i, (u, v) in enumerate(pixels.astype(int)):
        randomized[i, v - 1 : v + 2, u - 1 : u + 2] = 255
        canonical[i, v - 1 : v + 2, u - 1 : u + 2] = 255
        masks[i, v - 1 : v + 2, u - 1 : u + 2] = True
    pairs = PairedFrames(randomized, canonical, pixels, masks)

    def object_contrast(weight: float) -> float:
        config = RCANConfig(lambda_object=weight, augment=False)
        path = train_rcan(pairs, 60, 0, tmp_path / f"{weight}.pt", config=config)
        out = ImageTranslator(path).translate_batch(randomized).astype(float)
        return float((out[masks].mean() - out[~masks].mean()) / 135.0)  # 1: the canonical square's contrast

    assert object_contrast(1.0) > object_contrast(0.0) + 0.3  # measured: 0.87 vs 0.29
    with pytest.raises(ValueError, match="lambda_object"):
        RCANConfig(lambda_object=-1.0)
