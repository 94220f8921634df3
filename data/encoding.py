"""Byte-exact fast encoders for shard members: the bytes of ``np.save``, ``json.dumps`` and ``tarfile`` at a fraction
of their per-call cost (a labelled frame is five small members, so the libraries' per-call overhead dominated).

- :func:`npy_bytes`: ``np.save``'s bytes; its header is built by ``np.save`` once per dtype and shape and reused.
- :func:`record_bytes`: ``np.save`` of a 0-d structured record holding the given arrays as fields (packed, no
  record array is filled).
- :class:`MetaJson`: ``json.dumps(meta, sort_keys=True, separators=(",", ":"))``, reusing the text of the
  ``randomization`` sub-dicts whose values are the very same immutable objects as in the previous frame (the
  wrapper hands out one set of tuples per resample, see ``Params.summary``).
- :func:`tar_bytes`: the tar ``tarfile`` writes (USTAR, mtime 0, mode 0644, uid/gid 0, empty owner names, zero
  padding and the end-of-archive blocks), headers patched from one template.

``tests/test_data_encoding.py`` checks each against the library it replaces.
"""

from __future__ import annotations

import io
import json
import operator
import tarfile
from collections.abc import Iterable
from itertools import repeat
from typing import Any

import numpy as np

__all__ = ["MetaJson", "npy_bytes", "record_bytes", "tar_bytes", "tar_header"]

_HEADERS: dict[tuple[np.dtype, tuple[int, ...]], bytes] = {}
_MAX_HEADERS = 1024


