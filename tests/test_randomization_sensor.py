"""Fused sensor pipeline: matches a plain per-op reference, fresh output arrays, per-frame noise, identity skips."""

import numpy as np
import pytest

from simreal.randomization import SensorPipeline
from simreal.randomization.sensor import kelvin_to_gains


def reference(img: np.ndarray, settings: dict[str, tuple[float, ...]]) -> np.ndarray:
    """One numpy pass per op in float64: vignetting, colour gains, rounding/clipping, gamma."""
    h, w = img.shape[:2]
    y = (np.arange(h) - (h - 1) / 2) / (h / 2)
    x = (np.arange(w) - (w - 1) / 2) / (w / 2)
    r2 = (y[:, None] ** 2 + x[None, :] ** 2) / 2.0
    out = img.astype(np.float64)
    out = out * (1.0 - settings.get("vignetting", (0.0,))[0] * r2)[..., None]
    out = out * np.asarray(settings.get("white_balance", (1.0, 1.0, 1.0)))
    if "color_temperature" in settings:
        out = out * kelvin_to_gains(settings["color_temperature"][0])
    out = np.clip(np.floor(out + 0.5), 0, 255)
    gamma = settings.get("gamma", (1.0,))[0]
    return np.floor(255.0 * (out / 255.0) ** (1.0 / gamma) + 0.5).astype(np.uint8)


@pytest.mark.parametrize(
    "settings",
    [
        {"vignetting": (0.3,)},
        {"white_balance": (1.2345, 0.9517, 0.7129)},
        {"gamma": (0.8,)},
        {"vignetting": (0.2,), "white_balance": (1.1, 1.0, 0.9), "gamma": (1.2,)},
        {"color_temperature": (3500.0,), "gamma": (1.05,)},
    ],
)
def test_fused_pipeline_matches_per_op_reference(settings):
    img = np.random.default_rng(0).integers(0, 256, (24, 40, 3), dtype=np.uint8)
    out = SensorPipeline(settings)(img, np.random.default_rng(0))
    diff = np.abs(out.astype(int) - reference(img, settings))
    assert diff.max() <= 1  # float32 vs float64 at exact .5 ties
    assert (diff > 0).mean() < 0.01


def test_frames_are_fresh_arrays_with_fresh_noise():
    img = np.full((32, 32, 3), 100, dtype=np.uint8)
    pipe = SensorPipeline({"gaussian_std": (3.0,), "vignetting": (0.1,), "gamma": (1.1,)}, seed=4)
    rng = np.random.default_rng(1)
    frames = [pipe(img, rng) for _ in range(4)]
    assert not any(np.shares_memory(a, b) for i, a in enumerate(frames) for b in frames[i + 1 :])
    assert all(not np.array_equal(a, b) for i, a in enumerate(frames) for b in frames[i + 1 :])
    first = frames[0].copy()
    pipe(img, rng)
    assert np.array_equal(frames[0], first)  # later frames never overwrite earlier ones
    assert np.array_equal(img, np.full((32, 32, 3), 100, dtype=np.uint8))  # input untouched


@pytest.mark.parametrize("std", [0.5, 4.0, 20.0])
def test_gaussian_noise_std_and_mean(std):
    img = np.full((64, 64, 3), 128, dtype=np.uint8)
    pipe = SensorPipeline({"gaussian_std": (std,)}, seed=0)
    rng = np.random.default_rng(0)
    frames = np.stack([pipe(img, rng) for _ in range(8)]).astype(float)
    assert abs(frames.mean() - 128.0) < 0.1 + 0.02 * std
    expected = np.sqrt(std**2 + 1 / 12)  # plus the rounding to integer levels
    assert abs(frames.std() - expected) < 0.08 * expected


def test_shot_noise_grows_with_intensity():
    pipe = SensorPipeline({"shot_noise": (1.0,), "gaussian_std": (1.0,)}, seed=0)
    rng = np.random.default_rng(0)
    dark = pipe(np.full((48, 48, 3), 20, dtype=np.uint8), rng).astype(float)
    bright = pipe(np.full((48, 48, 3), 200, dtype=np.uint8), rng).astype(float)
    assert abs(dark.std() - np.sqrt(21.0)) < 0.5
    assert abs(bright.std() - np.sqrt(201.0)) < 1.5


def test_identity_strengths_are_skipped():
    img = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    identity = {"vignetting": (0.0,), "white_balance": (1.0, 1.0, 1.0), "gamma": (1.0,), "gaussian_std": (0.0,)}
    assert SensorPipeline(identity)(img, np.random.default_rng(0)) is img
    gamma_only = SensorPipeline({"gamma": (2.0,)})(img, np.random.default_rng(0))
    assert np.array_equal(gamma_only, reference(img, {"gamma": (2.0,)}))


def test_dead_pixels_stick_and_other_sizes_work():
    pipe = SensorPipeline({"dead_pixels": (0.05,), "gamma": (1.2,)}, seed=3)
    for shape in ((20, 30, 3), (8, 8, 3)):
        out = pipe(np.full(shape, 128, dtype=np.uint8), np.random.default_rng(0))
        flat = out.reshape(-1, 3)
        stuck = (flat == 0).all(-1) | (flat == 255).all(-1)
        assert stuck.sum() == round(0.05 * shape[0] * shape[1])
    with pytest.raises(ValueError, match="img"):
        pipe(np.zeros((8, 8), dtype=np.uint8), np.random.default_rng(0))
