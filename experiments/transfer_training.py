"""Training the transfer experiment's models (:mod:`simreal.experiments.transfer`): the canonical task detector,
the domain-randomized probe detector and its threshold, RCAN, and a plain and a semantic CycleGAN per lab; each
saved in ``models.json`` as soon as it is trained, so a rerun with the same training settings resumes."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

import torch
from torch import nn

from simreal.data.eval_domains import domain_seed
from simreal.experiments.block_frames import (
    CAMERA,
    ENV_ID,
    N_VALIDATION,
    LocalizationFrames,
    detector_threshold,
    read_json,
    seeded_frames,
    write_json,
)
from simreal.experiments.config import TransferConfig
from simreal.perception.checkpoint import load_model, save_model
from simreal.perception.detector import DetectorSettings, PointDetector, train_point_detector
from simreal.perception.training import FitSettings
from simreal.transfer.config import CycleGANConfig, CycleGANRun
from simreal.transfer.paired import Pairing, paired_frames
from simreal.transfer.rcan import RCANConfig, train_rcan
from simreal.transfer.trainer import train_cyclegan

__all__ = ["GAN_METHODS", "MODELS_FILE", "HeatmapTask", "TrainedModels", "train_models", "transfer_settings"]

MODELS_FILE = "models.json"
GAN_METHODS = ("cyclegan", "semantic_cyclegan")


class HeatmapTask(nn.Module):
    """A detector's heatmap as ``sqrt(p * cells)`` (N, cells): the mean squared difference of two outputs is twice
    the squared Hellinger distance of the two heatmaps (0 = same, 2 = disjoint), so the semantic-consistency loss
    weighs where the object is, not the log-probabilities of empty cells."""

    def __init__(self, detector: PointDetector) -> None:
        super().__init__()
        self.detector = detector

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        logits = self.detector(images.contiguous()).flatten(1)
        return torch.sqrt(torch.softmax(logits, dim=1) * logits.shape[1] + 1e-12)


@dataclasses.dataclass(frozen=True)
class TrainedModels:
    """``models.json``'s contents (file names relative to its folder) and the two frozen detectors."""

    manifest: dict[str, Any]
    detector: PointDetector  # trained on canonical frames: the task model
    probe: PointDetector  # trained on randomized frames: the guard's and the semantic loss's reader


def transfer_settings(config: TransferConfig) -> dict[str, Any]:
    """The run's settings as ``results.json`` records them (all but ``n_eval``, ``guard_frames`` and
    ``torch_threads`` are training settings: models saved under others are not reused)."""
    return {
        "n_train": config.n_train, "n_eval": config.n_eval, "epochs": config.epochs, "gan_steps": config.gan_steps,
        "rcan_steps": config.rcan_steps, "seed": config.seed, "image_size": config.image_size,
        "lambda_semantic": float(config.lambda_semantic), "guard_frames": config.guard_frames, "preset": "fast",
        "torch_threads": torch.get_num_threads(),
    }  # fmt: skip


def _detector(
    out: Path, manifest: dict[str, Any], key: str, filename: str, train: Callable[[], PointDetector]
) -> PointDetector:
    """The detector saved under ``manifest[key]``, or ``train()``'s, saved as ``filename`` and recorded."""
    if key in manifest and (out / manifest[key]).is_file():
        return load_model(out / manifest[key], PointDetector)
    model = train()
    manifest[key] = save_model(model, out / filename).name
    write_json(out / MODELS_FILE, manifest)
    return model


