"""RCAN-style randomized -> canonical translation (James et al. 2019): a generator trained on paired renders of
the same state (:mod:`simreal.transfer.paired`) to map any randomized appearance to the canonical one. It needs no
real image; at deployment it maps a real frame to the canonical look a canonical-trained model expects.

Loss: L1 between ``G(x_randomized)`` and ``x_canonical``, plus ``lambda_object`` times the same L1 over the task
object's pixels (its canonical mask, dilated by one pixel so its outline counts: the object is ~1% of a 64 px frame,
so without this term a short training run paints Reach's goal marker over with table and the guard of
:mod:`simreal.transfer.guard` fails on every domain), plus, with a ``task_network`` (a canonical-trained
:class:`~simreal.perception.detector.PointDetector`), ``lambda_task`` times the detector's heatmap cross-entropy
against the free label (the block's pixel) on ``G(x)``: the translation must keep what the task needs, not just
look canonical on average (the block is a few pixels of a 64 px frame, so L1 alone barely weighs it). With
``feature_networks`` (e.g. the image encoders of the canonical-trained policies the translator will serve, as in
RL-CycleGAN's Q-consistency), ``lambda_features`` times each network's squared feature error between ``G(x)`` and
the canonical frame, relative to the canonical features' mean square: the translation must look the same *to the
model behind it*, which an L1 average does not ensure (a policy trained on one look can depend on details, such as
a texture, that no translator can restore and L1 averages away). The input
side gets the detectors' appearance augmentation (random channel order, blur, gain, noise) on top of the scene
randomization, so unseen labs look less new. The generator is the ``fast`` CycleGAN preset's with ``downsample``
stride-2 stages (the preset's 2 by default; 1 keeps a 32x32 bottleneck for thin content such as lane markings, at
about the same cost per image), saved as a ``real2sim`` checkpoint that
:class:`~simreal.transfer.wrapper.ImageTranslator` and ``--transfer`` load.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from simreal.perception.detector import STRIDE, PointDetector, heatmap_targets
from simreal.perception.images import augment_appearance, images_to_tensor
from simreal.transfer.checkpoint import save_checkpoint
from simreal.transfer.config import RCAN_DOWNSAMPLE, CycleGANConfig
from simreal.transfer.networks import ResnetGenerator
from simreal.transfer.paired import PairedFrames

__all__ = ["RCANConfig", "train_rcan"]


@dataclass(frozen=True)
class RCANConfig:
    """Training settings of :func:`train_rcan`: the task loss weight (used with a ``task_network``), the weight of
    the L1 over the task object's pixels, the feature-consistency weight (used with ``feature_networks``), the
    batch size, Adam's peak learning rate (one-cycle schedule), whether the input side gets appearance
    augmentation and the generator's number of stride-2 stages (``downsample``)."""

    lambda_task: float = 0.05
    lambda_object: float = 1.0
    lambda_features: float = 1.0
    batch_size: int = 8
    learning_rate: float = 1e-3
    augment: bool = True
    downsample: int = 2

    def __post_init__(self) -> None:
        if not 0.0 <= self.lambda_task <= 1e3:
            raise ValueError(f"lambda_task must be in [0, 1000], got {self.lambda_task}")
        if not 0.0 <= self.lambda_object <= 1e3:
            raise ValueError(f"lambda_object must be in [0, 1000], got {self.lambda_object}")
        if not 0.0 <= self.lambda_features <= 1e3:
            raise ValueError(f"lambda_features must be in [0, 1000], got {self.lambda_features}")
        if isinstance(self.downsample, bool) or self.downsample not in RCAN_DOWNSAMPLE:
            raise ValueError(f"downsample must be one of {list(RCAN_DOWNSAMPLE)}, got {self.downsample!r}")


