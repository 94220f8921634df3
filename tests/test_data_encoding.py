"""The fast shard encoders give exactly the bytes of the libraries they replace (np.save, json.dumps, tarfile), on
synthetic edge cases and on the labelled frames of randomized rollouts (whose metadata text is partly reused)."""

from __future__ import annotations

import io
import itertools
import json
import tarfile

import numpy as np
import pytest

import simreal  # noqa: F401  (registers the ids)
from simreal.data.encoding import MetaJson, npy_bytes, record_bytes, tar_bytes, tar_header
from simreal.data.episodes import RolloutSpec, labelled_frames, make_data_env
from simreal.data.shards import encode_frame, shard_bytes


def np_save(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def reference_json(meta: dict) -> bytes:
    return json.dumps(meta, sort_keys=True, separators=(",", ":")).encode()


def reference_tar(members: list[tuple[str, bytes]]) -> bytes:
    """The tar the shards were written with before ``tar_bytes`` (tarfile, fixed metadata)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def reference_record(labels: dict[str, np.ndarray]) -> bytes:
    """The labels record the way ``pack_labels`` filled it before ``record_bytes``."""
    arrays = {name: np.asarray(labels[name]) for name in sorted(labels)}
    record = np.zeros((), dtype=[(n, a.dtype.str, a.shape) for n, a in arrays.items()])
    for name, array in arrays.items():
        record[name] = array
    return np_save(record)


ARRAYS = [
    np.arange(64 * 64 * 3, dtype=np.uint8).reshape(64, 64, 3),
    np.linspace(0, 3, 48 * 48, dtype=np.float32).reshape(48, 48),
    np.arange(12, dtype=np.uint16).reshape(3, 4),
    np.float64(2.5),  # 0-d
    np.zeros((0, 3)),
    np.arange(6, dtype=">i4").reshape(2, 3),  # big-endian
    np.asfortranarray(np.arange(6.0).reshape(2, 3)),  # Fortran order: np.save's own header
    np.arange(12.0).reshape(3, 4)[:, ::2],  # not contiguous
    np.array([True, False]),
    np.array(["ab", "c"]),
]


@pytest.mark.parametrize("array", ARRAYS, ids=lambda a: f"{a.dtype.str}{a.shape}")
def test_npy_bytes_equal_np_save(array):
    assert npy_bytes(array) == np_save(array)
    assert npy_bytes(array) == np_save(array)  # the cached header too


def test_record_bytes_equal_a_filled_record():
    labels = {"b": np.eye(2, dtype=np.float32), "a": np.arange(3), "c": np.float64(2), "d": np.array([[1, -1]], ">i2")}
    arrays = {name: np.asarray(labels[name]) for name in sorted(labels)}
    dtype = np.dtype([(n, a.dtype.str, a.shape) for n, a in arrays.items()])
    assert record_bytes(arrays, dtype) == reference_record(labels)


def test_meta_json_equals_json_dumps_while_objects_are_reused_or_replaced():
    encoder = MetaJson()
    draws = {"b.x": (0.1, -2.0), "a.y": (1e-300,), "c": (float("nan"),)}
    summary = {"spec_hash": "abc", "draws": draws, "sensor": {"gamma": (0.9,)}, "control_step": {}}
    meta = {"seed": 3, "step": 0, "objects": ["block"], "randomization": summary, "spec_hash": "abc"}
    for step in range(3):  # fresh outer dicts holding the same tuples, as the wrapper hands them out
        fresh = {
            **meta,
            "step": step,
            "randomization": {k: dict(v) if isinstance(v, dict) else v for k, v in summary.items()},
        }
        fresh["randomization"]["control_step"] = {"period_jitter": 1.0 + step / 10}
        assert encoder.dumps(fresh).encode() == reference_json(fresh)
    changed = {**meta, "randomization": {**summary, "draws": {**draws, "b.x": (0.2, -2.0)}}}  # a new draw
    assert encoder.dumps(changed).encode() == reference_json(changed)
    same_value_other_type = {**meta, "randomization": {**summary, "draws": {**draws, "b.x": (1, -2)}}}
    assert encoder.dumps(same_value_other_type).encode() == reference_json(same_value_other_type)
    mutable = {**meta, "randomization": {**summary, "draws": {"l": [1.0]}}}
    assert encoder.dumps(mutable).encode() == reference_json(mutable)
    mutable["randomization"]["draws"]["l"].append(2.0)  # a list may change in place: never reused
    assert encoder.dumps(mutable).encode() == reference_json(mutable)
    for odd in ({**meta, "randomization": None}, {1: "int keys", 10: 2}, {**meta, "randomization": {2: {}, 10: {}}}):
        assert encoder.dumps(odd).encode() == json.dumps(odd, sort_keys=True, separators=(",", ":")).encode()


@pytest.mark.parametrize("size", [0, 1, 511, 512, 513, 12416, 10240])
def test_tar_bytes_equal_tarfile(size):
    members = [(f"000001_{i:06d}.rgb.npy", bytes(range(256)) * (size // 256) + b"x" * (size % 256)) for i in range(3)]
    assert tar_bytes(members) == reference_tar(members)
    assert tar_bytes([]) == reference_tar([])


@pytest.mark.parametrize("name", ["a" * 100, "b" * 101, "dir/" * 30 + "x.json", "caf\u00e9.json", "x"])
def test_tar_header_equals_tarfile_for_any_name(name):
    data = b"payload"
    try:
        expected = reference_tar([(name, data)])[:512]
    except ValueError:  # too long for USTAR: refused the same way
        with pytest.raises(ValueError, match="too long"):
            tar_header(name, len(data))
        return
    assert tar_header(name, len(data)) == expected


def test_labelled_frames_encode_exactly_as_the_libraries():
    """Two randomized episodes (the summary's text reused within one, replaced at the resample), every member."""
    spec = RolloutSpec("simreal/Push-v0", "train", image_size=32, frames_per_episode=3, stride=2)
    env = make_data_env(spec)
    try:
        frames = list(itertools.islice(labelled_frames(env, spec, np.random.SeedSequence(4)), 6))
    finally:
        env.close()
    samples = []
    for i, frame in enumerate(frames):
        members = encode_frame(frame)
        seg = (frame.segmentation + 1).astype(np.uint16)
        assert members["rgb.npy"] == np_save(frame.rgb)
        assert members["depth.npy"] == np_save(frame.depth)
        assert members["seg.npy"] == np_save(seg)
        assert members["labels.npy"] == reference_record(frame.labels)
        assert members["json"] == reference_json(frame.meta)
        samples.append((f"k_{i:06d}", members))
    reference = [(f"{key}.{ext}", data) for key, members in samples for ext, data in members.items()]
    assert shard_bytes(samples) == reference_tar(reference)
