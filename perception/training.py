"""The one supervised training loop of the perception models (point detector, localization CNN) and its settings.

Each model's ``train_*`` function takes the images, their labels and a :class:`FitSettings`, builds its network,
optimizer, learning-rate schedule and per-batch loss (with its augmentation) and hands them to :func:`run_epochs`;
all randomness comes from one ``torch.Generator`` seeded with ``FitSettings.seed``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

__all__ = ["FitSettings", "run_epochs"]


@dataclass(frozen=True)
class FitSettings:
    """How a perception model is fitted: ``epochs`` over the data in minibatches of ``batch_size``, peak
    ``learning_rate``, image augmentation when ``augment``, ``on_epoch(epoch, mean_loss)`` after each epoch;
    seeded by ``seed``."""

    epochs: int
    seed: int
    batch_size: int = 64
    learning_rate: float = 2e-3
    augment: bool = True
    on_epoch: Callable[[int, float], None] | None = None

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate}")


def run_epochs(
    model: nn.Module,
    batch_loss: Callable[[torch.Tensor], torch.Tensor],
    n: int,
    epochs: int,
    batch_size: int,
    schedule: torch.optim.lr_scheduler.LRScheduler,
    generator: torch.Generator,
    on_epoch: Callable[[int, float], None] | None,
) -> None:
    """Minibatch training over ``n`` examples: each epoch shuffles with ``generator``, ``batch_loss(indices)`` gives
    a batch's loss, the schedule's optimizer and the schedule step per batch; ``on_epoch(epoch, mean_loss)`` after
    each epoch. Leaves ``model`` in eval mode."""
    optimizer = schedule.optimizer
    model.train()
    for epoch in range(epochs):
        order = torch.randperm(n, generator=generator)
        total = 0.0
        for start in range(0, n, batch_size):
            batch = order[start : start + batch_size]
            loss = batch_loss(batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            total += float(loss.detach()) * len(batch)
        if on_epoch is not None:
            on_epoch(epoch, total / n)
    model.eval()
