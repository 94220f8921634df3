"""``generate_dataset``: sharded, resumable, reproducible generation of labelled frames.

Each shard is an independent task seeded by ``np.random.SeedSequence(seed).spawn(n_shards)[i]``, so a shard's bytes
depend only on the dataset settings and its index, never on the worker that ran it or on what ran before. Shards
run through an executor (:mod:`simreal.parallel`): ``spawn``-ed local processes (an inherited GL context hangs) that
die with their parent, or Ray, which retries a shard whose worker died. ``manifest.json`` is rewritten atomically
after every finished shard; a re-run with the same settings verifies and skips finished shards and builds the rest.
Settings come whole as a :class:`~simreal.data.config.DatasetConfig`; its ``out_dir`` is a path or an fsspec URL
that every worker can reach.
"""

from __future__ import annotations

import functools
import json
import os
import warnings
from collections.abc import Iterator
from concurrent.futures import Executor
from dataclasses import asdict, dataclass, replace
from importlib import metadata
from typing import Any

import gymnasium as gym
import numpy as np
from tqdm import tqdm

from simreal.data.config import DatasetConfig
from simreal.data.episodes import RolloutSpec, camera_name, labelled_frames, make_data_env
from simreal.data.shards import ShardError, encode_frame, verify_shard, write_shard
from simreal.parallel import make_executor, run_unordered, storage

__all__ = ["FORMAT", "MANIFEST", "ShardTask", "generate_dataset", "load_manifest", "shard_name"]

FORMAT = "simreal-wds/2"  # 2: raw .npy images and binary labels (1, PNG + JSON labels, is still read)
MANIFEST = "manifest.json"
VERSIONED = ("simreal", "mujoco", "gymnasium", "numpy", "imageio", "pillow", "torch")
_SETTINGS = ("format", "env_id", "domain", "randomization", "camera", "image_size", "policy", "frames_per_episode")
_SETTINGS += ("stride", "seed", "n", "shard_size", "spec_hash", "action_noise")  # action_noise: only when > 0
STALE = ".shard-*.tmp*"  # temporary shard files (local atomic writes and fsspec uploads)


def shard_name(index: int) -> str:
    """File name of shard ``index``."""
    return f"shard-{index:06d}.tar"


@dataclass(frozen=True)
class ShardTask:
    """Everything a worker needs to build one shard."""

    rollout: RolloutSpec
    seed: int
    index: int
    n_shards: int
    count: int
    path: str


_ENV_CACHE: dict[RolloutSpec, gym.Env] = {}  # one env per worker process and rollout spec, reused across shards


def build_shard(task: ShardTask) -> dict[str, Any]:
    """Generate and atomically write one shard; return its manifest record."""
    env = _ENV_CACHE.get(task.rollout)
    if env is None:
        env = _ENV_CACHE[task.rollout] = make_data_env(task.rollout)
    seed_sequence = np.random.SeedSequence(task.seed).spawn(task.n_shards)[task.index]
    frames = labelled_frames(env, task.rollout, seed_sequence, task.count)
    samples = ((f"{task.index:06d}_{i:06d}", encode_frame(frame)) for i, frame in enumerate(frames))
    sha256, size = write_shard(task.path, samples)
    return {
        "name": storage.name(task.path),
        "index": task.index,
        "seed": {"entropy": task.seed, "spawn_key": list(seed_sequence.spawn_key)},
        "count": task.count,
        "sha256": sha256,
        "bytes": size,
    }


