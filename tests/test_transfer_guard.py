"""The translator guard: an identity or recolouring translator passes, one that erases the object is caught."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from simreal.transfer.config import CycleGANConfig
from simreal.transfer.guard import (
    GuardWarning,
    TranslationRefused,
    content_survival,
    disc_masks,
    enforce,
    judge,
    sample_env,
)
from simreal.transfer.networks import ResnetGenerator
from simreal.transfer.wrapper import CycleGANObservation

SIZE = 32


def _scenes(n: int = 40) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Wood-coloured tables with noise and a red 4x4 block at a random place: images, block masks, centres."""
    rng = np.random.default_rng(0)
    images = np.clip(rng.normal([120, 90, 60], 6, size=(n, SIZE, SIZE, 3)), 0, 255).astype(np.uint8)
    masks = np.zeros((n, SIZE, SIZE), dtype=bool)
    corners = rng.integers(4, SIZE - 8, size=(n, 2))
    for i, (u, v) in enumerate(corners):
        images[i, v : v + 4, u : u + 4] = (200, 30, 25)
        masks[i, v : v + 4, u : u + 4] = True
    return images, masks, corners + 2.0


def _identity(images: np.ndarray) -> np.ndarray:
    return images.copy()


def _recolour(images: np.ndarray) -> np.ndarray:
    """A legitimate real2sim-like change: other hues and a darker scene, the block still stands out."""
    return (images[..., ::-1].astype(np.float64) * 0.7).astype(np.uint8)


def _erase(images: np.ndarray) -> np.ndarray:
    """Deterministically paints every reddish pixel over with the image's median colour (what the real2sim
    CycleGAN did to the red block on a darker table)."""
    out = images.copy()
    pixels = images.astype(np.int32)
    red = (pixels[..., 0] - pixels[..., 1:].max(axis=-1)) > 80
    median = np.median(images.reshape(len(images), -1, 3), axis=1).astype(np.uint8)
    for i in range(len(images)):
        out[i][red[i]] = median[i]
    return out


