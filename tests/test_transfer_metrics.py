"""Domain-classifier two-sample test and content-preservation metrics."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import torch
from torch import nn

from simreal.transfer.metrics import domain_classifier_test, segmentation_iou, task_error, task_outputs


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Iterator[None]:
    """One intra-op thread keeps the tests fast when other processes share the 2 cores."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _noise(rng: np.random.Generator, n: int, low: int, high: int) -> np.ndarray:
    return rng.integers(low, high, (n, 16, 16, 3), dtype=np.uint8)


def test_separable_domains_score_near_one() -> None:
    rng = np.random.default_rng(0)
    result = domain_classifier_test(_noise(rng, 64, 0, 100), _noise(rng, 64, 150, 256), seed=0, train_steps=60)
    assert result.accuracy >= 0.95
    assert result.p_value < 1e-6
    assert (result.n_train, result.n_test) == (64, 64)


def test_same_distribution_scores_near_chance_and_is_seeded() -> None:
    rng = np.random.default_rng(1)
    a, b = _noise(rng, 64, 0, 256), _noise(rng, 64, 0, 256)
    result = domain_classifier_test(a, b, seed=3, train_steps=60)
    assert 0.3 <= result.accuracy <= 0.7
    assert result.p_value > 0.01
    assert domain_classifier_test(a, b, seed=3, train_steps=60) == result


def test_domain_test_rejects_bad_inputs() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="domain_a"):
        domain_classifier_test(_noise(rng, 1, 0, 9), _noise(rng, 4, 0, 9))
    with pytest.raises(ValueError, match="shapes differ"):
        domain_classifier_test(_noise(rng, 4, 0, 9), np.zeros((4, 8, 8, 3), dtype=np.uint8))
    with pytest.raises(ValueError, match="train_fraction"):
        domain_classifier_test(_noise(rng, 4, 0, 9), _noise(rng, 4, 0, 9), train_fraction=1.0)


class _MeanColour(nn.Module):
    """A 'task network' whose output is the mean colour of the image in [-1, 1]."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3))


def test_task_error_metrics() -> None:
    images = np.full((5, 8, 8, 3), 255, dtype=np.uint8)
    outputs = task_outputs(_MeanColour(), images, batch_size=2)
    np.testing.assert_allclose(outputs, 1.0)
    targets = np.zeros((5, 3))
    assert task_error(_MeanColour(), images, targets, metric="mse") == pytest.approx(1.0)
    assert task_error(_MeanColour(), images, targets, metric="mae") == pytest.approx(1.0)
    assert task_error(_MeanColour(), images, targets, metric="euclidean") == pytest.approx(np.sqrt(3))
    assert task_error(_MeanColour(), images, outputs) == 0.0
    with pytest.raises(ValueError, match="metric"):
        task_error(_MeanColour(), images, targets, metric="rmse")
    with pytest.raises(ValueError, match="targets shape"):
        task_error(_MeanColour(), images, np.zeros((5, 2)))


def test_segmentation_iou() -> None:
    a = np.zeros((4, 4), dtype=bool)
    b = np.zeros((4, 4), dtype=bool)
    a[:2] = True  # 8 pixels
    b[1:3] = True  # 8 pixels, 4 shared
    assert segmentation_iou(a, b) == pytest.approx(4 / 12)
    assert segmentation_iou(a, a) == 1.0
    assert segmentation_iou(np.zeros((2, 2), bool), np.zeros((2, 2), bool)) == 1.0
    labels = np.array([[0, 0, 1, 1], [0, 0, 1, 1]])
    pred = np.array([[0, 0, 0, 1], [0, 0, 1, 1]])
    # class 0: 4 / 5; class 1: 3 / 4
    assert segmentation_iou(pred, labels) == pytest.approx((4 / 5 + 3 / 4) / 2)
    assert segmentation_iou(pred, labels, ignore_index=0) == pytest.approx(3 / 4)
    with pytest.raises(ValueError, match="shape"):
        segmentation_iou(a, labels)
