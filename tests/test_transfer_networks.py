"""Shapes, conversions and config validation of the CycleGAN networks."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import numpy as np
import pytest
import torch

from simreal.perception.images import images_to_tensor, tensor_to_images
from simreal.transfer.config import CycleGANConfig, DiscriminatorConfig, GeneratorConfig
from simreal.transfer.networks import PatchDiscriminator, ResnetGenerator


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Iterator[None]:
    """One intra-op thread: with 2 threads, OpenMP barriers stall for seconds when other processes share the
    2 cores (measured 0.15 s vs 1-8 s per training step under load)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.mark.parametrize("preset", ["reference", "fast"])
@pytest.mark.parametrize("size", [32, 64, 96])
def test_generator_and_discriminator_shapes(preset: str, size: int) -> None:
    config = CycleGANConfig.preset(preset, image_size=size)
    gen, disc = ResnetGenerator(config.generator), PatchDiscriminator(config.discriminator)
    x = torch.rand(2, 3, size, size, generator=torch.Generator().manual_seed(0)) * 2 - 1
    with torch.inference_mode():
        y = gen(x)
        scores = disc(y)
    assert y.shape == x.shape
    assert float(y.min()) >= -1.0
    assert float(y.max()) <= 1.0
    # 70x70 PatchGAN: three stride-2 convs, then two stride-1 4x4 convs (each shrinks the map by 1).
    assert scores.shape == (2, 1, size // 8 - 2, size // 8 - 2)


def test_presets_follow_the_paper_and_fast_is_smaller() -> None:
    ref64, ref256 = CycleGANConfig.preset("reference"), CycleGANConfig.preset("reference", image_size=256)
    assert (ref64.generator.ngf, ref64.generator.n_blocks, ref64.generator.stem_kernel) == (64, 6, 7)
    assert ref256.generator.n_blocks == 9
    fast = CycleGANConfig.preset("fast")
    n_ref = sum(p.numel() for p in ResnetGenerator(ref64.generator).parameters())
    n_fast = sum(p.numel() for p in ResnetGenerator(fast.generator).parameters())
    assert n_fast * 20 < n_ref
    assert fast.generator.channels_last


def test_global_residual_generator_starts_at_identity() -> None:
    config = dataclasses.replace(CycleGANConfig.preset("fast").generator, global_residual=True)
    gen = ResnetGenerator(config)
    torch.nn.init.zeros_(gen.net[-1].weight)  # a zero change in logit space
    images = np.random.default_rng(0).integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)
    with torch.inference_mode():
        out = tensor_to_images(gen(images_to_tensor(images)))
    assert np.abs(out.astype(int) - images.astype(int)).max() <= 1


@pytest.mark.parametrize("batch", [1, 2])
@pytest.mark.parametrize("layout", ["contiguous", "channels_last"])
def test_instance_norm_values_and_gradients_match_float64(batch: int, layout: str) -> None:
    from simreal.transfer.networks import _InstanceNorm

    rng = torch.Generator().manual_seed(0)
    x = torch.randn(batch, 16, 8, 8, generator=rng)
    grad_out = torch.randn(batch, 16, 8, 8, generator=rng)
    x64 = x.double().requires_grad_(True)
    expected = torch.nn.functional.instance_norm(x64)
    expected.backward(grad_out.double())
    fmt = torch.channels_last if layout == "channels_last" else torch.contiguous_format
    xi = x.contiguous(memory_format=fmt).requires_grad_(True)
    out = _InstanceNorm()(xi)
    # A channels-last output gradient: torch's own instance_norm backward is wrong here for batch 1.
    out.backward(grad_out.contiguous(memory_format=torch.channels_last))
    assert out.is_contiguous(memory_format=fmt)
    torch.testing.assert_close(out, expected.float().detach())
    torch.testing.assert_close(xi.grad, x64.grad.float())


def test_fast_generator_keeps_channels_last_layout() -> None:
    gen = ResnetGenerator(CycleGANConfig.preset("fast").generator)
    with torch.inference_mode():
        out = gen(torch.zeros(1, 3, 32, 32))
    assert out.is_contiguous(memory_format=torch.channels_last)


def test_construction_is_seeded_and_leaves_global_rng_alone() -> None:
    config = CycleGANConfig.preset("fast").generator
    state = torch.random.get_rng_state()
    a = ResnetGenerator(config, torch.Generator().manual_seed(3))
    b = ResnetGenerator(config, torch.Generator().manual_seed(3))
    c = ResnetGenerator(config, torch.Generator().manual_seed(4))
    assert torch.equal(torch.random.get_rng_state(), state)
    for pa, pb, _pc in zip(a.parameters(), b.parameters(), c.parameters(), strict=True):
        assert torch.equal(pa, pb)
    assert not all(torch.equal(pa, pc) for pa, pc in zip(a.parameters(), c.parameters(), strict=True))


def test_image_conversion_round_trip() -> None:
    images = np.random.default_rng(0).integers(0, 256, (3, 8, 12, 3), dtype=np.uint8)
    t = images_to_tensor(images)
    assert t.shape == (3, 3, 8, 12)
    assert t.dtype == torch.float32
    assert float(t.min()) >= -1.0
    assert float(t.max()) <= 1.0
    np.testing.assert_array_equal(tensor_to_images(t), images)
    assert images_to_tensor(images[0]).shape == (1, 3, 8, 12)
    assert images_to_tensor(images, channels_last=True).is_contiguous(memory_format=torch.channels_last)
    np.testing.assert_array_equal(tensor_to_images(torch.full((1, 3, 2, 2), 5.0)), 255)


def test_bad_inputs_raise_value_error() -> None:
    with pytest.raises(ValueError, match="uint8"):
        images_to_tensor(np.zeros((1, 4, 4, 3), dtype=np.float32))
    with pytest.raises(ValueError, match=r"\(N, H, W, 3\)"):
        images_to_tensor(np.zeros((1, 4, 4, 4), dtype=np.uint8))
    gen = ResnetGenerator(CycleGANConfig.preset("fast").generator)
    with pytest.raises(ValueError, match="divisible"):
        gen(torch.zeros(1, 3, 30, 32))
    with pytest.raises(ValueError, match="ngf"):
        GeneratorConfig(ngf=0)
    with pytest.raises(ValueError, match="odd"):
        GeneratorConfig(block_kernel=4)
    with pytest.raises(ValueError, match="padding_mode"):
        GeneratorConfig(padding_mode="circle")
    with pytest.raises(ValueError, match="n_layers"):
        DiscriminatorConfig(n_layers=0)
    with pytest.raises(ValueError, match="preset"):
        CycleGANConfig.preset("huge")
    with pytest.raises(ValueError, match="image_size"):
        CycleGANConfig.preset("fast", image_size=30)


def test_config_dict_round_trip_and_unknown_keys() -> None:
    config = CycleGANConfig.preset("fast", image_size=32, lambda_task=2.0)
    assert CycleGANConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="unknown CycleGANConfig keys"):
        CycleGANConfig.from_dict({**config.to_dict(), "lamda_cycle": 1.0})
    bad = config.to_dict()
    bad["generator"]["width"] = 3
    with pytest.raises(ValueError, match="unknown GeneratorConfig keys"):
        CycleGANConfig.from_dict(bad)
    with pytest.raises(AttributeError):
        config.lr = 1.0  # type: ignore[misc]
