"""Frozen configuration dataclasses and presets for CycleGAN transfer.

Presets (:meth:`CycleGANConfig.preset`):

* ``reference``: the paper's networks (Zhu et al. 2017): ngf=64, 7x7 stem/output convs, two stride-2
  downsamplings, 9 residual blocks at >= 256 px and 6 below (as the paper does for 128 px), reflection
  padding, 70x70 PatchGAN with ndf=64.
* ``fast``: designed for CPU real time in an RL loop: ngf=16 (a multiple of 16 keeps oneDNN on its fast
  path; ngf=24 measured 1.5-3x slower than 16 on 2 cores), 3x3 kernels everywhere, 3 residual blocks at
  the bottleneck, channels-last memory layout, zero padding (reflection padding took 18% of the forward
  time; on a toy colour shift the two paddings trained alike), no identity loss and no global residual
  (``GeneratorConfig.global_residual`` remains an option): with both, the small generator stayed at the identity
  on Push canonical <-> real; without them the canonical-trained localization CNN's error on translated real
  frames fell from 14 cm to 2.9 cm in 1500 steps; discriminator ndf=32. 0.107 vs 2.64 GMAC per 64 px image
  (24.6x fewer than ``reference``); ``benchmarks/transfer_throughput.py`` measures the speed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "PRESETS",
    "RCAN_DOWNSAMPLE",
    "CycleGANConfig",
    "CycleGANRun",
    "DiscriminatorConfig",
    "GeneratorConfig",
    "PaddingMode",
]

PaddingMode = Literal["reflect", "zeros", "replicate"]

PRESETS = ("reference", "fast")
RCAN_DOWNSAMPLE = (1, 2, 3)  # an RCAN generator's stride-2 stages: a 64 px frame's bottleneck is 32, 16 or 8 px
_PADDING_MODES = ("reflect", "zeros", "replicate")


def _check_int(name: str, value: Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be an int in [{low}, {high}], got {value!r}")


def _check_float(name: str, value: Any, low: float, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise ValueError(f"{name} must be a number in [{low}, {high}], got {value!r}")


def _from_dict(cls: type, data: dict[str, Any]) -> Any:
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ValueError(f"unknown {cls.__name__} keys {unknown}; allowed: {sorted(names)}")
    return cls(**data)


@dataclass(frozen=True)
class GeneratorConfig:
    """ResNet generator shape. Kernel sizes must be odd (same-size padding)."""

    ngf: int = 64
    n_blocks: int = 9
    n_downsample: int = 2
    stem_kernel: int = 7
    block_kernel: int = 3
    up_kernel: int = 3
    padding_mode: PaddingMode = "reflect"
    channels_last: bool = False
    global_residual: bool = False

    def __post_init__(self) -> None:
        _check_int("ngf", self.ngf, 1, 1024)
        _check_int("n_blocks", self.n_blocks, 0, 64)
        _check_int("n_downsample", self.n_downsample, 0, 5)
        for name in ("stem_kernel", "block_kernel", "up_kernel"):
            value = getattr(self, name)
            _check_int(name, value, 1, 15)
            if value % 2 == 0:
                raise ValueError(f"{name} must be odd, got {value}")
        if self.padding_mode not in _PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {_PADDING_MODES}, got {self.padding_mode!r}")
        for name in ("channels_last", "global_residual"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be a bool, got {getattr(self, name)!r}")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GeneratorConfig:
        """Build from a mapping; unknown keys raise ValueError."""
        return _from_dict(cls, data)


@dataclass(frozen=True)
class DiscriminatorConfig:
    """PatchGAN discriminator shape; ``n_layers=3`` gives the 70x70 receptive field."""

    ndf: int = 64
    n_layers: int = 3
    channels_last: bool = False

    def __post_init__(self) -> None:
        _check_int("ndf", self.ndf, 1, 1024)
        _check_int("n_layers", self.n_layers, 1, 6)
        if not isinstance(self.channels_last, bool):
            raise ValueError(f"channels_last must be a bool, got {self.channels_last!r}")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DiscriminatorConfig:
        """Build from a mapping; unknown keys raise ValueError."""
        return _from_dict(cls, data)


@dataclass(frozen=True)
class CycleGANConfig:
    """Networks plus training hyper-parameters (paper defaults: Adam 2e-4 / (0.5, 0.999), pool 50,
    lambda_cycle 10, identity 0.5 * lambda_cycle, constant LR for the first half then linear decay to 0)."""

    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    discriminator: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)
    image_size: int = 64
    batch_size: int = 1
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    pool_size: int = 50
    lambda_cycle: float = 10.0
    lambda_identity: float = 0.5
    lambda_task: float = 1.0
    lambda_label: float = 1.0
    lambda_semantic: float = 1.0
    decay_start: float = 0.5
    sample_every: int = 500
    checkpoint_every: int = 1000

    def __post_init__(self) -> None:
        if not isinstance(self.generator, GeneratorConfig):
            raise ValueError(f"generator must be a GeneratorConfig, got {type(self.generator).__name__}")
        if not isinstance(self.discriminator, DiscriminatorConfig):
            raise ValueError(f"discriminator must be a DiscriminatorConfig, got {type(self.discriminator).__name__}")
        _check_int("image_size", self.image_size, 8, 4096)
        factor = 2**self.generator.n_downsample
        if self.image_size % factor:
            raise ValueError(f"image_size must be divisible by 2**n_downsample = {factor}, got {self.image_size}")
        _check_int("batch_size", self.batch_size, 1, 4096)
        _check_float("lr", self.lr, 0.0, 1.0)
        _check_float("beta1", self.beta1, 0.0, 0.999999)
        _check_float("beta2", self.beta2, 0.0, 0.999999)
        _check_int("pool_size", self.pool_size, 0, 100_000)
        for name in ("lambda_cycle", "lambda_identity", "lambda_task", "lambda_label", "lambda_semantic"):
            _check_float(name, getattr(self, name), 0.0, 1e6)
        _check_float("decay_start", self.decay_start, 0.0, 1.0)
        _check_int("sample_every", self.sample_every, 0, 10**9)
        _check_int("checkpoint_every", self.checkpoint_every, 0, 10**9)

    @classmethod
    def preset(cls, name: str, image_size: int = 64, **overrides: Any) -> CycleGANConfig:
        """Return preset ``name`` (``"reference"`` or ``"fast"``) for ``image_size``, with field overrides."""
        if name == "reference":
            gen = GeneratorConfig(ngf=64, n_blocks=9 if image_size >= 256 else 6)
            disc = DiscriminatorConfig(ndf=64)
        elif name == "fast":
            gen = GeneratorConfig(
                ngf=16,
                n_blocks=3,
                n_downsample=2,
                stem_kernel=3,
                block_kernel=3,
                up_kernel=3,
                padding_mode="zeros",
                channels_last=True,
            )
            disc = DiscriminatorConfig(ndf=32, channels_last=True)
        else:
            raise ValueError(f"preset must be one of {PRESETS}, got {name!r}")
        data: dict[str, Any] = {"generator": gen, "discriminator": disc, "image_size": image_size}
        if name == "fast":
            # Measured on Push canonical <-> real (1500 steps): with the identity loss and a global residual the
            # small generator stayed at the identity (localization error on translated real frames 14 cm, as
            # untranslated); without both it fell to 2.9 cm (canonical: 0.7 cm).
            data["lambda_identity"] = 0.0
        data.update(overrides)
        return _from_dict(cls, data)

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict (JSON/YAML-safe) that :meth:`from_dict` turns back into an equal config."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CycleGANConfig:
        """Build from a (nested) mapping; unknown keys raise ValueError."""
        data = dict(data)
        if isinstance(data.get("generator"), dict):
            data["generator"] = GeneratorConfig.from_dict(data["generator"])
        if isinstance(data.get("discriminator"), dict):
            data["discriminator"] = DiscriminatorConfig.from_dict(data["discriminator"])
        return _from_dict(cls, data)


@dataclass(frozen=True)
class CycleGANRun:
    """How one :func:`~simreal.transfer.trainer.train_cyclegan` call runs: total ``steps``, the ``seed`` of every
    random draw, whether to ``resume`` an existing checkpoint, the torch ``device`` and the progress bar. Not stored
    in the checkpoint (the LR decay follows the ``steps`` of the current call)."""

    steps: int
    seed: int
    resume: bool = True
    device: str = "cpu"
    progress: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or self.steps < 1:
            raise ValueError(f"steps must be an int >= 1, got {self.steps!r}")
