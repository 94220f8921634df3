"""WebDataset-style tar shards: encode labelled frames, write shards atomically and reproducibly, verify and index them.

Each sample ``<key>`` is four tar members: ``<key>.rgb.png`` (uint8 RGB), ``<key>.depth.npy`` (float32 metres),
``<key>.seg.png`` (uint16, geom id + 1, 0 = background) and ``<key>.json`` (labels). See ``FORMAT.md``.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import imageio.v3 as iio
import numpy as np

from simreal.data.labels import Frame
from simreal.parallel.storage import write_bytes

__all__ = [
    "EXTENSIONS",
    "ShardError",
    "ShardIndex",
    "decode_sample",
    "encode_frame",
    "file_sha256",
    "index_shard",
    "shard_bytes",
    "verify_shard",
    "write_shard",
]

EXTENSIONS = ("rgb.png", "depth.npy", "seg.png", "json")
FLOAT_DECIMALS = 6  # label floats are rounded to 1e-6 (metres, pixels) to keep the JSON small


class ShardError(ValueError):
    """A shard is missing, partial or corrupt; the message names the file."""


def _round_floats(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, FLOAT_DECIMALS)
    if isinstance(value, dict):
        return {k: _round_floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_round_floats(v) for v in value]
    return value


def encode_frame(frame: Frame) -> dict[str, bytes]:
    """The tar members of one frame, by extension."""
    if frame.segmentation.max(initial=-1) >= np.iinfo(np.uint16).max:
        raise ValueError(f"segmentation: geom ids must be < {np.iinfo(np.uint16).max - 1} to fit a uint16 PNG")
    depth = io.BytesIO()
    np.save(depth, np.ascontiguousarray(frame.depth, dtype=np.float32), allow_pickle=False)
    seg = (frame.segmentation.astype(np.int64) + 1).astype(np.uint16)
    return {
        "rgb.png": iio.imwrite("<bytes>", frame.rgb, extension=".png"),
        "depth.npy": depth.getvalue(),
        "seg.png": iio.imwrite("<bytes>", seg, extension=".png"),
        "json": json.dumps(_round_floats(frame.meta), sort_keys=True, separators=(",", ":")).encode(),
    }


def decode_sample(members: dict[str, bytes]) -> dict[str, Any]:
    """Tar members of one sample -> ``rgb`` uint8 (H, W, 3), ``depth`` float32, ``segmentation`` int32, ``meta``."""
    return {
        "rgb": np.asarray(iio.imread(members["rgb.png"], extension=".png"), dtype=np.uint8),
        "depth": np.load(io.BytesIO(members["depth.npy"]), allow_pickle=False),
        "segmentation": np.asarray(iio.imread(members["seg.png"], extension=".png")).astype(np.int32) - 1,
        "meta": json.loads(members["json"]),
    }


def shard_bytes(samples: Iterable[tuple[str, dict[str, bytes]]]) -> bytes:
    """A reproducible tar (fixed mtime, owner and mode; members in the given order) of ``(key, members)`` samples."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for key, members in samples:
            if "." in key or "/" in key:
                raise ValueError(f"key: must not contain '.' or '/', got {key!r}")
            for extension in EXTENSIONS:
                info = tarfile.TarInfo(f"{key}.{extension}")
                info.size, info.mtime, info.mode = len(members[extension]), 0, 0o644
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                tar.addfile(info, io.BytesIO(members[extension]))
    return buffer.getvalue()


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
        missing = sorted(set(EXTENSIONS) - set(members))
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
