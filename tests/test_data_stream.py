"""``FrameStream``: per-worker seeding (no two DataLoader workers yield the same frames), determinism, collation."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from simreal.data.config import StreamConfig
from simreal.data.episodes import RolloutSpec
from simreal.data.stream import FrameStream


def _take(stream: FrameStream, n: int) -> list[dict]:
    return list(itertools.islice(iter(stream), n))


def test_main_process_stream_is_deterministic_and_labelled() -> None:
    stream = FrameStream(StreamConfig("simreal/Push-v0", "train", seed=5, frames_per_episode=2, stride=3))
    a, b = _take(stream, 5), _take(stream, 5)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x["rgb"], y["rgb"])
    item = a[0]
    assert item["rgb"].shape == (64, 64, 3) and item["depth"].shape == (64, 64)
    assert item["intrinsics"].shape == (3, 3) and item["world_to_camera"].shape == (4, 4)
    assert item["state.block_position"].shape == (3,) and item["worker"] == 0
    assert [x["step"] for x in a] == [0, 3, 0, 3, 0]
    other = _take(FrameStream(replace(stream.config, seed=6)), 1)[0]
    assert not np.array_equal(other["rgb"], item["rgb"])


def test_unlabelled_stream_matches_labelled_rgb() -> None:
    config = StreamConfig("simreal/Reach-v0", "canonical", image_size=32, frames_per_episode=1, seed=1)
    fast = _take(FrameStream(replace(config, labels=False)), 3)
    full = _take(FrameStream(config), 3)
    assert set(fast[0]) == {"rgb", "seed", "step", "worker", *(k for k in full[0] if k.startswith("state."))}
    for x, y in zip(fast, full, strict=True):
        np.testing.assert_array_equal(x["rgb"], y["rgb"])


def test_two_dataloader_workers_never_yield_identical_frames() -> None:
    stream = FrameStream(StreamConfig("simreal/Push-v0", "train", image_size=32, frames_per_episode=2, stride=2))
    loader = DataLoader(stream, batch_size=4, num_workers=2, multiprocessing_context="spawn")
    batches = list(itertools.islice(iter(loader), 6))  # workers alternate batches: 3 from each
    workers = torch.cat([b["worker"] for b in batches])
    assert set(workers.tolist()) == {0, 1}
    frames = torch.cat([b["rgb"] for b in batches]).numpy()
    assert frames.shape == (24, 32, 32, 3)
    assert len({f.tobytes() for f in frames}) == 24
    seeds = torch.cat([b["seed"] for b in batches])
    assert not set(seeds[workers == 0].tolist()) & set(seeds[workers == 1].tolist())


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match=r"^policy must be"):
        StreamConfig("simreal/Push-v0", policy="expert")
    with pytest.raises(ValueError, match=r"^seed must be"):
        StreamConfig("simreal/Push-v0", seed=-1)
    with pytest.raises(ValueError, match=r"^labels must be"):
        StreamConfig("simreal/Push-v0", labels="yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"stream: unknown keys \['workers'\]"):
        StreamConfig.from_dict({"env_id": "simreal/Push-v0", "workers": 2})
    assert StreamConfig.from_dict({"env_id": "simreal/Push-v0", "seed": 3}).rollout == RolloutSpec("simreal/Push-v0")
