"""Paired renders (same state, same camera, randomized vs canonical look) and the RCAN translator trained on them."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from simreal.transfer.paired import paired_frames
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
