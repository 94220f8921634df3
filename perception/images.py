"""The image convention of every image model in simreal: uint8 ``(N, H, W, 3)`` arrays <-> float ``[-1, 1]``
``(N, 3, H, W)`` tensors, and the appearance augmentation used to train them.

One scale for all (``x / 127.5 - 1``): the localization CNN, the point detectors (also inside
:class:`~simreal.perception.goal_perception.GoalPerception`) and the CycleGAN/RCAN translators read and write it.
Perception's models run on channels-last tensors (``channels_last=True``: the memory layout of the camera's HWC
array, with which their numbers were measured); the translators pick their layout from their config.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

__all__ = [
    "augment_appearance",
    "augment_images",
    "images_to_tensor",
    "random_shift",
    "tensor_to_images",
]


def images_to_tensor(
    images: np.ndarray, device: torch.device | str = "cpu", channels_last: bool = False
) -> torch.Tensor:
    """Convert ``uint8`` images ``(N, H, W, 3)`` (or one ``(H, W, 3)``) to a ``[-1, 1]`` NCHW float tensor."""
    if not isinstance(images, np.ndarray) or images.dtype != np.uint8:
        raise ValueError(f"images must be a uint8 numpy array, got {type(images).__name__}")
    if images.ndim == 3:
        images = images[None]
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"images must have shape (N, H, W, 3), got {images.shape}")
    t = torch.from_numpy(np.ascontiguousarray(images)).to(device)
    t = t.permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)
    return t.contiguous(memory_format=torch.channels_last if channels_last else torch.contiguous_format)


def tensor_to_images(tensor: torch.Tensor) -> np.ndarray:
    """Convert a ``[-1, 1]`` NCHW float tensor to ``uint8`` images ``(N, H, W, 3)`` (values are clamped)."""
    if tensor.ndim != 4 or tensor.shape[1] != 3:
        raise ValueError(f"tensor must have shape (N, 3, H, W), got {tuple(tensor.shape)}")
    t = tensor.detach().clamp(-1.0, 1.0).add(1.0).mul_(127.5).round_()
    return t.to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy().copy()


def _blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur (5 taps, edge-replicated) of NCHW images."""
    taps = torch.arange(-2.0, 3.0)
    kernel = torch.exp(-(taps**2) / (2.0 * sigma**2))
    kernel = (kernel / kernel.sum()).to(images.dtype)
    channels = images.shape[1]
    horizontal = kernel.view(1, 1, 1, 5).repeat(channels, 1, 1, 1)
    images = nn.functional.conv2d(
        nn.functional.pad(images, (2, 2, 0, 0), mode="replicate"), horizontal, groups=channels
    )
    vertical = kernel.view(1, 1, 5, 1).repeat(channels, 1, 1, 1)
    return nn.functional.conv2d(nn.functional.pad(images, (0, 0, 2, 2), mode="replicate"), vertical, groups=channels)


def augment_appearance(images: torch.Tensor, generator: torch.Generator, shuffle_channels: bool = True) -> torch.Tensor:
    """Appearance-only randomization of a ``[-1, 1]`` NCHW batch (geometry untouched, so pixel labels stay valid):
    a random RGB channel order when ``shuffle_channels`` (per image: rotates hues, so no object colour is special;
    leave it off when an object's colour is the cue, like a goal marker that looks the same in every domain), blur
    (sigma ~ U(0, 1.2), per batch), per-image colour gain (+-20% per channel) and brightness (+-0.15) and Gaussian
    noise (std ~ U(0, 0.08)). Not clamped."""
    n = images.shape[0]
    if shuffle_channels:
        orders = torch.stack([torch.randperm(3, generator=generator) for _ in range(n)])
        images = torch.gather(images, 1, orders.view(n, 3, 1, 1).expand_as(images))
    sigma = 1.2 * float(torch.rand((), generator=generator))
    if sigma > 0.3:
        images = _blur(images, sigma)
    gain = 1.0 + 0.4 * (torch.rand(n, 3, 1, 1, generator=generator) - 0.5)
    bias = 0.3 * (torch.rand(n, 1, 1, 1, generator=generator) - 0.5)
    images = (images + 1.0) * gain - 1.0 + bias
    std = 0.08 * torch.rand(n, 1, 1, 1, generator=generator)
    return images + std * torch.randn(images.shape, generator=generator)


def random_shift(images: torch.Tensor, generator: torch.Generator, max_shift: int) -> tuple[torch.Tensor, int, int]:
    """Roll a NCHW batch by one random ``(dx, dy)`` in ``[-max_shift, max_shift]`` pixels; returns it and the shift."""
    dx, dy = (int(v) for v in torch.randint(-max_shift, max_shift + 1, (2,), generator=generator))
    return torch.roll(images, shifts=(dy, dx), dims=(2, 3)), dx, dy


def augment_images(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """:func:`augment_appearance` plus a shift of up to 2 pixels (per batch), clamped to ``[-1, 1]``. Labels are
    unchanged: the net must not rely on exact colours or framing."""
    shifted, _, _ = random_shift(augment_appearance(images, generator), generator, 2)
    return shifted.clamp_(-1.0, 1.0)
