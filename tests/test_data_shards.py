"""Shards: encoding round trip, reproducible tar bytes, resume == uninterrupted, workers, corrupt/partial shards."""

from __future__ import annotations

import tarfile
from pathlib import Path

import numpy as np
import pytest

import simreal.data.generate as generate_module
from simreal.data.config import DatasetConfig
from simreal.data.generate import MANIFEST, generate_dataset, load_manifest
from simreal.data.labels import Frame
from simreal.data.reader import ShardDataset
from simreal.data.shards import ShardError, decode_sample, encode_frame, shard_bytes, verify_shard

N = 10
SETTINGS = {"env_id": "simreal/Push-v0", "n": N, "domain": "train", "shard_size": 4, "seed": 7}
SETTINGS |= {"frames_per_episode": 3, "stride": 2, "workers": 0}


def _generate(out: str | Path, **changes) -> dict:
    return generate_dataset(DatasetConfig.from_dict({**SETTINGS, "out_dir": out, **changes}), progress=False)


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("reference")
    _generate(out)
    return out


def test_encode_decode_round_trip() -> None:
    rng = np.random.default_rng(0)
    segmentation = rng.integers(-1, 30, size=(8, 8)).astype(np.int32)
    frame = Frame(
        rgb=rng.integers(0, 256, size=(8, 8, 3), dtype=np.uint8),
        depth=rng.uniform(0.1, 5.0, size=(8, 8)).astype(np.float32),
        segmentation=segmentation,
        meta={"seed": 3, "x": 0.12345678912, "nested": {"v": [1.0, 2.5]}},
        labels={"task_state.goal": np.array([0.1, 0.2, 0.3])},
    )
    sample = decode_sample(encode_frame(frame))
    np.testing.assert_array_equal(sample["rgb"], frame.rgb)
    np.testing.assert_array_equal(sample["depth"], frame.depth)
    np.testing.assert_array_equal(sample["segmentation"], segmentation)
    assert sample["segmentation"].dtype == np.int32 and sample["depth"].dtype == np.float32
    expected = {"seed": 3, "x": 0.12345678912, "nested": {"v": [1.0, 2.5]}}  # exact: format 1 rounded to 1e-6
    assert sample["meta"] == {**expected, "objects": {}, "task_state": {"goal": [0.1, 0.2, 0.3]}}
    np.testing.assert_array_equal(sample["labels"]["task_state.goal"], [0.1, 0.2, 0.3])
    members = encode_frame(frame)
    assert shard_bytes([("a_0", members)]) == shard_bytes([("a_0", members)])
    with pytest.raises(ValueError, match="key"):
        shard_bytes([("a.0", members)])


def test_manifest_and_plain_tarfile(reference: Path) -> None:
    manifest = load_manifest(reference)
    assert manifest["complete"] and manifest["counts"] == {"frames": N, "shards": 3}
    assert [s["count"] for s in manifest["shards"]] == [4, 4, 2]
    assert [s["seed"]["spawn_key"] for s in manifest["shards"]] == [[0], [1], [2]]
    assert manifest["spec_hash"] and manifest["camera"] == "front" and "mujoco" in manifest["versions"]
    with tarfile.open(reference / "shard-000000.tar") as tar:
        names = tar.getnames()
    assert names[:5] == [
        "000000_000000.rgb.npy",
        "000000_000000.depth.npy",
        "000000_000000.seg.npy",
        "000000_000000.labels.npy",
        "000000_000000.json",
    ]


def test_reader_items(reference: Path) -> None:
    dataset = ShardDataset(reference)
    assert len(dataset) == N
    item = dataset[5]
    assert item["key"] == "000001_000001"
    assert item["rgb"].shape == (64, 64, 3) and item["rgb"].dtype == np.uint8
    assert item["depth"].shape == (64, 64) and item["segmentation"].shape == (64, 64)
    meta = item["meta"]
    assert meta["spec_hash"] == load_manifest(reference)["spec_hash"] and meta["env_id"] == "simreal/Push-v0"
    block = meta["objects"]["block"]
    assert block["visible_pixels"] == int(np.sum(item["segmentation"] == block["geom_id"]))
    seeds = {dataset[i]["meta"]["seed"] for i in range(N)}
    assert len(seeds) >= 4  # 3 frames per episode -> at least 4 episodes
    with pytest.raises(IndexError):
        dataset[N]
    assert ShardDataset(reference, transform=lambda s: s["key"])[0] == "000000_000000"


