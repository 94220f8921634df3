"""WebDataset-style tar shards: encode labelled frames, write shards atomically and reproducibly, verify and index them.

Format 2 (written): each sample ``<key>`` is five tar members: ``<key>.rgb.npy`` (uint8 RGB), ``<key>.depth.npy``
(float32 metres), ``<key>.seg.npy`` (uint16, geom id + 1, 0 = background), ``<key>.labels.npy`` (the numeric labels
as one structured record) and ``<key>.json`` (small metadata). Format 1 (PNG images and all labels in the JSON) is
still read. See ``FORMAT.md``.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import imageio.v3 as iio
import numpy as np

from simreal.data.encoding import MetaJson, npy_bytes, record_bytes, tar_bytes
from simreal.data.labels import Frame, flat_labels, nested_labels
from simreal.parallel.storage import write_bytes

__all__ = [
    "EXTENSIONS",
    "EXTENSIONS_V1",
    "ShardError",
    "ShardIndex",
    "decode_sample",
    "encode_frame",
    "file_sha256",
    "index_shard",
    "pack_labels",
    "shard_bytes",
    "unpack_labels",
    "verify_shard",
    "write_shard",
]

EXTENSIONS = ("rgb.npy", "depth.npy", "seg.npy", "labels.npy", "json")  # format 2, in member order
EXTENSIONS_V1 = ("rgb.png", "depth.npy", "seg.png", "json")  # format 1 (read only)
_SEG_LIMIT = np.iinfo(np.uint16).max - 1


class ShardError(ValueError):
    """A shard is missing, partial or corrupt; the message names the file."""


_META_JSON = MetaJson()  # reuses the text of a frame's randomization summary while its objects stay the same


def _load_npy(data: bytes) -> np.ndarray:
    return np.load(io.BytesIO(data), allow_pickle=False)


@lru_cache(maxsize=64)
def _record_dtype(fields: tuple[tuple[str, str, tuple[int, ...]], ...]) -> np.dtype:
    return np.dtype([(name, np.dtype(code), shape) for name, code, shape in fields])


def pack_labels(labels: dict[str, np.ndarray]) -> bytes:
    """Label arrays -> one ``.npy`` holding a 0-d structured record (a field per label, in name order)."""
    arrays = {name: np.asarray(labels[name]) for name in sorted(labels)}
    return record_bytes(arrays, _record_dtype(tuple((n, a.dtype.str, a.shape) for n, a in arrays.items())))


def unpack_labels(data: bytes) -> dict[str, np.ndarray]:
    """The inverse of :func:`pack_labels`."""
    record = _load_npy(data)
    return {name: np.array(record[name]) for name in record.dtype.names or ()}


def encode_frame(frame: Frame) -> dict[str, bytes]:
    """The tar members of one frame (format 2), by extension, in member order."""
    if frame.segmentation.max(initial=-1) >= _SEG_LIMIT:
        raise ValueError(f"segmentation: geom ids must be < {_SEG_LIMIT} to fit a uint16 array")
    seg = (frame.segmentation + 1).astype(np.uint16)
    return {
        "rgb.npy": npy_bytes(np.ascontiguousarray(frame.rgb, dtype=np.uint8)),
        "depth.npy": npy_bytes(np.ascontiguousarray(frame.depth, dtype=np.float32)),
        "seg.npy": npy_bytes(seg),
        "labels.npy": pack_labels(frame.labels),
        "json": _META_JSON.dumps(frame.meta).encode(),
    }


def decode_sample(members: dict[str, bytes]) -> dict[str, Any]:
    """Tar members of one sample (format 2 or 1) -> ``rgb`` uint8 (H, W, 3), ``depth`` float32, ``segmentation``
    int32, ``labels`` (arrays by dotted name) and ``meta`` (the format-1 layout: every label, objects by name)."""
    if "labels.npy" in members:
        labels = unpack_labels(members["labels.npy"])
        return {
            "rgb": _load_npy(members["rgb.npy"]),
            "depth": _load_npy(members["depth.npy"]),
            "segmentation": _load_npy(members["seg.npy"]).astype(np.int32) - 1,
            "labels": labels,
            "meta": nested_labels(json.loads(members["json"]), labels),
        }
    meta = json.loads(members["json"])
    return {
        "rgb": np.asarray(iio.imread(members["rgb.png"], extension=".png"), dtype=np.uint8),
        "depth": np.load(io.BytesIO(members["depth.npy"]), allow_pickle=False),
        "segmentation": np.asarray(iio.imread(members["seg.png"], extension=".png")).astype(np.int32) - 1,
        "labels": flat_labels(meta)[1] if "camera" in meta else {},
        "meta": meta,
    }


def shard_bytes(samples: Iterable[tuple[str, dict[str, bytes]]]) -> bytes:
    """A reproducible tar (fixed mtime, owner and mode; samples and their members in the given order) of
    ``(key, members)`` samples."""
    members = ((f"{key}.{extension}", data) for key, sample in _checked(samples) for extension, data in sample.items())
    return tar_bytes(members)


def _checked(samples: Iterable[tuple[str, dict[str, bytes]]]) -> Iterable[tuple[str, dict[str, bytes]]]:
    for key, members in samples:
        if "." in key or "/" in key:
            raise ValueError(f"key: must not contain '.' or '/', got {key!r}")
        yield key, members


def write_shard(path: str | os.PathLike[str], samples: Iterable[tuple[str, dict[str, bytes]]]) -> tuple[str, int]:
    """Write a shard atomically to a path or an fsspec URL; return its sha256 hex digest and size in bytes."""
    data = shard_bytes(samples)
    write_bytes(path, data)
    return hashlib.sha256(data).hexdigest(), len(data)


def file_sha256(path: str | os.PathLike[str]) -> str:
    """sha256 hex digest of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class ShardIndex:
    """Where each sample's members live in a shard file: ``offsets[key][extension] = (offset, size)``."""

    path: Path
    keys: tuple[str, ...]
    offsets: dict[str, dict[str, tuple[int, int]]]

    def read(self, key: str) -> dict[str, bytes]:
        """The members of sample ``key`` (reads only those bytes)."""
        members = {}
        with open(self.path, "rb") as handle:
            for extension, (offset, size) in self.offsets[key].items():
                handle.seek(offset)
                members[extension] = handle.read(size)
        return members


