"""Values and gradients of the CycleGAN loss functions."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from simreal.transfer import losses as L


def test_lsgan_losses_values() -> None:
    ones, zeros = torch.ones(2, 1, 4, 4), torch.zeros(2, 1, 4, 4)
    assert float(L.lsgan_generator_loss(ones)) == 0.0
    assert float(L.lsgan_generator_loss(zeros)) == 1.0
    assert float(L.lsgan_discriminator_loss(ones, zeros)) == 0.0
    assert float(L.lsgan_discriminator_loss(zeros, ones)) == 1.0  # 0.5 * (1 + 1)
    assert float(L.lsgan_discriminator_loss(torch.full((1, 1, 2, 2), 0.5), zeros[:1, :, :2, :2])) == 0.125


def test_cycle_and_identity_are_mean_l1() -> None:
    x = torch.zeros(1, 3, 4, 4)
    y = torch.full((1, 3, 4, 4), 0.5)
    assert float(L.cycle_loss(y, x)) == 0.5
    assert float(L.identity_loss(x, x)) == 0.0


def test_label_consistency_only_counts_masked_pixels() -> None:
    x = torch.zeros(2, 3, 4, 4)
    translated = torch.ones(2, 3, 4, 4)
    translated[:, :, :2] = 0.25  # the masked (object) rows changed by 0.25 only
    mask = torch.zeros(2, 4, 4, dtype=torch.bool)
    mask[:, :2] = True
    assert float(L.label_consistency_loss(x, translated, mask)) == pytest.approx(0.25)
    assert float(L.label_consistency_loss(x, translated, mask[:, None].float())) == pytest.approx(0.25)
    assert float(L.label_consistency_loss(x, translated, torch.zeros(2, 4, 4))) == 0.0
    with pytest.raises(ValueError, match="mask"):
        L.label_consistency_loss(x, translated, torch.zeros(2, 3, 3))


class _TwoHeads(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 2, 3)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        features = self.conv(x)
        return {"features": features, "pooled": features.mean((2, 3))}


@pytest.mark.parametrize("head", ["tensor", "dict"])
def test_task_consistency_zero_on_identity_and_grad_only_through_translation(head: str) -> None:
    rng = torch.Generator().manual_seed(0)
    net: nn.Module = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten()) if head == "tensor" else _TwoHeads()
    for param in net.parameters():
        nn.init.normal_(param, generator=rng)
    net.requires_grad_(False)
    x = torch.rand(2, 3, 8, 8, generator=rng).requires_grad_(True)
    assert float(L.task_consistency_loss(net, x, x.detach())) == 0.0
    translated = (x.detach() + 0.3).requires_grad_(True)
    loss = L.task_consistency_loss(net, x, translated)
    assert float(loss.detach()) > 0.0
    loss.backward()
    assert x.grad is None
    assert translated.grad is not None
    assert float(translated.grad.abs().sum()) > 0.0


def test_task_consistency_rejects_non_tensor_outputs() -> None:
    with pytest.raises(TypeError, match="task network"):
        L.task_consistency_loss(lambda t: "nope", torch.zeros(1, 3, 4, 4), torch.zeros(1, 3, 4, 4))
