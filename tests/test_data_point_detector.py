"""Point detector: heatmap targets and decoding, seeded training, checkpoints, pixel lifting through a camera."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from simreal.data.camera import intrinsics_matrix, pixels_to_plane
from simreal.data.localization import LocalizationCNN, load_model, save_model
from simreal.data.point_detector import (
    PointDetector,
    decode_heatmap,
    heatmap_targets,
    predict_pixels,
    train_point_detector,
)


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


def test_training_is_seeded_and_validates_inputs(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(16, 32, 32, 3), dtype=np.uint8)
    pixels = rng.uniform(4, 28, size=(16, 2))
    a, b = (train_point_detector(images, pixels, epochs=1, seed=3, batch_size=8) for _ in range(2))
    for pa, pb in zip(a.state_dict().values(), b.state_dict().values(), strict=True):
        torch.testing.assert_close(pa, pb)
    predicted = predict_pixels(a, images)
    assert predicted.shape == (16, 2) and np.all((predicted >= 0) & (predicted <= 32))
    loaded = load_model(save_model(a, tmp_path / "detector.pt"), PointDetector)
    np.testing.assert_allclose(predict_pixels(loaded, images), predicted)
    with pytest.raises(ValueError, match="LocalizationCNN"):
        load_model(tmp_path / "detector.pt", LocalizationCNN)
    with pytest.raises(ValueError, match="pixels"):
        train_point_detector(images, pixels[:3], epochs=1, seed=0)
    with pytest.raises(ValueError, match="inside"):
        train_point_detector(images, pixels + 40.0, epochs=1, seed=0)
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
