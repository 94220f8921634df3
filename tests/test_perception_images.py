"""The one image convention (uint8 HWC <-> float [-1, 1] NCHW) and pinned outputs of the perception models."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from simreal.perception.detector import DetectorSettings, detect, train_point_detector
from simreal.perception.images import images_to_tensor, tensor_to_images
from simreal.perception.localization import predict_positions, train_localization
from simreal.perception.training import FitSettings


def test_converter_scale_and_layout() -> None:
    values = np.arange(256, dtype=np.uint8).reshape(1, 16, 16, 1).repeat(3, axis=3)
    tensor = images_to_tensor(values)
    assert tensor.shape == (1, 3, 16, 16) and tensor.dtype == torch.float32
    assert tensor.min() == -1.0 and tensor.max() == 1.0
    expected = torch.arange(256, dtype=torch.float32).reshape(16, 16) / 127.5 - 1.0
    assert torch.equal(tensor[0, 0], expected)
    # the [0, 1] scale times 2 minus 1 (what GoalPerception's detectors were fed before) gives the same bits
    assert torch.equal(tensor[0, 0], expected.add(1.0).mul(127.5).div(255.0) * 2.0 - 1.0)
    np.testing.assert_array_equal(tensor_to_images(tensor), values)
    layout = images_to_tensor(values, channels_last=True)
    assert layout.is_contiguous(memory_format=torch.channels_last) and torch.equal(layout, tensor)
    assert images_to_tensor(values).is_contiguous()
    with pytest.raises(ValueError, match="uint8"):
        images_to_tensor(values.astype(np.float32))


def test_same_seed_gives_the_pinned_detector_and_localization_outputs() -> None:
    """Numbers of the code before the perception de-duplication (#19), to 1e-4 px / 1e-7 m: a refactor of the
    converter, the augmentation or the training loop that changes any result fails here."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(24, 32, 32, 3), dtype=np.uint8)
    pixels = rng.uniform(4, 28, size=(24, 2))
    targets = rng.uniform(-0.1, 0.1, size=(24, 2))
    fit = FitSettings(epochs=2, seed=3, batch_size=8)
    detector = train_point_detector(images, pixels, fit, DetectorSettings(hard_negatives=0.5, defects=0.5))
    found, confidence = detect(detector, images[:4])
    np.testing.assert_allclose(
        found, [[23.345888, 9.283717], [21.195543, 9.220566], [17.671331, 17.540485], [8.538315, 20.324736]], atol=1e-4
    )
    np.testing.assert_allclose(confidence, [0.05569473, 0.05459347, 0.0584313, 0.05501651], atol=1e-6)
    model = train_localization(images, targets, fit)
    np.testing.assert_allclose(
        predict_positions(model, images[:4]),
        [[0.013753341, -0.016589735], [0.018045813, -0.00986876], [0.011539118, -0.013590986],
         [0.008756119, -0.023666533]],
        atol=1e-7,
    )  # fmt: skip
