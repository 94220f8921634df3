"""The localization CNN: shapes, seeded augmentation and training, error metrics."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from simreal.perception.images import augment_images
from simreal.perception.localization import (
    LocalizationCNN,
    localization_errors_cm,
    train_localization,
)
from simreal.perception.training import FitSettings


def test_model_shapes() -> None:
    model = LocalizationCNN(target_mean=(0.1, -0.2), target_scale=(2.0, 3.0)).eval()
    images = torch.rand(5, 3, 64, 64) * 2 - 1
    out = model(images)
    assert out.shape == (5, 2) and out.dtype == torch.float32
    torch.testing.assert_close(out, model.normalized(images) * torch.tensor([2.0, 3.0]) + torch.tensor([0.1, -0.2]))
    with pytest.raises(ValueError, match="image_size"):
        LocalizationCNN(image_size=30)
    with pytest.raises(ValueError, match="image size"):
        model(torch.zeros(1, 3, 32, 32))


def test_augmentation_is_seeded_and_bounded() -> None:
    images = torch.rand(6, 3, 16, 16) * 2 - 1
    a = augment_images(images, torch.Generator().manual_seed(1))
    b = augment_images(images, torch.Generator().manual_seed(1))
    torch.testing.assert_close(a, b)
    assert a.shape == images.shape and a.min() >= -1.0 and a.max() <= 1.0
    assert not torch.equal(a, augment_images(images, torch.Generator().manual_seed(2)))


def test_training_is_seeded_and_errors_are_in_cm() -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(16, 32, 32, 3), dtype=np.uint8)
    targets = rng.uniform(-0.1, 0.1, size=(16, 2))
    a, b = (train_localization(images, targets, FitSettings(epochs=1, seed=3, batch_size=8)) for _ in range(2))
    for pa, pb in zip(a.state_dict().values(), b.state_dict().values(), strict=True):
        torch.testing.assert_close(pa, pb)
    errors = localization_errors_cm(np.array([[0.0, 0.0], [0.03, 0.04]]), np.zeros((2, 2)))
    assert errors == {"median_cm": 2.5, "p90_cm": pytest.approx(4.5), "mean_cm": 2.5, "tail_5cm": 0.0}
    gross = localization_errors_cm(np.array([[0.0, 0.0], [0.0, 0.06], [0.1, 0.0]]), np.zeros((3, 2)))
    assert gross["tail_5cm"] == pytest.approx(2 / 3)
    kept = localization_errors_cm(
        np.array([[0.0, 0.0], [0.0, 0.06], [0.1, 0.0]]), np.zeros((3, 2)), found=np.array([True, True, False])
    )
    assert kept["not_found"] == pytest.approx(1 / 3) and kept["tail_5cm_found"] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="found"):
        localization_errors_cm(np.zeros((3, 2)), np.zeros((3, 2)), found=np.ones(2, dtype=bool))
    with pytest.raises(ValueError, match="targets"):
        train_localization(images, targets[:3], FitSettings(epochs=1, seed=0))
