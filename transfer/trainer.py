"""CycleGAN training loop with optional task and label consistency, sample grids and resumable checkpoints.

Determinism: every random draw (weight init, batch sampling, image pool) comes from one seeded
``torch.Generator``; the global torch RNG is not used. On CPU, two runs with the same seed, data, torch
version and thread count produce bitwise-identical weights. On CUDA, cuDNN kernels are not bitwise
deterministic unless you call ``torch.use_deterministic_algorithms(True)`` (and set
``CUBLAS_WORKSPACE_CONFIG``) yourself.
"""

from __future__ import annotations

import csv
import io
import itertools
import os
from pathlib import Path
from typing import Any

import imageio.v3 as iio
import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from simreal.atomic import atomic_write
from simreal.perception.images import images_to_tensor, tensor_to_images
from simreal.transfer import losses as L
from simreal.transfer.checkpoint import load_checkpoint, save_checkpoint
from simreal.transfer.config import CycleGANConfig, CycleGANRun
from simreal.transfer.networks import PatchDiscriminator, ResnetGenerator
from simreal.transfer.pool import ImagePool

__all__ = ["CHECKPOINT_NAME", "CycleGANTrainer", "train_cyclegan"]

CHECKPOINT_NAME = "checkpoint.pt"
_N_SAMPLES = 4