def _np_save(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _header(dtype: np.dtype, shape: tuple[int, ...]) -> bytes:
    """``np.save``'s header for a C-ordered array of ``dtype`` and ``shape`` (computed by np.save once)."""
    key = (dtype, shape)
    header = _HEADERS.get(key)
    if header is None:
        data = _np_save(np.zeros(shape, dtype=dtype))
        header = data[: len(data) - int(np.prod(shape, dtype=np.int64)) * dtype.itemsize]
        if len(_HEADERS) >= _MAX_HEADERS:
            _HEADERS.clear()
        _HEADERS[key] = header
    return header


def npy_bytes(array: np.ndarray) -> bytes:
    """The bytes ``np.save(file, array, allow_pickle=False)`` writes."""
    if not array.flags.c_contiguous or array.dtype.hasobject or array.dtype.kind == "T":
        return _np_save(array)  # Fortran order, and object or string dtypes (refused): np.save's own path
    return _header(array.dtype, array.shape) + array.tobytes()


def record_bytes(arrays: dict[str, np.ndarray], dtype: np.dtype) -> bytes:
    """``np.save`` bytes of a 0-d record of ``dtype`` whose fields, in order, are ``arrays`` (each already of its
    field's dtype and shape; the fields of an unaligned structured dtype are packed, so the record is their bytes
    one after the other)."""
    return _header(dtype, ()) + b"".join(array.tobytes() for array in arrays.values())


_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"))
_LEAVES = frozenset({str, int, float, bool, type(None)})
_MISSING = object()


def _frozen(value: Any) -> bool:
    """Whether ``value`` is immutable all the way down (exact leaf types, or tuples of them), so its JSON text
    cannot change while the object lives."""
    kind = type(value)
    if kind is tuple:
        return all(_frozen(v) for v in value)
    return kind in _LEAVES


def _plain_keys(mapping: dict) -> bool:
    return all(type(key) is str for key in mapping)


class MetaJson:
    """``json.dumps(meta, sort_keys=True, separators=(",", ":"))`` for a stream of frame metadata.

    The text of each dict in ``meta["randomization"]`` is kept with the objects it was made from; when the next
    frame's dict holds the same keys with the very same (immutable) value objects, the text is reused. Anything
    else (non-string keys, mutable values) is encoded afresh, so the bytes always equal ``json.dumps``'s.
    """

    def __init__(self) -> None:
        self._last: dict[str, tuple[tuple[str, ...], tuple[Any, ...], str]] = {}

    def dumps(self, meta: dict[str, Any]) -> str:
        randomization = meta.get("randomization")
        if not isinstance(randomization, dict) or not (_plain_keys(meta) and _plain_keys(randomization)):
            return _ENCODER.encode(meta)
        parts = []
        for key in sorted(meta):
            value = meta[key]
            text = self._randomization(value) if key == "randomization" else _ENCODER.encode(value)
            parts.append(f"{_ENCODER.encode(key)}:{text}")
        return "{" + ",".join(parts) + "}"

    def _randomization(self, randomization: dict[str, Any]) -> str:
        parts = []
        for key in sorted(randomization):
            value = randomization[key]
            text = self._cached(key, value) if type(value) is dict else _ENCODER.encode(value)
            parts.append(f"{_ENCODER.encode(key)}:{text}")
        return "{" + ",".join(parts) + "}"

    def _cached(self, path: str, mapping: dict[str, Any]) -> str:
        last = self._last.get(path)
        if last is not None:
            keys, values, text = last
            found = map(mapping.get, keys, repeat(_MISSING))  # C-level loops: ~100 draws per frame
            if len(keys) == len(mapping) and all(map(operator.is_, found, values)):
                return text
        text = _ENCODER.encode(mapping)
        if _plain_keys(mapping) and all(_frozen(v) for v in mapping.values()):
            self._last[path] = (tuple(mapping), tuple(mapping.values()), text)  # holds the objects themselves
        else:
            self._last.pop(path, None)
        return text


_BLOCK = tarfile.BLOCKSIZE
_RECORD = tarfile.RECORDSIZE
_ENCODING, _ERRORS = tarfile.ENCODING, "surrogateescape"  # tarfile.TarFile's defaults


def _tar_info(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, 0, 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


_TEMPLATE = bytearray(_tar_info("", 0).tobuf(tarfile.USTAR_FORMAT, _ENCODING, _ERRORS))
_TEMPLATE[148:156] = b" " * 8  # the checksum is computed over this field as spaces
_TEMPLATE_SUM = sum(_TEMPLATE) - sum(_TEMPLATE[0:100]) - sum(_TEMPLATE[124:136])  # without name and size


def tar_header(name: str, size: int) -> bytes:
    """The USTAR header ``tarfile`` writes for a regular file ``name`` of ``size`` bytes with the fixed metadata
    above (patched into a template for plain short names; other names go through ``TarInfo.tobuf``)."""
    encoded = name.encode("ascii") if name.isascii() else b""
    if not encoded or len(encoded) > 100 or b"\0" in encoded or not 0 <= size < 8**11:
        return _tar_info(name, size).tobuf(tarfile.USTAR_FORMAT, _ENCODING, _ERRORS)
    size_field = b"%011o\0" % size
    header = _TEMPLATE.copy()
    header[0 : len(encoded)] = encoded
    header[124:136] = size_field
    checksum = _TEMPLATE_SUM + sum(encoded) + sum(size_field)
    header[148:155] = b"%06o\0" % checksum  # tarfile keeps the field's eighth byte, a space
    return bytes(header)


def tar_bytes(members: Iterable[tuple[str, bytes]]) -> bytes:
    """The bytes of ``tarfile.open(mode="w", format=USTAR_FORMAT)`` after ``addfile`` of each ``(name, data)``
    (as :func:`tar_header` describes) and ``close``."""
    parts: list[bytes] = []
    offset = 0
    for name, data in members:
        size = len(data)
        padding = -size % _BLOCK
        parts += (tar_header(name, size), data, b"\0" * padding)
        offset += _BLOCK + size + padding
    end = 2 * _BLOCK
    end += -(offset + end) % _RECORD  # tarfile fills the last record with zero blocks
    parts.append(b"\0" * end)
    return b"".join(parts)
