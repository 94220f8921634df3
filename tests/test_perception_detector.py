"""Point detector: heatmap targets and decoding, seeded training, checkpoints, pixel lifting through a camera."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from simreal.envs.camera import intrinsics_matrix
from simreal.perception.checkpoint import load_model, save_model
from simreal.perception.detector import (
    DetectorSettings,
    PointDetector,
    calibrate_threshold,
    decode_heatmap,
    heatmap_cells,
    heatmap_confidence,
    heatmap_targets,
    paste_hard_negatives,
    predict_pixels,
    sensor_defects,
    train_point_detector,
)
from simreal.perception.localization import LocalizationCNN
from simreal.perception.training import FitSettings
from simreal.perception.triangulation import pixels_to_plane


def test_decoding_a_target_heatmap_recovers_its_sub_pixel_centre() -> None:
    pixels = torch.tensor([[10.3, 20.8], [3.0, 30.2], [16.0, 16.0]])
    logits = torch.log(heatmap_targets(pixels, cells=16) + 1e-12).reshape(3, 16, 16)
    torch.testing.assert_close(decode_heatmap(logits), pixels, atol=0.05, rtol=0.0)


def test_decoding_ignores_a_weaker_response_elsewhere() -> None:
    target = heatmap_targets(torch.tensor([[8.4, 9.0]]), cells=16).reshape(1, 16, 16)
    distractor = heatmap_targets(torch.tensor([[27.0, 27.0]]), cells=16).reshape(1, 16, 16)
    logits = torch.log(target + 0.5 * distractor + 1e-12)
    # a global soft-argmax would be pulled about a third of the way towards the distractor
    torch.testing.assert_close(decode_heatmap(logits), torch.tensor([[8.4, 9.0]]), atol=0.05, rtol=0.0)


def test_a_search_region_restricts_the_peak_and_the_confidence_to_its_cells() -> None:
    target = heatmap_targets(torch.tensor([[8.4, 9.0]]), cells=16).reshape(1, 16, 16)
    stronger = heatmap_targets(torch.tensor([[27.0, 27.0]]), cells=16).reshape(1, 16, 16)
    logits = torch.log(0.4 * target + 0.6 * stronger + 1e-12)
    torch.testing.assert_close(decode_heatmap(logits), torch.tensor([[27.0, 27.0]]), atol=0.05, rtol=0.0)
    allowed = torch.zeros(1, 16, 16, dtype=torch.bool)
    allowed[0, :8, :8] = True  # the upper-left quarter: the weaker response only
    torch.testing.assert_close(decode_heatmap(logits, allowed), torch.tensor([[8.4, 9.0]]), atol=0.05, rtol=0.0)
    assert heatmap_confidence(logits, allowed)[0] > 0.7 > 0.5 > heatmap_confidence(logits)[0]  # the other mass is out
    nowhere = torch.zeros(1, 16, 16, dtype=torch.bool)  # a frame that allows no cell keeps them all
    torch.testing.assert_close(decode_heatmap(logits, nowhere), decode_heatmap(logits))
    with pytest.raises(ValueError, match="allowed"):
        decode_heatmap(logits, allowed[:, :8])
    centres = heatmap_cells(32)
    assert centres.shape == (16, 16, 2) and tuple(centres[0, 1]) == (3.0, 1.0)  # (u, v) of row 0, column 1


def test_training_is_seeded_and_validates_inputs(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(16, 32, 32, 3), dtype=np.uint8)
    pixels = rng.uniform(4, 28, size=(16, 2))
    a, b = (train_point_detector(images, pixels, FitSettings(epochs=1, seed=3, batch_size=8)) for _ in range(2))
    for pa, pb in zip(a.state_dict().values(), b.state_dict().values(), strict=True):
        torch.testing.assert_close(pa, pb)
    predicted = predict_pixels(a, images)
    assert predicted.shape == (16, 2) and np.all((predicted >= 0) & (predicted <= 32))
    loaded = load_model(save_model(a, tmp_path / "detector.pt"), PointDetector)
    np.testing.assert_allclose(predict_pixels(loaded, images), predicted)
    with pytest.raises(ValueError, match="LocalizationCNN"):
        load_model(tmp_path / "detector.pt", LocalizationCNN)
    with pytest.raises(ValueError, match="pixels"):
        train_point_detector(images, pixels[:3], FitSettings(epochs=1, seed=0))
    with pytest.raises(ValueError, match="inside"):
        train_point_detector(images, pixels + 40.0, FitSettings(epochs=1, seed=0))
    for bad, match in [({"epochs": 0}, "epochs must be >= 1"), ({"learning_rate": 0.0}, "learning_rate must be > 0")]:
        with pytest.raises(ValueError, match=match):
            FitSettings(**{"epochs": 1, "seed": 0, **bad})
    with pytest.raises(ValueError, match=r"hard_negatives must be in \[0, 1\]"):
        DetectorSettings(hard_negatives=1.5)
    with pytest.raises(ValueError, match="image_size"):
        PointDetector(image_size=31)
    with pytest.raises(ValueError, match="built for 32x32"):
        a(torch.zeros(1, 3, 64, 64))


def test_pixels_to_plane_inverts_the_projection() -> None:
    rng = np.random.default_rng(1)
    angle = np.deg2rad(40.0)  # a camera 1 m up at x = -1, looking down towards +x
    rotation = np.array([[0.0, -1.0, 0.0], [-np.sin(angle), 0.0, -np.cos(angle)], [np.cos(angle), 0.0, -np.sin(angle)]])
    world_to_camera = np.eye(4)
    world_to_camera[:3, :3] = rotation
    world_to_camera[:3, 3] = -rotation @ np.array([-1.0, 0.0, 1.0])
    intrinsics = intrinsics_matrix(45.0, 64, 64)
    points = np.column_stack([rng.uniform(-0.3, 0.3, 5), rng.uniform(-0.3, 0.3, 5), np.full(5, 0.02)])
    camera_points = points @ rotation.T + world_to_camera[:3, 3]
    pixels = (camera_points / camera_points[:, 2:]) @ intrinsics.T
    lifted = pixels_to_plane(pixels[:, :2], np.stack([intrinsics] * 5), np.stack([world_to_camera] * 5), 0.02)
    np.testing.assert_allclose(lifted, points, atol=1e-9)
    with pytest.raises(ValueError, match="one camera per pixel"):
        pixels_to_plane(pixels[:, :2], intrinsics[None], world_to_camera[None], 0.02)
    with pytest.raises(ValueError, match="behind the camera"):
        pixels_to_plane(pixels[:1, :2], intrinsics[None], world_to_camera[None], 2.0)


def test_confidence_is_high_for_one_peak_and_drops_when_a_second_object_shares_the_mass() -> None:
    one = torch.log(heatmap_targets(torch.tensor([[8.0, 8.0]]), cells=16) + 1e-12).reshape(1, 16, 16)
    mixed = heatmap_targets(torch.tensor([[8.0, 8.0]]), cells=16) + heatmap_targets(torch.tensor([[24.0, 24.0]]), 16)
    two = torch.log(mixed / 2 + 1e-12).reshape(1, 16, 16)
    flat = torch.zeros(1, 16, 16)
    confidence = heatmap_confidence(torch.cat([one, two, flat]))
    assert confidence[0] > 0.6 and 0.25 < confidence[1] < 0.6 * confidence[0]
    assert confidence[2] == pytest.approx(4 / 256)  # a flat map: its first cell, a corner, holds 4 cells of mass


def test_threshold_gives_up_the_requested_share_of_correct_detections() -> None:
    confidence = np.linspace(0.0, 1.0, 101)
    errors = np.where(np.arange(101) < 50, 10.0, 0.5)  # the low-confidence half is wrong
    threshold = calibrate_threshold(confidence, errors, tolerance_px=2.0, miss_rate=0.1)
    assert threshold == pytest.approx(np.quantile(confidence[50:], 0.1))
    assert calibrate_threshold(confidence, np.full(101, 9.0), 2.0, 0.1) == 0.0
    with pytest.raises(ValueError, match="miss_rate"):
        calibrate_threshold(confidence, errors, 2.0, 1.0)


def test_pasted_hard_negatives_never_cover_the_object_centre_and_are_seeded() -> None:
    n = 64
    images = torch.full((n, 3, 32, 32), -1.0)
    pixels = torch.rand(n, 2, generator=torch.Generator().manual_seed(0)) * 24 + 4
    for i, (u, v) in enumerate(pixels):
        images[i, 0, int(v) - 1 : int(v) + 2, int(u) - 1 : int(u) + 2] = 1.0  # a red 3x3 object
    a = paste_hard_negatives(images, pixels, torch.Generator().manual_seed(1), probability=1.0)
    b = paste_hard_negatives(images, pixels, torch.Generator().manual_seed(1), probability=1.0)
    torch.testing.assert_close(a, b)
    changed = (a != images).any(dim=1)
    assert changed.flatten(1).any(dim=1).float().mean() > 0.8  # most images got a rectangle
    for i, (u, v) in enumerate(pixels):
        torch.testing.assert_close(a[i, :, int(v), int(u)], images[i, :, int(v), int(u)])
    red_elsewhere = ((a[:, 0] == 1.0) & (a[:, 1] == -1.0)).sum(dim=(1, 2)) > 9
    assert red_elsewhere.any()  # some rectangles took the object's own colour
    torch.testing.assert_close(paste_hard_negatives(images, pixels, torch.Generator(), probability=0.0), images)


def test_sensor_defects_dim_the_contrast_add_specks_and_are_seeded() -> None:
    images = torch.rand(32, 3, 16, 16, generator=torch.Generator().manual_seed(0)) * 2 - 1
    a = sensor_defects(images, torch.Generator().manual_seed(1), probability=1.0)
    b = sensor_defects(images, torch.Generator().manual_seed(1), probability=1.0)
    torch.testing.assert_close(a, b)
    flat = torch.full((32, 3, 16, 16), 0.2)
    dimmed = sensor_defects(flat, torch.Generator().manual_seed(2), probability=1.0)
    assert ((dimmed - 0.2).abs() > 1e-6).any()  # shifted brightness or specks
    squeezed = sensor_defects(images, torch.Generator().manual_seed(3), probability=1.0)
    assert squeezed.std(dim=(1, 2, 3)).mean() < images.std(dim=(1, 2, 3)).mean()
    torch.testing.assert_close(sensor_defects(images, torch.Generator(), probability=0.0), images)
