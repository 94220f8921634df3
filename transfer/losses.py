"""CycleGAN losses as pure functions of tensors (images are ``[-1, 1]`` NCHW float tensors).

Notation (Zhu et al. 2017): ``G: X -> Y`` and ``F: Y -> X`` are the generators, ``D_Y`` / ``D_X`` the
discriminators, ``x ~ p_data(x)`` source (simulation) images and ``y ~ p_data(y)`` target (real) images.
Task consistency follows RL-CycleGAN (Rao et al. 2020) with a frozen task network ``T``; label consistency
uses simulator segmentation masks ``M`` (object pixels = 1).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F

__all__ = [
    "cycle_loss",
    "identity_loss",
    "label_consistency_loss",
    "lsgan_discriminator_loss",
    "lsgan_generator_loss",
    "task_consistency_loss",
]


def lsgan_generator_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """Least-squares generator loss (Mao et al. 2017, used by CycleGAN eq. 1 with the LSGAN objective).

    ``L_GAN(G) = E_x[(D_Y(G(x)) - 1)^2]``

    ``fake_scores`` are the discriminator's raw patch scores ``D_Y(G(x))``.
    """
    return F.mse_loss(fake_scores, torch.ones_like(fake_scores))


def lsgan_discriminator_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """Least-squares discriminator loss, halved as in the paper to slow ``D`` relative to ``G``.

    ``L_GAN(D_Y) = 1/2 * (E_y[(D_Y(y) - 1)^2] + E_x[D_Y(G(x))^2])``

    ``fake_scores`` must come from detached (or pooled) generated images.
    """
    real = F.mse_loss(real_scores, torch.ones_like(real_scores))
    fake = F.mse_loss(fake_scores, torch.zeros_like(fake_scores))
    return 0.5 * (real + fake)


def cycle_loss(reconstructed: torch.Tensor, original: torch.Tensor) -> torch.Tensor:
    """Cycle-consistency L1 loss for one direction (paper eq. 2 is the sum of both directions).

    ``L_cyc = E_x[||F(G(x)) - x||_1] + E_y[||G(F(y)) - y||_1]``

    Called as ``cycle_loss(F(G(x)), x)``; the mean absolute error over all pixels and channels.
    """
    return F.l1_loss(reconstructed, original)


def identity_loss(same: torch.Tensor, original: torch.Tensor) -> torch.Tensor:
    """Identity-mapping L1 loss for one generator (paper section 5.2, weight ``0.5 * lambda_cyc``).

    ``L_identity = E_y[||G(y) - y||_1] + E_x[||F(x) - x||_1]``

    Called as ``identity_loss(G(y), y)``.
    """
    return F.l1_loss(same, original)


TaskOutput = torch.Tensor | Sequence[torch.Tensor] | Mapping[Any, torch.Tensor]


def _flatten_outputs(output: TaskOutput) -> list[torch.Tensor]:
    if isinstance(output, torch.Tensor):
        return [output]
    if isinstance(output, Mapping):
        return [output[key] for key in sorted(output, key=str)]
    if isinstance(output, Sequence) and all(isinstance(t, torch.Tensor) for t in output):
        return list(output)
    raise TypeError(f"task network must return a tensor, a sequence or a mapping of tensors, got {output!r}")


def task_consistency_loss(
    task_network: Callable[[torch.Tensor], TaskOutput], original: torch.Tensor, translated: torch.Tensor
) -> torch.Tensor:
    """Task-consistency loss (RL-CycleGAN): a frozen task network must see the same thing before and after.

    ``L_task = E_x[||T(G(x)) - T(x)||_2^2]``  (mean squared error, summed over the network's outputs)

    ``T`` may return a tensor (e.g. predicted positions, Q-values or actions) or a sequence / mapping of
    tensors (e.g. intermediate features). ``T(x)`` is treated as a constant target (computed without
    gradient); gradients flow only through ``T(G(x))`` into the generator. Freeze ``T``'s parameters
    (``requires_grad_(False)``) and put it in ``eval()`` mode before training.
    """
    with torch.no_grad():
        targets = _flatten_outputs(task_network(original))
    outputs = _flatten_outputs(task_network(translated))
    if len(outputs) != len(targets):
        raise ValueError(f"task network returned {len(outputs)} outputs for translated vs {len(targets)}")
    return sum(
        (F.mse_loss(out.float(), tgt.float()) for out, tgt in zip(outputs, targets, strict=True)),
        start=torch.zeros((), device=translated.device),
    )


def label_consistency_loss(original: torch.Tensor, translated: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Label consistency with a simulator segmentation mask: object pixels keep their content.

    ``L_label = sum_p M_p * |G(x)_p - x_p| / (3 * sum_p M_p)``

    ``mask`` is ``(N, H, W)`` or ``(N, 1, H, W)`` with 1 on object pixels (float or bool). The loss is a mean
    absolute error over masked pixels and channels; it is 0 when the mask is empty.
    """
    if mask.ndim == 3:
        mask = mask[:, None]
    if mask.ndim != 4 or mask.shape[1] != 1 or mask.shape[-2:] != original.shape[-2:]:
        raise ValueError(
            f"mask must have shape (N, H, W) or (N, 1, H, W) matching images {tuple(original.shape)}, "
            f"got {tuple(mask.shape)}"
        )
    mask = mask.to(dtype=translated.dtype)
    weighted = (translated - original).abs() * mask
    denom = mask.sum() * original.shape[1]
    return weighted.sum() / denom.clamp_min(1.0)