class CycleGANTrainer:
    """Two generators (``G_sim2real``: source -> target, ``G_real2sim``: target -> source), two PatchGAN
    discriminators, Adam optimisers and image pools; one :meth:`train_step` per batch.

    ``task_network`` (optional) is put in eval mode with gradients disabled and must accept ``[-1, 1]`` NCHW
    images; it adds ``lambda_task * ||T(F(G(x))) - T(x)||^2`` on simulation images ``x`` (a task-space cycle
    through both generators, so a sim-trained ``T`` only ever reads sim-domain images).

    ``semantic_network`` (optional, frozen likewise) is CyCADA's semantic consistency (Hoffman et al. 2018): its
    output must not change under translation in either direction, ``lambda_semantic * (||S(G(x)) - S(x)||^2 +
    ||S(F(y)) - S(y)||^2)``. Unlike ``T`` it reads both domains, so it must work on both: e.g. a
    domain-randomized detector (a sim-only one anchors ``F`` to its wrong answers on real frames).
    """

    def __init__(
        self,
        config: CycleGANConfig,
        seed: int,
        device: torch.device | str = "cpu",
        task_network: nn.Module | None = None,
        semantic_network: nn.Module | None = None,
    ) -> None:
        self.config = config
        self.device = torch.device(device)
        self.rng = torch.Generator().manual_seed(int(seed))
        gen_cfg, disc_cfg = config.generator, config.discriminator
        self.models: dict[str, nn.Module] = {
            "G_sim2real": ResnetGenerator(gen_cfg, self.rng),
            "G_real2sim": ResnetGenerator(gen_cfg, self.rng),
            "D_real": PatchDiscriminator(disc_cfg, self.rng),
            "D_sim": PatchDiscriminator(disc_cfg, self.rng),
        }
        for model in self.models.values():
            model.to(self.device).train()
        betas = (config.beta1, config.beta2)
        gen_params = itertools.chain(self.models["G_sim2real"].parameters(), self.models["G_real2sim"].parameters())
        disc_params = itertools.chain(self.models["D_real"].parameters(), self.models["D_sim"].parameters())
        self.optimizers = {
            "G": torch.optim.Adam(gen_params, lr=config.lr, betas=betas),
            "D": torch.optim.Adam(disc_params, lr=config.lr, betas=betas),
        }
        self.pools = {
            "real": ImagePool(config.pool_size, self.rng),
            "sim": ImagePool(config.pool_size, self.rng),
        }
        self.task_network = task_network
        self.semantic_network = semantic_network
        for frozen in (task_network, semantic_network):
            if frozen is not None:
                frozen.to(self.device).eval().requires_grad_(False)
        self.step = 0
        self.history: list[dict[str, float]] = []

    def learning_rate(self, total_steps: int) -> float:
        """Paper schedule: constant for the first ``decay_start`` fraction, then linear decay to 0."""
        start = int(self.config.decay_start * total_steps)
        if self.step < start or total_steps <= start:
            return self.config.lr
        return self.config.lr * max(0.0, (total_steps - self.step) / (total_steps - start))

    def sample_batch(
        self, source: np.ndarray, target: np.ndarray, masks: np.ndarray | None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Draw a random batch (with replacement) from each domain using the trainer's generator."""
        n = self.config.batch_size
        i = torch.randint(len(source), (n,), generator=self.rng).numpy()
        j = torch.randint(len(target), (n,), generator=self.rng).numpy()
        cl = self.config.generator.channels_last
        x = images_to_tensor(source[i], self.device, channels_last=cl)
        y = images_to_tensor(target[j], self.device, channels_last=cl)
        m = torch.from_numpy(masks[i].astype(np.float32)).to(self.device) if masks is not None else None
        return x, y, m

    def _generator_losses(
        self, x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor | None
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor], torch.Tensor, torch.Tensor]:
        c = self.config
        g, f = self.models["G_sim2real"], self.models["G_real2sim"]
        fake_y, fake_x = g(x), f(y)
        recovered_x = f(fake_y)
        terms: dict[str, torch.Tensor] = {
            "gan_sim2real": L.lsgan_generator_loss(self.models["D_real"](fake_y)),
            "gan_real2sim": L.lsgan_generator_loss(self.models["D_sim"](fake_x)),
            "cycle": L.cycle_loss(recovered_x, x) + L.cycle_loss(g(fake_x), y),
        }
        total = terms["gan_sim2real"] + terms["gan_real2sim"] + c.lambda_cycle * terms["cycle"]
        if c.lambda_identity > 0:
            terms["identity"] = L.identity_loss(g(y), y) + L.identity_loss(f(x), x)
            total = total + c.lambda_cycle * c.lambda_identity * terms["identity"]
        if self.task_network is not None and c.lambda_task > 0:
            # The task network is trained on simulation only, so it is asked about sim-domain images only:
            # T(F(G(x))) = T(x). Tying T(F(y)) to T(y) on real frames would anchor F to T's wrong answers there
            # (measured: the generator then collapsed to the identity).
            terms["task"] = L.task_consistency_loss(self.task_network, x, recovered_x)
            total = total + c.lambda_task * terms["task"]
        if self.semantic_network is not None and c.lambda_semantic > 0:
            terms["semantic"] = L.task_consistency_loss(self.semantic_network, x, fake_y) + L.task_consistency_loss(
                self.semantic_network, y, fake_x
            )
            total = total + c.lambda_semantic * terms["semantic"]
        if mask is not None and c.lambda_label > 0:
            terms["label"] = L.label_consistency_loss(x, fake_y, mask)
            total = total + c.lambda_label * terms["label"]
        return total, terms, fake_x, fake_y

    def train_step(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        mask: torch.Tensor | None = None,
        total_steps: int | None = None,
    ) -> dict[str, float]:
        """One generator and one discriminator update on source batch ``x`` and target batch ``y``.

        Returns the loss terms as floats (also appended to :attr:`history`).
        """
        lr = self.learning_rate(total_steps) if total_steps else self.config.lr
        for opt in self.optimizers.values():
            for group in opt.param_groups:
                group["lr"] = lr
        discriminators = (self.models["D_real"], self.models["D_sim"])
        for d in discriminators:
            d.requires_grad_(False)
        total, terms, fake_x, fake_y = self._generator_losses(x, y, mask)
        self.optimizers["G"].zero_grad(set_to_none=True)
        total.backward()
        self.optimizers["G"].step()
        for d in discriminators:
            d.requires_grad_(True)
        pooled_y = self.pools["real"].query(fake_y)
        pooled_x = self.pools["sim"].query(fake_x)
        d_real = L.lsgan_discriminator_loss(self.models["D_real"](y), self.models["D_real"](pooled_y))
        d_sim = L.lsgan_discriminator_loss(self.models["D_sim"](x), self.models["D_sim"](pooled_x))
        self.optimizers["D"].zero_grad(set_to_none=True)
        (d_real + d_sim).backward()
        self.optimizers["D"].step()
        self.step += 1
        record = {name: float(value.detach()) for name, value in terms.items()}
        record.update(
            generator_total=float(total.detach()),
            D_real=float(d_real.detach()),
            D_sim=float(d_sim.detach()),
            lr=lr,
        )
        self.history.append(record)
        return record

    def state_dict(self) -> dict[str, Any]:
        """Checkpoint payload: config dict, step, model/optimizer states, RNG, pools and loss history."""
        return {
            "config": self.config.to_dict(),
            "step": self.step,
            "models": {name: m.state_dict() for name, m in self.models.items()},
            "optimizers": {name: o.state_dict() for name, o in self.optimizers.items()},
            "rng": self.rng.get_state(),
            "pools": {name: p.state_dict() for name, p in self.pools.items()},
            "history": self.history,
        }

    def load_state_dict(self, state: dict[str, Any], source: str = "checkpoint") -> None:
        """Restore from :meth:`state_dict`; the architecture must match (ValueError naming ``source``)."""
        stored = state["config"]
        if not isinstance(stored, CycleGANConfig):
            stored = CycleGANConfig.from_dict(stored)
        if (stored.generator, stored.discriminator) != (self.config.generator, self.config.discriminator):
            raise ValueError(
                f"{source} was trained with generator={stored.generator}, "
                f"discriminator={stored.discriminator}; the requested config has "
                f"generator={self.config.generator}, discriminator={self.config.discriminator}"
            )
        try:
            for name, model in self.models.items():
                model.load_state_dict(state["models"][name])
            for name, opt in self.optimizers.items():
                opt.load_state_dict(state["optimizers"][name])
            for name, pool in self.pools.items():
                pool.load_state_dict(state["pools"][name], self.device)
            self.rng.set_state(state["rng"])
        except (KeyError, RuntimeError, ValueError) as exc:
            raise ValueError(f"{source} does not hold a compatible trainer state: {exc}") from exc
        self.step = int(state["step"])
        self.history = list(state.get("history", []))

    @torch.no_grad()
    def sample_grid(self, x: torch.Tensor, y: torch.Tensor) -> np.ndarray:
        """Rows ``x | G(x) | F(G(x))`` and ``y | F(y) | G(F(y))`` per sample image, as one uint8 image."""
        g, f = self.models["G_sim2real"], self.models["G_real2sim"]
        for model in (g, f):
            model.eval()
        fake_y, fake_x = g(x), f(y)
        rows = [torch.cat(list(t), dim=-1) for t in ((x, fake_y, f(fake_y)), (y, fake_x, g(fake_x)))]
        for model in (g, f):
            model.train()
        columns = [torch.cat([rows[0][k], rows[1][k]], dim=-2) for k in range(len(x))]
        grid = torch.cat(columns, dim=-2)[None]
        return tensor_to_images(grid)[0]