def _redness_probe(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A stand-in detector: the centre of the reddest 4x4 window."""
    pixels = images.astype(np.float64)
    score = pixels[..., 0] - pixels[..., 1:].max(axis=-1)
    windows = torch.nn.functional.avg_pool2d(torch.from_numpy(score)[:, None], 4, stride=1)[:, 0].numpy()
    flat = windows.reshape(len(images), -1)
    best = flat.argmax(axis=1)
    v, u = np.unravel_index(best, windows.shape[1:])
    return np.stack([u + 2.0, v + 2.0], axis=1), flat.max(axis=1)


def test_identity_and_recolouring_keep_the_task_and_pass() -> None:
    images, masks, _ = _scenes()
    report = content_survival(images, _identity(images), masks, probe=_redness_probe, domain="lab")
    assert report.verdict == "ok" and report.survival == 1.0 and report.frames == len(images)
    assert report.detector_agreement == 1.0 and report.contrast_ratio == pytest.approx(1.0)
    recoloured = content_survival(images, _recolour(images), masks)  # the block turns blue: still there
    assert recoloured.verdict == "ok" and recoloured.survival == 1.0 and recoloured.contrast_ratio > 0.5


def test_a_translator_that_erases_the_object_fails_by_masks_and_by_detector() -> None:
    images, masks, centres = _scenes()
    erased = _erase(images)
    by_masks = content_survival(images, erased, masks, domain="dark lab")
    assert by_masks.verdict == "fail" and by_masks.survival == 0.0 and by_masks.contrast_ratio < 0.2
    by_probe = content_survival(images, erased, disc_masks(centres, SIZE), probe=_redness_probe)
    assert by_probe.verdict == "fail" and by_probe.detector_agreement < 0.3
    with pytest.raises(TranslationRefused, match="dark lab"):
        enforce(by_masks, "refuse")
    with pytest.warns(GuardWarning, match="destroys the task"):
        enforce(by_masks, "warn")


def test_partial_damage_warns_and_verdict_thresholds() -> None:
    images, masks, _ = _scenes()
    half = images.copy()
    half[:8] = _erase(images[:8])  # 20% of frames lose the block
    report = content_survival(images, half, masks)
    assert report.survival == pytest.approx(0.8) and report.verdict == "warn"
    assert enforce(content_survival(images, images, masks), "refuse").verdict == "ok"
    assert (judge(0.95, 10), judge(0.8, 10), judge(0.5, 10), judge(1.0, 0)) == ("ok", "warn", "fail", "warn")
    with pytest.raises(ValueError, match="mode"):
        enforce(report, "ignore")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="masks, probe"):
        content_survival(images, images)
    with pytest.raises(ValueError, match="masks must have shape"):
        content_survival(images, images, masks[:, :8])


def test_disc_masks_cover_the_centre() -> None:
    masks = disc_masks(np.array([[10.5, 20.5]]), SIZE, radius=1.5)
    assert masks[0, 20, 10] and masks.sum() == 9 and not masks[0, 10, 20]


def test_wrapper_guard_refuses_a_generator_that_erases_everything() -> None:
    config = CycleGANConfig.preset("fast", image_size=SIZE).generator
    eraser = ResnetGenerator(config)
    for parameter in eraser.parameters():
        torch.nn.init.zeros_(parameter)  # every output pixel is mid-grey: the block is gone
    env = gym.make("simreal/Push-v0", obs_mode="pixels", image_size=SIZE)
    try:
        with pytest.raises(TranslationRefused, match="canonical"):
            CycleGANObservation(env, eraser, guard="refuse", guard_frames=8, domain="canonical")
        with pytest.warns(GuardWarning):
            wrapped = CycleGANObservation(env, eraser, guard="warn", guard_frames=8, domain="canonical")
        assert wrapped.guard_report is not None and wrapped.guard_report.verdict == "fail"
        assert CycleGANObservation(env, eraser).guard_report is None  # off by default
    finally:
        env.close()


def test_agreement_only_counts_frames_the_probe_is_sure_of() -> None:
    images, masks, _ = _scenes()

    def unsure_on_half(batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pixels, _ = _redness_probe(batch)
        confidence = np.where(np.arange(len(batch)) < len(batch) // 2, 0.1, 0.9)
        if batch is not images:  # after translation the probe points elsewhere on the unsure half
            pixels = np.where((np.arange(len(batch)) < len(batch) // 2)[:, None], pixels + 10.0, pixels)
        return pixels, confidence

    report = content_survival(images, images.copy(), masks, probe=unsure_on_half, min_confidence=0.5)
    assert report.detector_agreement == 1.0 and report.verdict == "ok"
    blind = content_survival(images, images.copy(), masks, probe=unsure_on_half)
    assert blind.detector_agreement == 0.5 and blind.verdict == "fail"


def test_driving_guard_checks_the_lane_markings() -> None:
    """On LaneFollow the task content is the painted lines: their mask is white paint on the road, a translator
    that keeps them passes, one that paints them over with road (what the driving CycleGAN did) fails."""
    env = gym.make("simreal/LaneFollow-v0", obs_mode="pixels_state", image_size=SIZE)
    try:
        images, masks = sample_env(env, 8, seed=0)
    finally:
        env.close()
    assert images.shape == (8, SIZE, SIZE, 3) and masks.shape == (8, SIZE, SIZE)
    assert masks.any(axis=(1, 2)).all()  # the markings are in view at every reset
    assert images[masks].mean() > images[~masks].mean() + 40  # bright paint against road, grass and sky
    assert content_survival(images, _recolour(images), masks).verdict == "ok"
    painted_over = images.copy()
    road = np.median(images[:, SIZE // 2 :][~masks[:, SIZE // 2 :]], axis=0)  # the lower half is mostly road
    painted_over[masks] = road.astype(np.uint8)
    report = content_survival(images, painted_over, masks, domain="lanefollow")
    assert report.frames == 8 and report.survival == 0.0 and report.verdict == "fail"
