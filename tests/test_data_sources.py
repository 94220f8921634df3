"""Real-image reader (grayscale/RGBA/16-bit/odd sizes, folders and videos), rollout frames and ``load_frames``."""

from __future__ import annotations

from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest

from simreal.data.episodes import RolloutSpec
from simreal.data.real_images import load_real_images, resize_square, to_rgb_uint8
from simreal.data.rollouts import collect_rollout_frames
from simreal.data.sources import load_frames


def test_conversions() -> None:
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4)
    np.testing.assert_array_equal(to_rgb_uint8(gray), np.repeat(gray[..., None], 3, axis=-1))
    np.testing.assert_array_equal(to_rgb_uint8(gray[..., None]), to_rgb_uint8(gray))
    rgba = np.zeros((2, 2, 4), dtype=np.uint8)
    rgba[..., :3], rgba[..., 3] = 200, [[255, 0], [128, 255]]
    np.testing.assert_array_equal(to_rgb_uint8(rgba)[..., 0], [[200, 0], [100, 200]])  # over black
    np.testing.assert_array_equal(to_rgb_uint8(np.full((2, 2), 0xABCD, dtype=np.uint16)), np.full((2, 2, 3), 0xAB))
    np.testing.assert_array_equal(to_rgb_uint8(np.full((2, 2, 3), 0.5)), np.full((2, 2, 3), 128))
    with pytest.raises(ValueError, match="image must be"):
        to_rgb_uint8(np.zeros((2, 2, 5), dtype=np.uint8))
    with pytest.raises(ValueError, match="dtype"):
        to_rgb_uint8(np.zeros((2, 2), dtype=np.int64))


def test_resize_centre_crops_odd_sizes() -> None:
    image = np.zeros((37, 91, 3), dtype=np.uint8)
    image[:, 27:64] = 255  # the central 37x37 square is white, the sides black
    out = resize_square(image, 16)
    assert out.shape == (16, 16, 3) and out.dtype == np.uint8
    assert out.min() >= 250
    assert resize_square(np.zeros((5, 3, 3), dtype=np.uint8), 64).shape == (64, 64, 3)  # upsampling works
    with pytest.raises(ValueError, match="image_size"):
        resize_square(image, 2)


def test_folder_of_mixed_images(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    iio.imwrite(tmp_path / "a_gray.png", rng.integers(0, 256, (33, 47), dtype=np.uint8))
    iio.imwrite(tmp_path / "b_rgba.png", rng.integers(0, 256, (64, 64, 4), dtype=np.uint8))
    iio.imwrite(tmp_path / "c_rgb.JPG", rng.integers(0, 256, (120, 81, 3), dtype=np.uint8))
    iio.imwrite(tmp_path / "d_16bit.png", rng.integers(0, 65535, (20, 20), dtype=np.uint16))
    (tmp_path / "notes.txt").write_text("ignored")
    frames = load_real_images(tmp_path, 32)
    assert frames.shape == (4, 32, 32, 3) and frames.dtype == np.uint8
    two = load_real_images(tmp_path, 32, n=2, seed=1)
    assert two.shape == (2, 32, 32, 3)
    np.testing.assert_array_equal(two, load_real_images(tmp_path, 32, n=2, seed=1))
    with pytest.raises(ValueError, match="fewer than"):
        load_real_images(tmp_path, 32, n=5)
    np.testing.assert_array_equal(load_frames(str(tmp_path), n=4, image_size=32, seed=0), frames)


def test_video(tmp_path: Path) -> None:
    video = tmp_path / "clip.mp4"
    frames = np.zeros((6, 48, 80, 3), dtype=np.uint8)
    for i in range(6):
        frames[i, :, :] = 40 * i
    iio.imwrite(video, frames, fps=5, codec="libx264", macro_block_size=16)
    loaded = load_real_images(video, 24)
    assert loaded.shape == (6, 24, 24, 3)
    assert np.all(np.diff(loaded.reshape(6, -1).mean(axis=1)) > 20)  # brightness order preserved


def test_bad_paths(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no images"):
        load_real_images(tmp_path, 32)
    (tmp_path / "x.csv").write_text("1,2")
    with pytest.raises(ValueError, match="neither a folder nor a video"):
        load_real_images(tmp_path / "x.csv", 32)
    with pytest.raises(ValueError, match="does not exist"):
        load_real_images(tmp_path / "missing", 32)
    with pytest.raises(ValueError, match="spec"):
        load_frames("nonsense", n=2, image_size=32, seed=0)


def test_rollout_frames_are_seeded() -> None:
    spec = RolloutSpec("simreal/Push-v0", "train", image_size=32, frames_per_episode=3, stride=4)
    a = collect_rollout_frames(spec, 6, seed=3)
    assert a.shape == (6, 32, 32, 3) and a.dtype == np.uint8
    b = collect_rollout_frames(spec, 6, seed=3)
    np.testing.assert_array_equal(a, b)
    c = collect_rollout_frames(spec, 6, seed=4)
    assert not np.array_equal(a, c)
    assert len({frame.tobytes() for frame in a}) == 6  # the oracle moves the arm: every sampled frame differs


def test_load_frames_env_spec() -> None:
    frames = load_frames("simreal/Reach-v0:canonical", n=3, image_size=16, seed=0)
    expected = collect_rollout_frames(RolloutSpec("simreal/Reach-v0", "canonical", image_size=16), 3, seed=0)
    np.testing.assert_array_equal(frames, expected)
    with pytest.raises(ValueError, match="domain"):
        load_frames("simreal/Reach-v0:mars", n=3, image_size=16, seed=0)
