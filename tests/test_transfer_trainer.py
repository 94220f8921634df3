"""CycleGAN training: losses go down, seeded determinism, resume, checkpoints and their errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import torch
from torch import nn

from simreal.transfer.checkpoint import load_checkpoint, load_generator, save_checkpoint
from simreal.transfer.config import CycleGANConfig, CycleGANRun
from simreal.transfer.trainer import CycleGANTrainer, train_cyclegan

SIZE = 32


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Iterator[None]:
    """One intra-op thread: with 2 threads, OpenMP barriers stall for seconds when other processes share the
    2 cores (measured 0.15 s vs 1-8 s per training step under load)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _domains(n: int = 6) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    sim = rng.integers(0, 128, (n, SIZE, SIZE, 3), dtype=np.uint8)
    real = rng.integers(96, 256, (n, SIZE, SIZE, 3), dtype=np.uint8)
    return sim, real


def _config(**overrides: object) -> CycleGANConfig:
    return CycleGANConfig.preset("fast", image_size=SIZE, **overrides)


def _weights(path: Path) -> dict[str, dict[str, torch.Tensor]]:
    return load_checkpoint(path)["models"]


def _assert_same_models(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for name in a:
        for key in a[name]:
            assert torch.equal(a[name][key], b[name][key]), f"{name}.{key} differs"


def test_training_steps_lower_the_losses() -> None:
    sim, real = _domains()
    trainer = CycleGANTrainer(_config(batch_size=2, lambda_identity=0.5), seed=0)
    records = [trainer.train_step(*trainer.sample_batch(sim, real, None)[:2]) for _ in range(30)]
    first, last = records[:5], records[-5:]
    for key in ("cycle", "identity", "generator_total"):
        assert np.mean([r[key] for r in last]) < np.mean([r[key] for r in first]), key
    d_first = np.mean([r["D_real"] + r["D_sim"] for r in first])
    assert np.mean([r["D_real"] + r["D_sim"] for r in last]) < d_first


def test_learning_rate_schedule_is_constant_then_linear_to_zero() -> None:
    trainer = CycleGANTrainer(_config(decay_start=0.5), seed=0)
    lrs = []
    for step in (0, 49, 50, 75, 99):
        trainer.step = step
        lrs.append(trainer.learning_rate(100))
    assert lrs == pytest.approx([2e-4, 2e-4, 2e-4, 1e-4, 4e-6])


def test_seeded_training_is_reproducible_on_cpu(tmp_path: Path) -> None:
    sim, real = _domains()
    config = _config(sample_every=0, pool_size=2)
    run = [
        train_cyclegan(sim, real, config, tmp_path / name, CycleGANRun(steps=4, seed=s, progress=False))
        for name, s in (("a", 7), ("b", 7), ("c", 8))
    ]
    _assert_same_models(_weights(run[0]), _weights(run[1]))
    a, c = _weights(run[0]), _weights(run[2])
    assert not torch.equal(a["G_sim2real"]["net.0.weight"], c["G_sim2real"]["net.0.weight"])


def test_resume_matches_uninterrupted_run(tmp_path: Path) -> None:
    sim, real = _domains()
    # Constant LR: the decay schedule follows the ``steps`` of each call, which differ here (3 then 6).
    config = _config(sample_every=0, pool_size=2, decay_start=1.0)
    full = train_cyclegan(sim, real, config, tmp_path / "full", CycleGANRun(steps=6, seed=1, progress=False))
    train_cyclegan(sim, real, config, tmp_path / "split", CycleGANRun(steps=3, seed=1, progress=False))
    split = train_cyclegan(sim, real, config, tmp_path / "split", CycleGANRun(steps=6, seed=1, progress=False))
    assert load_checkpoint(split)["step"] == 6
    _assert_same_models(_weights(full), _weights(split))
    lines = (tmp_path / "split" / "losses.csv").read_text().splitlines()
    assert len(lines) == 7
    assert lines[0].startswith("step,")


def test_outputs_samples_and_generator_round_trip(tmp_path: Path) -> None:
    sim, real = _domains()
    config = _config(sample_every=2, checkpoint_every=2)
    path = train_cyclegan(sim, real, config, tmp_path, CycleGANRun(steps=4, seed=0, progress=False))
    grids = sorted((tmp_path / "samples").glob("*.png"))
    assert [g.name for g in grids] == ["step_0000002.png", "step_0000004.png"]
    grid = iio.imread(grids[-1])
    assert grid.shape == (4 * 2 * SIZE, 3 * SIZE, 3)
    assert grid.dtype == np.uint8
    assert not list(tmp_path.glob(".*"))  # no temporary files left behind
    trainer = CycleGANTrainer(config, seed=0)
    trainer.load_state_dict(load_checkpoint(path))
    x = torch.rand(2, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(0)) * 2 - 1
    for direction, key in (("real2sim", "G_real2sim"), ("sim2real", "G_sim2real")):
        gen = load_generator(path, direction)
        with torch.inference_mode():
            trained = trainer.models[key].eval()
            assert torch.equal(gen(x), trained(x))


def test_task_network_and_masks_add_loss_terms(tmp_path: Path) -> None:
    sim, real = _domains()
    masks = np.zeros(sim.shape[:3], dtype=bool)
    masks[:, 8:16, 8:16] = True
    task = nn.Sequential(nn.Conv2d(3, 2, 3, 2), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    config = _config(sample_every=0)
    run = CycleGANRun(steps=2, seed=0, progress=False)
    train_cyclegan(sim, real, config, tmp_path, run, task_network=task, source_masks=masks)
    record = load_checkpoint(tmp_path / "checkpoint.pt")["history"][-1]
    assert record["task"] >= 0.0
    assert record["label"] > 0.0
    assert not any(p.requires_grad for p in task.parameters())


def test_semantic_network_adds_a_two_way_consistency_term(tmp_path: Path) -> None:
    sim, real = _domains()
    semantic = nn.Sequential(nn.Conv2d(3, 2, 3, 2), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    run = CycleGANRun(steps=2, seed=0, progress=False)
    train_cyclegan(sim, real, _config(sample_every=0), tmp_path / "a", run, semantic_network=semantic)
    record = load_checkpoint(tmp_path / "a" / "checkpoint.pt")["history"][-1]
    assert record["semantic"] > 0.0 and "task" not in record
    assert not any(p.requires_grad for p in semantic.parameters())
    train_cyclegan(
        sim, real, _config(sample_every=0, lambda_semantic=0.0), tmp_path / "b", run, semantic_network=semantic
    )
    assert "semantic" not in load_checkpoint(tmp_path / "b" / "checkpoint.pt")["history"][-1]
    with pytest.raises(ValueError, match="lambda_semantic"):
        _config(lambda_semantic=-1.0)


def test_corrupt_checkpoint_gives_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "checkpoint.pt"
    bad.write_bytes(b"definitely not a zip file")
    with pytest.raises(ValueError, match=r"checkpoint .*checkpoint\.pt is corrupt"):
        load_generator(bad)
    sim, real = _domains()
    with pytest.raises(ValueError, match="corrupt"):
        train_cyclegan(sim, real, _config(), tmp_path, CycleGANRun(steps=1, seed=0, progress=False))
    torch.save({"weights": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a simreal CycleGAN checkpoint"):
        load_generator(tmp_path / "other.pt")
    with pytest.raises(FileNotFoundError):
        load_generator(tmp_path / "missing.pt")


def test_architecture_mismatch_gives_clear_error(tmp_path: Path) -> None:
    sim, real = _domains()
    fast = _config(sample_every=0)
    path = train_cyclegan(sim, real, fast, tmp_path / "run", CycleGANRun(steps=1, seed=0, progress=False))
    reference = CycleGANConfig.preset("reference", image_size=SIZE)
    with pytest.raises(ValueError, match="trained with generator"):
        train_cyclegan(sim, real, reference, tmp_path / "run", CycleGANRun(steps=2, seed=0, progress=False))
    with pytest.raises(ValueError, match="expected"):
        load_generator(path, expected=reference.generator)
    # Weights that do not fit the architecture stored next to them.
    state = load_checkpoint(path)
    state["config"] = CycleGANConfig.preset("fast", image_size=SIZE, generator=reference.generator).to_dict()
    del state["format"]
    save_checkpoint(tmp_path / "tampered.pt", state)
    with pytest.raises(ValueError, match=r"tampered\.pt: G_real2sim weights do not match"):
        load_generator(tmp_path / "tampered.pt")
    with pytest.raises(ValueError, match="direction"):
        load_generator(path, direction="sideways")


def test_bad_training_inputs_raise(tmp_path: Path) -> None:
    sim, real = _domains()
    with pytest.raises(ValueError, match="image_size"):
        train_cyclegan(sim[:, :16, :16], real, _config(), tmp_path, CycleGANRun(steps=1, seed=0))
    with pytest.raises(ValueError, match="steps"):
        train_cyclegan(sim, real, _config(), tmp_path, CycleGANRun(steps=0, seed=0))
    with pytest.raises(ValueError, match="source_masks"):
        train_cyclegan(sim, real, _config(), tmp_path, CycleGANRun(steps=1, seed=0), source_masks=np.zeros((2, 3, 3)))
