"""Output paths shared by a driver and its workers: a local (or shared-filesystem) path, or an fsspec URL.

Local paths and ``file://`` URLs are written with :mod:`simreal.atomic` (temporary file + rename). Any other URL
(``s3://``, ``gs://``, ``abfs://``, ``memory://``, ...) goes through fsspec: the bytes are written to a temporary
object beside the target and then moved onto it, so a reader (or a resumed run) never sees half a file. The
protocol's fsspec package (``s3fs``, ``gcsfs``, ...) must be installed on the driver and every worker.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import uuid
from pathlib import Path
from typing import Any

from simreal.atomic import atomic_write_bytes

__all__ = [
    "download_tree",
    "exists",
    "file_sha256",
    "is_url",
    "join",
    "makedirs",
    "name",
    "read_bytes",
    "remove",
    "upload_tree",
    "write_bytes",
]

_LOCAL = ("file", "local")


def _protocol(path: str | os.PathLike[str]) -> str | None:
    text = os.fspath(path)
    return text.split("://", 1)[0] if "://" in text else None


def is_url(path: str | os.PathLike[str]) -> bool:
    """True for an fsspec URL outside the local filesystem (``s3://...``); False for paths and ``file://``."""
    return _protocol(path) not in (None, *_LOCAL)


def _local(path: str | os.PathLike[str]) -> Path:
    text = os.fspath(path)
    return Path(text.split("://", 1)[1]) if _protocol(text) in _LOCAL else Path(text)


def _fs(url: str) -> tuple[Any, str]:
    try:
        import fsspec
    except ImportError as error:  # pragma: no cover - fsspec is a core dependency
        raise ValueError(f"{url}: writing to URLs needs fsspec (pip install fsspec)") from error
    try:
        return fsspec.core.url_to_fs(url)
    except (ImportError, ValueError) as error:
        raise ValueError(f"{url}: no fsspec filesystem for this URL ({error})") from error


def join(base: str | os.PathLike[str], *names: str) -> str:
    """``base/name/...`` for a path or a URL."""
    text = os.fspath(base)
    if is_url(text):
        return "/".join([text.rstrip("/"), *names])
    return os.fspath(Path(_local(text), *names))


def name(path: str | os.PathLike[str]) -> str:
    """The last component of a path or URL."""
    return os.fspath(path).rstrip("/").rsplit("/", 1)[-1]


def makedirs(path: str | os.PathLike[str]) -> None:
    """Create the folder (a no-op on object stores without folders)."""
    if is_url(path):
        fs, root = _fs(os.fspath(path))
        fs.makedirs(root, exist_ok=True)
    else:
        _local(path).mkdir(parents=True, exist_ok=True)


def exists(path: str | os.PathLike[str]) -> bool:
    """Whether the file exists."""
    if is_url(path):
        fs, target = _fs(os.fspath(path))
        return bool(fs.exists(target))
    return _local(path).is_file()


def read_bytes(path: str | os.PathLike[str]) -> bytes:
    """The file's bytes (``FileNotFoundError`` when it is missing)."""
    if is_url(path):
        fs, target = _fs(os.fspath(path))
        return bytes(fs.cat_file(target))
    return _local(path).read_bytes()


def write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` atomically: readers see the old file or the new one, never a part."""
    if not is_url(path):
        atomic_write_bytes(_local(path), data)
        return
    fs, target = _fs(os.fspath(path))
    parent, _, base = target.rpartition("/")
    tmp = f"{parent}/.{base}.{uuid.uuid4().hex}.tmp"
    fs.pipe_file(tmp, data)
    try:
        fs.mv(tmp, target)
    finally:
        if fs.exists(tmp):
            fs.rm_file(tmp)


def remove(folder: str | os.PathLike[str], pattern: str) -> int:
    """Delete the files in ``folder`` matching the glob ``pattern`` (stale temporaries); return how many."""
    if is_url(folder):
        fs, root = _fs(os.fspath(folder))
        found = fs.glob(f"{root.rstrip('/')}/{pattern}")
        for item in found:
            fs.rm_file(item)
        return len(found)
    found = list(_local(folder).glob(pattern))
    for item in found:
        item.unlink(missing_ok=True)
    return len(found)


def file_sha256(path: str | os.PathLike[str]) -> str:
    """sha256 hex digest of the file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    if is_url(path):
        fs, target = _fs(os.fspath(path))
        opened = fs.open(target, "rb")
    else:
        opened = open(_local(path), "rb")
    with opened as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download_tree(url: str, local: str | os.PathLike[str]) -> dict[Path, tuple[int, int]]:
    """Copy every file under the URL (a folder, or one file) to ``local``; return ``{file: (size, mtime_ns)}``."""
    fs, root = _fs(url)
    if not fs.exists(root):
        return {}
    target = Path(local)
    files = [root] if fs.isfile(root) else fs.find(root)
    copied = {}
    for remote in files:
        rel = posixpath.relpath(remote, root)
        dest = target if rel == "." else target / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(bytes(fs.cat_file(remote)))
        stat = dest.stat()
        copied[dest] = (stat.st_size, stat.st_mtime_ns)
    return copied


def upload_tree(local: str | os.PathLike[str], url: str, skip: dict[Path, tuple[int, int]] | None = None) -> int:
    """Write every file under ``local`` to the URL (atomically each), except those in ``skip`` that are unchanged
    (same size and mtime); return how many were written."""
    source = Path(local)
    files = [source] if source.is_file() else sorted(p for p in source.rglob("*") if p.is_file())
    written = 0
    for path in files:
        stat = path.stat()
        if skip and skip.get(path) == (stat.st_size, stat.st_mtime_ns):
            continue
        rel = path.relative_to(source).as_posix() if path != source else ""
        write_bytes(join(url, *([rel] if rel else [])), path.read_bytes())
        written += 1
    return written