def _write_history(path: Path, history: list[dict[str, float]]) -> None:
    keys = sorted({key for record in history for key in record})
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["step", *keys])
    writer.writeheader()
    for step, record in enumerate(history, start=1):
        writer.writerow({"step": step, **record})
    atomic_write(path, lambda tmp: tmp.write_text(buffer.getvalue()))


def _validate_images(name: str, images: np.ndarray, size: int) -> None:
    if not isinstance(images, np.ndarray) or images.dtype != np.uint8 or images.ndim != 4:
        raise ValueError(f"{name} must be a uint8 array (N, H, W, 3), got {getattr(images, 'shape', images)!r}")
    if images.shape[1:] != (size, size, 3) or len(images) == 0:
        raise ValueError(f"{name} must have shape (N>=1, {size}, {size}, 3) (config.image_size), got {images.shape}")


def _fixed_batch(images: np.ndarray, seed: int, device: torch.device, cl: bool) -> torch.Tensor:
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed)).numpy()
    return images_to_tensor(images[order[:_N_SAMPLES]], device, channels_last=cl)


def train_cyclegan(
    source: np.ndarray,
    target: np.ndarray,
    config: CycleGANConfig,
    out_dir: str | os.PathLike[str],
    run: CycleGANRun,
    *,
    task_network: nn.Module | None = None,
    semantic_network: nn.Module | None = None,
    source_masks: np.ndarray | None = None,
) -> Path:
    """Train a CycleGAN between ``source`` (simulation) and ``target`` (real) uint8 images ``(N, H, W, 3)``.

    ``run`` gives the steps, seed, resume flag, device and progress bar (:class:`CycleGANRun`). Writes
    ``out_dir/checkpoint.pt`` every ``config.checkpoint_every`` steps and at the end (atomically),
    ``out_dir/losses.csv`` with the per-step loss terms, and ``out_dir/samples/step_XXXXXXX.png`` grids every
    ``config.sample_every`` steps. With ``run.resume`` an existing checkpoint in ``out_dir`` is continued (its
    architecture must match ``config``) up to ``run.steps`` total steps, bitwise as if uninterrupted on CPU when
    ``steps`` is unchanged (the LR decay follows the ``steps`` of the current call); without it, training
    restarts and overwrites the checkpoint. ``source_masks`` ``(N, H, W)`` (bool/0-1, object pixels) enables
    the label-consistency loss; ``semantic_network`` the semantic-consistency loss (see :class:`CycleGANTrainer`).
    Returns the checkpoint path.
    """
    _validate_images("source", source, config.image_size)
    _validate_images("target", target, config.image_size)
    if source_masks is not None and (source_masks.shape != source.shape[:3]):
        raise ValueError(f"source_masks must have shape {source.shape[:3]}, got {source_masks.shape}")
    steps, seed = run.steps, run.seed
    out = Path(out_dir)
    (out / "samples").mkdir(parents=True, exist_ok=True)
    ckpt_path = out / CHECKPOINT_NAME
    trainer = CycleGANTrainer(
        config, seed, device=run.device, task_network=task_network, semantic_network=semantic_network
    )
    if run.resume and ckpt_path.exists():
        trainer.load_state_dict(load_checkpoint(ckpt_path, map_location=trainer.device), source=str(ckpt_path))
    cl = config.generator.channels_last
    fixed = (
        _fixed_batch(source, seed, trainer.device, cl),
        _fixed_batch(target, seed + 1, trainer.device, cl),
    )

    def checkpoint() -> None:
        save_checkpoint(ckpt_path, trainer.state_dict())
        _write_history(out / "losses.csv", trainer.history)

    bar = tqdm(total=steps, initial=min(trainer.step, steps), disable=not run.progress, desc="cyclegan")
    while trainer.step < steps:
        x, y, m = trainer.sample_batch(source, target, source_masks)
        record = trainer.train_step(x, y, m, total_steps=steps)
        bar.update(1)
        if trainer.step % 10 == 0:
            bar.set_postfix(cyc=f"{record['cycle']:.3f}", D=f"{record['D_real'] + record['D_sim']:.3f}")
        if config.sample_every and trainer.step % config.sample_every == 0:
            grid = trainer.sample_grid(*fixed)
            png = out / "samples" / f"step_{trainer.step:07d}.png"
            atomic_write(png, lambda tmp, grid=grid: iio.imwrite(tmp, grid, extension=".png"))
        if config.checkpoint_every and trainer.step % config.checkpoint_every == 0 and trainer.step < steps:
            checkpoint()
    bar.close()
    checkpoint()
    return ckpt_path