def test_resume_after_interruption_is_byte_identical(reference: Path, tmp_path: Path, monkeypatch) -> None:
    calls = {"n": 0}
    build = generate_module.build_shard

    def interrupted(task):
        calls["n"] += 1
        if calls["n"] == 2:
            Path(task.path).with_name(".shard-000001.tar.partial.tmp.tar").write_bytes(b"half a shard")
            raise KeyboardInterrupt
        return build(task)

    monkeypatch.setattr(generate_module, "build_shard", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _generate(tmp_path)
    assert not load_manifest(tmp_path)["complete"]
    with pytest.raises(ValueError, match="incomplete"):
        ShardDataset(tmp_path)
    assert len(ShardDataset(tmp_path, allow_incomplete=True)) == 4
    monkeypatch.setattr(generate_module, "build_shard", build)
    built = []
    monkeypatch.setattr(generate_module, "build_shard", lambda task: built.append(task.index) or build(task))
    _generate(tmp_path)
    assert built == [1, 2]  # shard 0 was verified and skipped
    assert _files(tmp_path) == _files(reference)


def test_two_spawned_workers_match_in_process(reference: Path, tmp_path: Path) -> None:
    _generate(tmp_path, workers=2)
    assert _files(tmp_path) == _files(reference)


def test_resume_with_other_settings_is_refused(reference: Path) -> None:
    with pytest.raises(ValueError, match="seed"):
        _generate(reference, seed=8)


@pytest.mark.parametrize("damage", ["flip", "truncate", "delete"])
def test_corrupt_or_partial_shard_is_named(reference: Path, tmp_path: Path, damage: str) -> None:
    for name, data in _files(reference).items():
        (tmp_path / name).write_bytes(data)
    shard = tmp_path / "shard-000001.tar"
    data = bytearray(shard.read_bytes())
    if damage == "flip":
        data[2000] ^= 0xFF
        shard.write_bytes(bytes(data))
    elif damage == "truncate":
        shard.write_bytes(bytes(data[: len(data) // 2]))
    else:
        shard.unlink()
    with pytest.raises(ShardError, match=r"shard-000001\.tar"):
        ShardDataset(tmp_path)
    if damage != "flip":  # a flipped payload byte needs the manifest's sha256; the rest shows in the tar structure
        with pytest.raises(ShardError, match=r"shard-000001\.tar"):
            verify_shard(shard)
    # generation heals the dataset: the damaged shard is rebuilt with the same bytes
    with pytest.warns(UserWarning, match=r"shard-000001\.tar"):
        _generate(tmp_path)
    assert _files(tmp_path) == _files(reference)


def test_bad_arguments(tmp_path: Path) -> None:
    for field, value in [("shard_size", 0), ("n", 0), ("workers", -1), ("seed", -1), ("policy", "expert")]:
        with pytest.raises(ValueError, match=rf"^{field} must be"):
            _generate(tmp_path, **{field: value})
    with pytest.raises(ValueError, match="domain"):
        _generate(tmp_path, domain="mars")
    with pytest.raises(ValueError, match=r"out_dir must be a non-empty path"):
        _generate("")
    with pytest.raises(ValueError, match=r"dataset: unknown keys \['shards'\]"):
        _generate(tmp_path, shards=3)
    with pytest.raises(ValueError, match=r"dataset: missing keys \['n'\]"):
        DatasetConfig.from_dict({"env_id": "simreal/Push-v0", "out_dir": tmp_path})
    with pytest.raises(ValueError, match="manifest"):
        load_manifest(tmp_path / "nothing")
    assert not (tmp_path / MANIFEST).exists()