def _gan_configs(config: TransferConfig) -> dict[str, CycleGANConfig]:
    base = CycleGANConfig.preset("fast", image_size=config.image_size)
    every = max(1, config.gan_steps // 4)
    base = dataclasses.replace(base, sample_every=every, checkpoint_every=every)
    semantic = dataclasses.replace(base, lambda_semantic=float(config.lambda_semantic))
    return {"cyclegan": base, "semantic_cyclegan": semantic}


def train_models(
    config: TransferConfig, out: Path, executor: str | Executor, progress: bool, timings: dict[str, float]
) -> TrainedModels:
    """Train (or load from ``out``) every model of the experiment; adds ``*_s`` timings. CycleGANs interrupted in
    an earlier run with the same training settings continue from their checkpoints."""
    training = {k: v for k, v in transfer_settings(config).items() if k not in ("n_eval", "guard_frames",
                                                                                 "torch_threads")}  # fmt: skip
    manifest = read_json(out / MODELS_FILE)
    fresh = manifest.get("training") != training  # another run's models in out_dir are not reused
    if fresh:
        manifest = {"env_id": ENV_ID, "camera": CAMERA, "training": training, "cyclegan": {}, "semantic_cyclegan": {}}
    seed, size = config.seed, config.image_size

    def stamp(name: str, started: float) -> None:
        timings[name] = round(time.perf_counter() - started, 2)

    def frames(domain: str, n: int, tag: str) -> LocalizationFrames:
        return seeded_frames(domain, n, size, seed, tag, config.workers, executor)

    started = time.perf_counter()
    train = frames("canonical", config.n_train, "train")
    stamp("frames_canonical_s", started)

    def train_detector() -> PointDetector:
        started = time.perf_counter()
        model = train_point_detector(train.images, train.pixels, FitSettings(config.epochs, seed))
        stamp("detector_train_s", started)
        return model

    def train_probe() -> PointDetector:
        started = time.perf_counter()
        randomized = frames("train", config.n_train, "train")
        fit, settings = FitSettings(config.epochs, seed), DetectorSettings(hard_negatives=0.5)
        model = train_point_detector(randomized.images, randomized.pixels, fit, settings)
        stamp("dr_detector_train_s", started)
        return model

    detector = _detector(out, manifest, "detector", "detector_canonical.pt", train_detector).requires_grad_(False)
    probe = _detector(out, manifest, "probe", "detector_randomized.pt", train_probe).requires_grad_(False)
    if "probe_threshold" not in manifest:
        validation = frames("train", min(N_VALIDATION, config.n_eval), "validation")
        manifest["probe_threshold"] = detector_threshold(probe, validation)
        write_json(out / MODELS_FILE, manifest)

    if "rcan" not in manifest or not (out / manifest["rcan"]).is_file():
        started = time.perf_counter()
        pairs_seed = domain_seed(seed, "pairs")
        pairing = Pairing("train")
        pairs = paired_frames(ENV_ID, CAMERA, config.n_train, size, pairs_seed, pairing, config.workers, executor)
        stamp("pairs_s", started)
        started = time.perf_counter()
        # the detector's task loss weighs the block here; its published numbers were measured without the object L1
        rcan = RCANConfig(lambda_object=0.0)
        manifest["rcan"] = train_rcan(pairs, config.rcan_steps, seed, out / "rcan.pt", detector, rcan).name
        stamp("rcan_train_s", started)
        write_json(out / MODELS_FILE, manifest)
    gan_configs = _gan_configs(config)
    for domain in config.cyclegan_domains:
        todo = [m for m in GAN_METHODS if domain not in manifest[m]]
        if not todo:
            continue
        target = frames(domain, config.n_train, "gan").images  # unlabelled: the labels are never read
        for method in todo:
            started = time.perf_counter()
            folder = out / method / domain.replace(":", "_").replace("/", "_")
            semantic = HeatmapTask(probe) if method == "semantic_cyclegan" else None
            run = CycleGANRun(config.gan_steps, seed, resume=not fresh, progress=progress)
            checkpoint = train_cyclegan(
                train.images, target, gan_configs[method], folder, run, semantic_network=semantic
            )
            stamp(f"{method}_{domain}_train_s", started)
            manifest[method][domain] = str(checkpoint.relative_to(out))
            write_json(out / MODELS_FILE, manifest)
    return TrainedModels(manifest, detector, probe)
