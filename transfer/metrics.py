"""Transfer metrics that need no downloaded weights.

* :func:`domain_classifier_test`: classifier two-sample test (Lopez-Paz & Oquab 2017). A small CNN is
  trained to tell domain A from domain B on a split; its held-out balanced accuracy is ~0.5 when the
  domains are indistinguishable and ~1.0 when they are trivially separable. Run it on (sim, real) before and
  on (sim, real2sim(real)) after translation.
* Content preservation: :func:`task_error` (error of a given task network, e.g. the localization CNN, on
  (translated) images) and :func:`segmentation_iou`.

Task networks receive ``[-1, 1]`` NCHW float tensors, like in training (:mod:`simreal.transfer.losses`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from simreal.perception.images import images_to_tensor

__all__ = ["DomainTestResult", "domain_classifier_test", "segmentation_iou", "task_error", "task_outputs"]

_METRICS = ("mse", "mae", "euclidean")


@dataclass(frozen=True)
class DomainTestResult:
    """Held-out balanced accuracy of the domain classifier and the one-sided p-value of H0 "same domain"."""

    accuracy: float
    p_value: float
    n_train: int
    n_test: int


def _classifier(generator: torch.Generator) -> nn.Module:
    with torch.random.fork_rng(devices=[]):
        model = nn.Sequential(
            nn.Conv2d(3, 16, 3, 2, 1),
            nn.ReLU(),
            nn.Conv2d(16, 32, 3, 2, 1),
            nn.ReLU(),
            nn.Conv2d(32, 64, 3, 2, 1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(64, 1),
        )
    for layer in model.modules():
        if isinstance(layer, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(layer.weight, nonlinearity="relu", generator=generator)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
    return model


def _split(n: int, train_fraction: float, generator: torch.Generator) -> tuple[np.ndarray, np.ndarray]:
    order = torch.randperm(n, generator=generator).numpy()
    n_train = min(max(1, round(n * train_fraction)), n - 1)
    return order[:n_train], order[n_train:]


def _check_images(name: str, images: np.ndarray, min_count: int) -> None:
    if not isinstance(images, np.ndarray) or images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"{name} must be a uint8 array (N, H, W, 3), got {getattr(images, 'shape', images)!r}")
    if len(images) < min_count:
        raise ValueError(f"{name} needs at least {min_count} images, got {len(images)}")


def domain_classifier_test(
    domain_a: np.ndarray,
    domain_b: np.ndarray,
    seed: int = 0,
    train_fraction: float = 0.5,
    train_steps: int = 400,
    batch_size: int = 32,
    device: torch.device | str = "cpu",
) -> DomainTestResult:
    """Train a small CNN to separate ``domain_a`` from ``domain_b`` (uint8 ``(N, H, W, 3)``, equal H/W) on
    ``train_fraction`` of each and report held-out balanced accuracy (mean of per-domain accuracies).

    Training runs ``train_steps`` Adam steps on batches drawn with replacement (too few steps leave the
    classifier near chance even for separable domains: 25 steps gave 0.55, 150 gave 1.0 on 150 + 150 32 px
    images).

    The p-value uses the normal approximation of the accuracy under H0 (mean 0.5, variance
    ``1 / (4 n_test)``); all randomness comes from ``seed``.
    """
    _check_images("domain_a", domain_a, 2)
    _check_images("domain_b", domain_b, 2)
    if domain_a.shape[1:] != domain_b.shape[1:]:
        raise ValueError(f"domain_a and domain_b image shapes differ: {domain_a.shape[1:]} vs {domain_b.shape[1:]}")
    if not 0.0 < train_fraction < 1.0:
        raise ValueError(f"train_fraction must be in (0, 1), got {train_fraction}")
    if train_steps < 1 or batch_size < 1:
        raise ValueError(f"train_steps and batch_size must be >= 1, got {train_steps}, {batch_size}")
    rng = torch.Generator().manual_seed(int(seed))
    (a_train, a_test), (b_train, b_test) = (_split(len(d), train_fraction, rng) for d in (domain_a, domain_b))
    images = np.concatenate([domain_a[a_train], domain_b[b_train]])
    labels = torch.cat([torch.zeros(len(a_train)), torch.ones(len(b_train))]).to(device)
    model = _classifier(rng).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    for _ in range(train_steps):
        idx = torch.randint(len(images), (batch_size,), generator=rng).numpy()
        logits = model(images_to_tensor(images[idx], device))[:, 0]
        loss = F.binary_cross_entropy_with_logits(logits, labels[idx])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.inference_mode():
        acc_a = _accuracy(model, domain_a[a_test], 0, batch_size, device)
        acc_b = _accuracy(model, domain_b[b_test], 1, batch_size, device)
    accuracy = 0.5 * (acc_a + acc_b)
    n_test = len(a_test) + len(b_test)
    z = (accuracy - 0.5) * math.sqrt(4 * n_test)
    return DomainTestResult(
        accuracy=accuracy,
        p_value=0.5 * math.erfc(z / math.sqrt(2)),
        n_train=len(images),
        n_test=n_test,
    )


def _accuracy(model: nn.Module, images: np.ndarray, label: int, batch_size: int, device: torch.device | str) -> float:
    correct = 0
    for start in range(0, len(images), batch_size):
        logits = model(images_to_tensor(images[start : start + batch_size], device))[:, 0]
        correct += int(((logits > 0).long() == label).sum())
    return correct / len(images)


def task_outputs(
    task_network: Callable[[torch.Tensor], torch.Tensor],
    images: np.ndarray,
    batch_size: int = 64,
    device: torch.device | str = "cpu",
) -> np.ndarray:
    """Run ``task_network`` on uint8 images ``(N, H, W, 3)`` in batches; return its outputs as float64 numpy."""
    _check_images("images", images, 1)
    outputs = []
    with torch.inference_mode():
        for start in range(0, len(images), batch_size):
            out = task_network(images_to_tensor(images[start : start + batch_size], device))
            outputs.append(out.detach().double().cpu().numpy())
    return np.concatenate(outputs)


def task_error(
    task_network: Callable[[torch.Tensor], torch.Tensor],
    images: np.ndarray,
    targets: np.ndarray,
    metric: str = "euclidean",
    batch_size: int = 64,
    device: torch.device | str = "cpu",
) -> float:
    """Error of ``task_network`` on ``images`` against ``targets`` ``(N, ...)``.

    ``metric``: ``"mse"`` (mean squared error), ``"mae"`` (mean absolute error) or ``"euclidean"`` (mean
    per-sample L2 norm of the error vector, e.g. metres for a position regressor). Pass translated images
    (``ImageTranslator.translate_batch(real)``) to measure content preservation, or
    ``targets=task_outputs(task_network, original)`` to measure consistency with the untranslated input.
    """
    if metric not in _METRICS:
        raise ValueError(f"metric must be one of {_METRICS}, got {metric!r}")
    predictions = task_outputs(task_network, images, batch_size, device)
    targets = np.asarray(targets, dtype=np.float64)
    if predictions.shape != targets.shape:
        raise ValueError(f"targets shape {targets.shape} does not match task outputs {predictions.shape}")
    error = predictions - targets
    if metric == "mse":
        return float(np.mean(error**2))
    if metric == "mae":
        return float(np.mean(np.abs(error)))
    return float(np.mean(np.linalg.norm(error.reshape(len(error), -1), axis=1)))


def segmentation_iou(prediction: np.ndarray, target: np.ndarray, ignore_index: int | None = None) -> float:
    """Mean intersection-over-union of two masks of equal shape.

    Boolean masks: IoU of the ``True`` region. Integer label maps: mean IoU over the labels present in either
    map (``ignore_index`` pixels excluded). Two empty masks give 1.0.
    """
    prediction, target = np.asarray(prediction), np.asarray(target)
    if prediction.shape != target.shape:
        raise ValueError(f"prediction shape {prediction.shape} does not match target shape {target.shape}")
    if prediction.dtype == bool and target.dtype == bool:
        union = np.logical_or(prediction, target).sum()
        return 1.0 if union == 0 else float(np.logical_and(prediction, target).sum() / union)
    valid = np.ones(target.shape, dtype=bool) if ignore_index is None else target != ignore_index
    labels = np.union1d(prediction[valid], target[valid])
    if ignore_index is not None:
        labels = labels[labels != ignore_index]
    if labels.size == 0:
        return 1.0
    ious = []
    for label in labels:
        p, t = (prediction == label) & valid, (target == label) & valid
        ious.append(np.logical_and(p, t).sum() / np.logical_or(p, t).sum())
    return float(np.mean(ious))