def index_shard(path: str | os.PathLike[str]) -> ShardIndex:
    """Index a shard's samples; raise :class:`ShardError` naming the file if it is unreadable or incomplete."""
    path = Path(path)
    if not path.is_file():
        raise ShardError(f"{path}: shard file is missing")
    offsets: dict[str, dict[str, tuple[int, int]]] = {}
    try:
        with tarfile.open(path, mode="r:") as tar:
            for member in tar:
                key, _, extension = member.name.partition(".")
                offsets.setdefault(key, {})[extension] = (member.offset_data, member.size)
                if member.offset_data + member.size > path.stat().st_size:
                    raise ShardError(f"{path}: member {member.name} is truncated (partial shard)")
    except (tarfile.TarError, EOFError, OSError) as error:
        raise ShardError(f"{path}: not a readable tar shard ({error}); delete it and re-run generation") from error
    if not offsets:
        raise ShardError(f"{path}: shard holds no samples (partial or empty file)")
    for key, members in offsets.items():
        expected = EXTENSIONS_V1 if "rgb.png" in members else EXTENSIONS
        missing = sorted(set(expected) - set(members))
        if missing:
            raise ShardError(f"{path}: sample {key!r} lacks {missing} (partial or corrupt shard)")
    return ShardIndex(path, tuple(offsets), offsets)


def verify_shard(path: str | os.PathLike[str], sha256: str | None = None, count: int | None = None) -> ShardIndex:
    """Index a shard and check its sha256 and sample count (when given); :class:`ShardError` names the file."""
    path = Path(path)
    if not path.is_file():
        raise ShardError(f"{path}: shard file is missing")
    if sha256 is not None:
        actual = file_sha256(path)
        if actual != sha256:
            raise ShardError(
                f"{path}: sha256 {actual[:16]}... does not match the manifest's {sha256[:16]}... "
                "(corrupt or partial shard); delete it and re-run generation to rebuild it"
            )
    index = index_shard(path)
    if count is not None and len(index.keys) != count:
        raise ShardError(f"{path}: holds {len(index.keys)} samples, the manifest says {count}")
    return index
