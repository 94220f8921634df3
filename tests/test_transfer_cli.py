"""``train_main`` resolves both sides through ``simreal.data.sources.load_frames`` and trains."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from simreal.transfer.checkpoint import load_checkpoint
from simreal.transfer.cli import train_main


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Iterator[None]:
    """One intra-op thread keeps the tests fast when other processes share the 2 cores."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def fake_sources(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int, int, int]]:
    calls: list[tuple[str, int, int, int]] = []

    def load_frames(spec: str, n: int, image_size: int, seed: int) -> np.ndarray:
        calls.append((spec, n, image_size, seed))
        rng = np.random.default_rng(seed)
        return rng.integers(0, 256, (n, image_size, image_size, 3), dtype=np.uint8)

    module = types.ModuleType("simreal.data.sources")
    module.load_frames = load_frames  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "simreal.data.sources", module)
    return calls


def test_train_main_loads_both_sides_and_writes_checkpoint(
    tmp_path: Path, fake_sources: list[tuple[str, int, int, int]]
) -> None:
    path = train_main(
        source="simreal/Push-v0:canonical",
        target=str(tmp_path / "frames"),
        preset="fast",
        out=str(tmp_path / "out"),
        steps=2,
        seed=4,
        n_frames=3,
        image_size=32,
    )
    assert fake_sources == [("simreal/Push-v0:canonical", 3, 32, 4), (str(tmp_path / "frames"), 3, 32, 5)]
    state = load_checkpoint(path)
    assert state["step"] == 2
    assert state["config"].generator.ngf == 16


def test_train_main_rejects_bad_arguments(tmp_path: Path, fake_sources: list) -> None:
    with pytest.raises(ValueError, match="preset"):
        train_main("a:b", "c:d", "tiny", str(tmp_path), steps=1, seed=0, n_frames=2, image_size=32)
    with pytest.raises(ValueError, match="n_frames"):
        train_main("a:b", "c:d", "fast", str(tmp_path), steps=1, seed=0, n_frames=0, image_size=32)
    assert fake_sources == []