@functools.cache  # read once per process: the manifest is rewritten after every shard
def _versions() -> dict[str, str]:
    versions = {}
    for package in VERSIONED:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def load_manifest(out_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """The manifest of a dataset folder or URL (ValueError naming the file if it is missing or unreadable)."""
    path = storage.join(out_dir, MANIFEST)
    try:
        return json.loads(storage.read_bytes(path))
    except FileNotFoundError as error:
        raise ValueError(f"{path}: no manifest; is {os.fspath(out_dir)} a simreal dataset folder?") from error
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: manifest is not valid JSON ({error})") from error


def _write_manifest(out: str, settings: dict[str, Any], records: dict[int, dict[str, Any]], n_shards: int) -> None:
    shards = [records[i] for i in sorted(records)]
    manifest = {
        **settings,
        "n_shards": n_shards,
        "complete": len(shards) == n_shards,
        "counts": {"frames": sum(r["count"] for r in shards), "shards": len(shards)},
        "shards": shards,
        "versions": _versions(),
    }
    storage.write_bytes(storage.join(out, MANIFEST), (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode())


def _verify(path: str, record: dict[str, Any]) -> None:
    """Check a finished shard against its manifest record (on a URL: its sha256 only, without a local copy)."""
    if not storage.is_url(path):
        verify_shard(path, record["sha256"], record["count"])
    elif not storage.exists(path):
        raise ShardError(f"{path}: shard file is missing")
    elif storage.file_sha256(path) != record["sha256"]:
        raise ShardError(f"{path}: sha256 does not match the manifest's (corrupt or partial shard)")


def _finished(out: str, settings: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """Verified shard records of an earlier run with the same settings (corrupt shards are rebuilt)."""
    if not storage.exists(storage.join(out, MANIFEST)):
        return {}
    manifest = load_manifest(out)
    for key in _SETTINGS:
        if manifest.get(key) != settings.get(key):
            raise ValueError(
                f"{key}: {out} holds a dataset made with {key}={manifest.get(key)!r}, not {settings.get(key)!r}; "
                "use another out_dir or the same settings to resume"
            )
    records = {}
    for record in manifest.get("shards", []):
        try:
            _verify(storage.join(out, record["name"]), record)
        except ShardError as error:
            warnings.warn(f"rebuilding shard: {error}", stacklevel=3)
            continue
        records[int(record["index"])] = record
    return records


def generate_dataset(
    config: DatasetConfig, executor: str | Executor = "local", *, progress: bool = True
) -> dict[str, Any]:
    """Generate ``config.n`` labelled frames into WebDataset-style tar shards under ``config.out_dir``.

    ``config.domain`` (canonical/train/test/real) or ``config.randomization`` (preset name or spec file) chooses the
    scene distribution (canonical when both are None). ``executor`` is ``local`` (``config.workers`` spawned
    processes; ``workers=0`` builds shards in this process), ``ray`` (see :mod:`simreal.parallel`) or an
    ``Executor`` instance. Re-running with the same settings resumes: verified finished shards are skipped.
    Returns the manifest.
    """
    probe = make_data_env(config.rollout)  # validates env id, domain and camera here; creates no GL context
    try:
        spec_hash = probe.get_wrapper_attr("spec_hash")
        camera = camera_name(probe)
    finally:
        probe.close()
    rollout = replace(config.rollout, camera=camera)
    n, shard_size = config.n, config.shard_size
    settings = {"format": FORMAT, **asdict(rollout), "seed": config.seed, "n": n}
    settings.update({"domain": rollout.resolved_domain, "shard_size": shard_size, "spec_hash": spec_hash})
    if rollout.action_noise == 0:  # added later: datasets written before it keep resuming
        del settings["action_noise"]
    out = os.fspath(config.out_dir)
    storage.makedirs(out)
    storage.remove(out, STALE)  # temporaries of an interrupted run
    n_shards = -(-n // shard_size)
    records = _finished(out, settings)
    counts = [min(shard_size, n - i * shard_size) for i in range(n_shards)]
    tasks = [
        ShardTask(rollout, config.seed, i, n_shards, counts[i], storage.join(out, shard_name(i)))
        for i in range(n_shards)
        if i not in records
    ]
    _write_manifest(out, settings, records, n_shards)
    done = sum(r["count"] for r in records.values())
    with tqdm(total=n, initial=done, unit="frame", desc=f"{config.env_id} shards", disable=not progress) as bar:
        for record in _run(tasks, config.workers, executor):
            records[record["index"]] = record
            _write_manifest(out, settings, records, n_shards)
            bar.update(record["count"])
    storage.remove(out, STALE)  # left by workers killed mid-shard (their shard was retried)
    return load_manifest(out)


def _run(tasks: list[ShardTask], workers: int, executor: str | Executor) -> Iterator[dict[str, Any]]:
    """Shard records as tasks finish: in this process (``workers=0``) or through the executor."""
    if not tasks:
        return
    if not isinstance(executor, str):
        yield from (record for _, record in run_unordered(executor, build_shard, tasks))
        return
    if workers == 0:
        if executor != "local":
            raise ValueError(f"workers: 0 (build shards in this process) needs executor 'local', not {executor!r}")
        yield from map(build_shard, tasks)
        return
    with make_executor(executor, min(workers, len(tasks)), len(tasks)) as pool:
        yield from (record for _, record in run_unordered(pool, build_shard, tasks))
