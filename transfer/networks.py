"""CycleGAN networks: a ResNet generator with resize-conv upsampling and a 70x70 PatchGAN discriminator.

Architecture follows Zhu et al. 2017 ("Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial
Networks", appendix 7.2) with one deliberate change: upsampling is nearest-neighbour resize followed by a
convolution instead of a transposed convolution, which removes checkerboard artifacts (Odena et al. 2016).

Image conventions of the public API: ``uint8`` numpy arrays ``(N, H, W, 3)`` or float tensors in ``[-1, 1]``
with layout ``(N, 3, H, W)``; :func:`~simreal.perception.images.images_to_tensor` and
:func:`~simreal.perception.images.tensor_to_images` convert between them.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from simreal.transfer.config import DiscriminatorConfig, GeneratorConfig, PaddingMode

__all__ = [
    "PatchDiscriminator",
    "ResnetGenerator",
    "init_weights",
]


class _InstanceNorm(nn.Module):
    """Instance norm without affine parameters or running stats, computed as group norm with one group per
    channel (the same function).

    Why not ``nn.InstanceNorm2d``: in torch 2.13 on CPU its backward returns wrong input gradients for batch
    size 1 when the output gradient is channels-last (what a channels-last network produces), it returns a
    contiguous tensor that the next channels-last convolution must copy back, and it is 2-10x slower than
    ``group_norm`` here. ``group_norm`` keeps the memory layout and its gradients match a float64 reference
    (regression test in tests/test_transfer_networks.py).
    """

    def __init__(self, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.group_norm(x, x.shape[1], eps=self.eps)


_RESIDUAL_CLAMP = 0.999  # atanh(0.999) = 3.8; tanh of it still rounds to uint8 255


def init_weights(module: nn.Module, generator: torch.Generator) -> None:
    """Paper initialisation: conv weights ~ N(0, 0.02), biases 0, drawn only from ``generator``."""
    for layer in module.modules():
        if isinstance(layer, nn.Conv2d):
            nn.init.normal_(layer.weight, 0.0, 0.02, generator=generator)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)


def _seeded_init(module: nn.Module, generator: torch.Generator | None) -> None:
    init_weights(module, generator if generator is not None else torch.Generator().manual_seed(0))


def _norm(channels: int) -> nn.Module:
    return _InstanceNorm()


def _conv(cin: int, cout: int, kernel: int, padding_mode: PaddingMode, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2, padding_mode=padding_mode, bias=True)


class _ResidualBlock(nn.Module):
    """``x + Norm(Conv(ReLU(Norm(Conv(x)))))`` with same-size convolutions."""

    def __init__(self, channels: int, kernel: int, padding_mode: PaddingMode) -> None:
        super().__init__()
        self.body = nn.Sequential(
            _conv(channels, channels, kernel, padding_mode),
            _norm(channels),
            nn.ReLU(inplace=True),
            _conv(channels, channels, kernel, padding_mode),
            _norm(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class _SeededNetwork(nn.Module):
    """Builds ``self.net`` from a config without touching the global torch RNG, then seeds its weights."""

    def __init__(self, config: GeneratorConfig | DiscriminatorConfig, generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.config = config
        with torch.random.fork_rng(devices=[]):
            self.net = self._build(config)
        _seeded_init(self, generator)
        if config.channels_last:
            self.to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # stubs lack memory_format

    @staticmethod
    def _build(config: Any) -> nn.Sequential:
        raise NotImplementedError


class ResnetGenerator(_SeededNetwork):
    """ResNet image-to-image generator mapping ``[-1, 1]`` NCHW images to images of the same shape.

    Layout: stem conv (``stem_kernel``) -> ``n_downsample`` stride-2 convs (doubling width) -> ``n_blocks``
    residual blocks -> ``n_downsample`` (nearest x2 upsample + conv) stages -> output conv -> tanh. With
    ``global_residual`` the output is ``tanh(net(x) + atanh(x))``: the network predicts a change in logit space,
    so it starts near the identity and preserves content (geometry) by construction.
    Height and width must be divisible by ``2 ** n_downsample``. Weights are initialised from ``generator``
    (seed 0 when None); the global torch RNG is neither used nor advanced.
    """

    config: GeneratorConfig

    @staticmethod
    def _build(c: GeneratorConfig) -> nn.Sequential:
        layers: list[nn.Module] = [
            _conv(3, c.ngf, c.stem_kernel, c.padding_mode),
            _norm(c.ngf),
            nn.ReLU(True),
        ]
        width = c.ngf
        for _ in range(c.n_downsample):
            layers += [_conv(width, width * 2, 3, c.padding_mode, stride=2), _norm(width * 2), nn.ReLU(True)]
            width *= 2
        layers += [_ResidualBlock(width, c.block_kernel, c.padding_mode) for _ in range(c.n_blocks)]
        for _ in range(c.n_downsample):
            layers += [
                nn.Upsample(scale_factor=2, mode="nearest"),
                _conv(width, width // 2, c.up_kernel, c.padding_mode),
                _norm(width // 2),
                nn.ReLU(True),
            ]
            width //= 2
        layers.append(_conv(width, 3, c.stem_kernel, c.padding_mode))
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        factor = 2**self.config.n_downsample
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"generator input must have shape (N, 3, H, W), got {tuple(x.shape)}")
        if x.shape[-1] % factor or x.shape[-2] % factor:
            raise ValueError(
                f"image height/width {tuple(x.shape[-2:])} must be divisible by 2**n_downsample = {factor}"
            )
        if self.config.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        logits = self.net(x)
        if self.config.global_residual:
            logits = logits + torch.atanh(x.clamp(-_RESIDUAL_CLAMP, _RESIDUAL_CLAMP))
        return torch.tanh(logits)


class PatchDiscriminator(_SeededNetwork):
    """PatchGAN discriminator; with ``n_layers=3`` each output logit sees a 70x70 input patch.

    C(ndf, no norm) -> C(2 ndf) -> ... (stride 2, 4x4 kernels, LeakyReLU 0.2) -> stride-1 conv -> 1 channel.
    Outputs raw scores (no sigmoid): LSGAN regresses them to 1 (real) / 0 (fake). Weights are initialised
    from ``generator`` (seed 0 when None).
    """

    config: DiscriminatorConfig

    @staticmethod
    def _build(config: DiscriminatorConfig) -> nn.Sequential:
        ndf, n = config.ndf, config.n_layers
        layers: list[nn.Module] = [nn.Conv2d(3, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        width = ndf
        for i in range(1, n + 1):
            out = ndf * min(2**i, 8)
            stride = 2 if i < n else 1
            layers += [nn.Conv2d(width, out, 4, stride, 1), _norm(out), nn.LeakyReLU(0.2, True)]
            width = out
        layers.append(nn.Conv2d(width, 1, 4, 1, 1))
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"discriminator input must have shape (N, 3, H, W), got {tuple(x.shape)}")
        if self.config.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return self.net(x)
