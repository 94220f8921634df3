"""Paired renders (same state, same camera, randomized vs canonical look) and the RCAN translator trained on them."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from simreal.transfer.paired import PairedFrames, Pairing, paired_frames
from simreal.transfer.rcan import RCANConfig, train_rcan
from simreal.transfer.wrapper import ImageTranslator

FIELDS = ("randomized", "canonical", "pixels", "masks")


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
    same = paired_frames("simreal/LaneFollow-v0", None, 4, 32, np.random.SeedSequence(0), Pairing("canonical"))
    np.testing.assert_array_equal(same.randomized, same.canonical)
    assert np.isnan(same.pixels).all()
    assert all(m.any() for m in same.masks)
    assert all(same.canonical[i][same.masks[i]].mean() > 200 for i in range(4))  # white paint
    tracks = paired_frames("simreal/LaneFollow-v0", None, 4, 32, np.random.SeedSequence(0), Pairing("train"))
    assert not np.array_equal(tracks.randomized, tracks.canonical)
    assert len({m.tobytes() for m in tracks.masks}) == 4  # a different road each episode


def test_pairs_along_the_rollout_follow_the_car_through_one_episode() -> None:
    resets = paired_frames("simreal/LaneFollow-v0", None, 2, 32, np.random.SeedSequence(0), Pairing("train"))
    along = Pairing("train", frames_per_episode=2)
    rollout = paired_frames("simreal/LaneFollow-v0", None, 2, 32, np.random.SeedSequence(0), along)
    np.testing.assert_array_equal(rollout.canonical[0], resets.canonical[0])  # the same first reset
    np.testing.assert_array_equal(rollout.masks[0], resets.masks[0])
    assert not np.array_equal(rollout.masks[1], resets.masks[1])  # 5 oracle steps on, not the next episode's reset
    assert not np.array_equal(rollout.masks[1], rollout.masks[0])  # the car moved: the markings moved in the image
    for bad in (0, 201, True, 2.0):
        with pytest.raises(ValueError, match=r"frames_per_episode must be an integer in \[1, 200\]"):
            Pairing(frames_per_episode=bad)
    with pytest.raises(ValueError, match=r"action_noise must be a number in \[0.0, 2.0\], got -0.5"):
        Pairing(action_noise=-0.5)  # at once, not later inside a worker's rollout


def test_pair_env_kwargs_widen_the_states_both_sides_show() -> None:
    """LaneFollow's ``start_offset``/``start_heading`` on the randomized side: the canonical side copies the state,
    so on the canonical domain both sides are still the same image, and the markings sit further off the middle
    of the frame than from the default starts (the views a drifting policy meets)."""

    def spread(pairing: Pairing) -> float:
        pairs = paired_frames("simreal/LaneFollow-v0", None, 12, 32, np.random.SeedSequence(3), pairing)
        np.testing.assert_array_equal(pairs.randomized, pairs.canonical)
        columns = [np.nonzero(mask[16:])[1].mean() for mask in pairs.masks]  # the lower half: the road near the car
        return float(np.abs(np.array(columns) - 15.5).mean())

    wide = spread(Pairing("canonical", env_kwargs={"start_offset": 1.2, "start_heading": 0.3}))
    assert wide > 1.5 * spread(Pairing("canonical"))
    with pytest.raises(ValueError, match=r"env_kwargs: \['image_size'\] are set by the pairing itself"):
        Pairing(env_kwargs={"image_size": 32})
    with pytest.raises(ValueError, match=r"env_kwargs must be a mapping of env options, got 1\.2"):
        Pairing(env_kwargs=1.2)  # type: ignore[arg-type]


def _plain_backgrounds(rng: np.random.Generator, n: int, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` randomized frames of one random colour each, ``n`` canonical grey frames and empty masks."""
    randomized = np.empty((n, size, size, 3), np.uint8)
    randomized[:] = rng.integers(0, 255, (n, 1, 1, 3))
    return randomized, np.full((n, size, size, 3), 120, np.uint8), np.zeros((n, size, size), bool)


def _square_pairs() -> tuple[PairedFrames, float]:
    """Synthetic pairs: a 3x3 white square on a background whose colour changes (randomized side) vs a fixed grey
    (canonical side); and the canonical square's contrast against the grey."""
    rng = np.random.default_rng(0)
    n, size = 32, 16
    randomized, canonical, masks = _plain_backgrounds(rng, n, size)
    pixels = rng.integers(3, size - 3, (n, 2)).astype(float)
    for i, (u, v) in enumerate(pixels.astype(int)):
        randomized[i, v - 1 : v + 2, u - 1 : u + 2] = 255
        canonical[i, v - 1 : v + 2, u - 1 : u + 2] = 255
        masks[i, v - 1 : v + 2, u - 1 : u + 2] = True
    return PairedFrames(randomized, canonical, pixels, masks), 135.0


def _line_pairs() -> PairedFrames:
    """Synthetic pairs: a 1 px wide white vertical line on a background whose colour changes (randomized side) vs a
    fixed grey (canonical side): thin content like a lane marking seen from afar."""
    rng = np.random.default_rng(0)
    n, size = 32, 16
    randomized, canonical, masks = _plain_backgrounds(rng, n, size)
    for i, column in enumerate(rng.integers(2, size - 2, n)):
        randomized[i, :, column] = canonical[i, :, column] = 255
        masks[i, :, column] = True
    return PairedFrames(randomized, canonical, np.full((n, 2), np.nan), masks)