def train_rcan(
    pairs: PairedFrames,
    steps: int,
    seed: int,
    out: str | os.PathLike[str],
    task_network: PointDetector | None = None,
    config: RCANConfig = RCANConfig(),
    on_step: Callable[[int, float], None] | None = None,
    feature_networks: Sequence[Callable[[torch.Tensor], torch.Tensor]] = (),
) -> Path:
    """Train a randomized -> canonical generator on ``pairs`` for ``steps`` Adam steps (one-cycle learning rate,
    settings in ``config``) and save it as a ``real2sim`` checkpoint at ``out``; returns the path. Seeded by
    ``seed``. ``feature_networks`` map ``[-1, 1]`` NCHW images to features (frozen; only the generator learns)."""
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    lambda_task, batch_size, learning_rate = config.lambda_task, config.batch_size, config.learning_rate
    size = pairs.randomized.shape[1]
    gan = CycleGANConfig.preset("fast", image_size=size)
    if size % 2**config.downsample:
        raise ValueError(
            f"downsample {config.downsample}: the image size {size} must be divisible by {2**config.downsample}"
        )
    shape = dataclasses.replace(gan.generator, channels_last=False, n_downsample=config.downsample)
    gan = dataclasses.replace(gan, generator=shape)
    generator_rng = torch.Generator().manual_seed(seed)
    model = ResnetGenerator(gan.generator, generator=generator_rng)
    inputs = images_to_tensor(pairs.randomized, channels_last=True)
    targets = images_to_tensor(pairs.canonical, channels_last=True)
    labels = torch.from_numpy(pairs.pixels.astype(np.float32))
    object_masks = nn.functional.max_pool2d(  # dilated by one pixel: the object's outline against its surround
        torch.from_numpy(pairs.masks).float()[:, None], kernel_size=3, stride=1, padding=1
    )
    if task_network is not None:
        task_network.eval().requires_grad_(False)
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate, betas=(0.5, 0.999))
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, learning_rate, total_steps=steps, pct_start=0.1)
    model.train()
    for step in range(steps):
        batch = torch.randint(0, len(inputs), (batch_size,), generator=generator_rng)
        x = inputs[batch]
        if config.augment:
            x = augment_appearance(x, generator_rng).clamp_(-1.0, 1.0)
        translated = model(x)
        error = (translated - targets[batch]).abs()
        loss = error.mean()
        if config.lambda_object > 0:
            mask = object_masks[batch]
            loss = loss + config.lambda_object * (error * mask).sum() / (3 * mask.sum()).clamp(min=1.0)
        if task_network is not None and lambda_task > 0:
            logits = task_network(translated).reshape(batch_size, -1)
            heatmaps = heatmap_targets(labels[batch], size // STRIDE)
            loss = loss + lambda_task * -(heatmaps * torch.log_softmax(logits, dim=1)).sum(dim=1).mean()
        if feature_networks and config.lambda_features > 0:
            loss = loss + config.lambda_features * _feature_error(feature_networks, translated, targets[batch])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        if on_step is not None and (step + 1) % max(1, steps // 10) == 0:
            on_step(step + 1, float(loss.detach()))
    model.eval()
    if not math.isfinite(float(loss.detach())):
        raise ValueError("RCAN training diverged (non-finite loss)")
    state = {"config": gan.to_dict(), "step": steps, "models": {"G_real2sim": model.state_dict()}}
    return save_checkpoint(out, state)


def _feature_error(
    networks: Sequence[Callable[[torch.Tensor], torch.Tensor]], translated: torch.Tensor, canonical: torch.Tensor
) -> torch.Tensor:
    """Mean over ``networks`` of the squared feature error of ``translated`` against ``canonical``, relative to the
    canonical features' mean square (so networks of any feature scale weigh alike)."""
    total = translated.new_zeros(())
    for network in networks:
        with torch.no_grad():
            reference = network(canonical)
        total = total + (network(translated) - reference).pow(2).mean() / reference.pow(2).mean().clamp(min=1e-8)
    return total / len(networks)