def test_one_downsampling_stage_keeps_thin_lines_that_two_blur_away(tmp_path) -> None:
    torch.set_num_threads(1)
    pairs = _line_pairs()
    line_error = {}
    for downsample in (1, 2):
        config = RCANConfig(lambda_object=0.0, augment=False, downsample=downsample)
        path = train_rcan(pairs, 60, 0, tmp_path / f"{downsample}.pt", config=config)
        translator = ImageTranslator(path)
        assert translator.generator.config.n_downsample == downsample  # saved with the checkpoint
        translated = translator.translate_batch(pairs.randomized).astype(float)
        line_error[downsample] = np.abs(translated - pairs.canonical).mean(-1)[pairs.masks].mean()
    assert line_error[1] < 0.5 * line_error[2]  # measured: 26 vs 110 grey levels
    for bad in (0, 4, True):
        with pytest.raises(ValueError, match=r"downsample must be one of \[1, 2, 3\]"):
            RCANConfig(downsample=bad)
    small = PairedFrames(*(getattr(pairs, f)[:, :12, :12] if f != "pixels" else pairs.pixels for f in FIELDS))
    with pytest.raises(ValueError, match="image size 12 must be divisible by 8"):
        train_rcan(small, 1, 0, tmp_path / "x.pt", config=RCANConfig(downsample=3))


def _object_contrast(pairs: PairedFrames, contrast: float, config: RCANConfig, out, networks=()) -> float:
    """The translated square's contrast against its surround, in units of the canonical one (1: kept)."""
    path = train_rcan(pairs, 60, 0, out, config=config, feature_networks=networks)
    translated = ImageTranslator(path).translate_batch(pairs.randomized).astype(float)
    return float((translated[pairs.masks].mean() - translated[~pairs.masks].mean()) / contrast)


def test_object_weight_keeps_a_small_object_that_plain_l1_paints_over(tmp_path) -> None:
    """Trained briefly on the square pairs, plain L1 learns the background and loses the square; the object term
    keeps it."""
    torch.set_num_threads(1)
    pairs, contrast = _square_pairs()
    plain = _object_contrast(pairs, contrast, RCANConfig(lambda_object=0.0, augment=False), tmp_path / "0.pt")
    weighted = _object_contrast(pairs, contrast, RCANConfig(lambda_object=1.0, augment=False), tmp_path / "1.pt")
    assert weighted > plain + 0.3  # measured: 0.87 vs 0.29
    with pytest.raises(ValueError, match="lambda_object"):
        RCANConfig(lambda_object=-1.0)


def test_canonical_view_renders_the_canonical_side_through_the_canonical_camera(tmp_path) -> None:
    """A domain that moves the camera only: with ``view="same"`` the canonical side is the randomized frame itself;
    with ``view="canonical"`` it is the canonical mount's view of the same state (another image), and that view
    does not depend on how far the randomized camera was moved."""
    from simreal.randomization.presets import load_preset
    from simreal.randomization.spec import RandomizationSpec

    def camera_only(shift: float) -> str:
        spec = RandomizationSpec.from_dict(
            {
                "name": f"camera_{shift}",
                "visual": {"camera": {"names": ["*"], "pos_jitter": {"type": "choice", "options": [shift]}}},
            }
        )
        path = tmp_path / f"camera_{shift}.yaml"
        spec.save(path)
        return str(path)

    assert load_preset("none", "driving").visual.camera is None  # the canonical mount is the model's own
    near, far = camera_only(0.04), camera_only(0.08)

    def seeds() -> np.random.SeedSequence:  # a fresh one per call: paired_frames spawns from it
        return np.random.SeedSequence(0)

    same = paired_frames("simreal/LaneFollow-v0", None, 3, 32, seeds(), Pairing(near))
    np.testing.assert_array_equal(same.randomized, same.canonical)
    moved = paired_frames("simreal/LaneFollow-v0", None, 3, 32, seeds(), Pairing(near, "canonical"))
    np.testing.assert_array_equal(moved.randomized, same.randomized)
    assert np.abs(moved.canonical.astype(int) - moved.randomized).mean() > 5.0  # another view of the road
    further = paired_frames("simreal/LaneFollow-v0", None, 3, 32, seeds(), Pairing(far, "canonical"))
    np.testing.assert_array_equal(further.canonical, moved.canonical)
    with pytest.raises(ValueError, match=r"view: must be one of \['same', 'canonical'\], got 'left'"):
        Pairing(view="left")


def test_feature_consistency_keeps_what_the_network_sees(tmp_path) -> None:
    """A frozen feature network that sees edges only (the image minus its 5x5 local mean: here, the square): with
    the feature term the translator keeps the square that plain L1 loses, no object mask needed. The term is
    scale-free (100x larger features give the same value) and zero when the two images agree."""
    from simreal.transfer.rcan import _feature_error

    torch.set_num_threads(1)

    def edges(images: torch.Tensor) -> torch.Tensor:
        return (images - torch.nn.functional.avg_pool2d(images, 5, stride=1, padding=2)).flatten(1)

    x, y = torch.rand(4, 3, 16, 16) * 2 - 1, torch.rand(4, 3, 16, 16) * 2 - 1
    assert float(_feature_error([edges], x, x)) == 0.0
    scaled = float(_feature_error([lambda t: 100 * edges(t)], x, y))
    assert scaled == pytest.approx(float(_feature_error([edges], x, y)), rel=1e-5)

    pairs, contrast = _square_pairs()
    off = RCANConfig(lambda_object=0.0, lambda_features=0.0, augment=False)
    without = _object_contrast(pairs, contrast, off, tmp_path / "off.pt", [edges])
    on = dataclasses.replace(off, lambda_features=1.0)
    kept = _object_contrast(pairs, contrast, on, tmp_path / "on.pt", [edges])
    assert kept > without + 0.3  # measured: 0.79 vs 0.29
    with pytest.raises(ValueError, match="lambda_features"):
        RCANConfig(lambda_features=-1.0)
