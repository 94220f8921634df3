"""``generate_dataset``: sharded, resumable, reproducible generation of labelled frames.

Each shard is an independent task seeded by ``np.random.SeedSequence(seed).spawn(n_shards)[i]``, so a shard's bytes
depend only on the dataset settings and its index, never on the worker that ran it or on what ran before. Workers are
``spawn``-ed processes (an inherited GL context hangs). ``manifest.json`` is rewritten atomically after every
finished shard; a re-run with the same settings verifies and skips finished shards and builds the rest.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import warnings
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from tqdm import tqdm

from simreal.atomic import atomic_write_bytes
from simreal.data.episodes import RolloutSpec, camera_name, labelled_frames, make_data_env
from simreal.data.shards import ShardError, encode_frame, verify_shard, write_shard
from simreal.envs.config import check_int_range

__all__ = ["FORMAT", "MANIFEST", "ShardTask", "generate_dataset", "load_manifest", "shard_name"]

FORMAT = "simreal-wds/1"
MANIFEST = "manifest.json"
VERSIONED = ("simreal", "mujoco", "gymnasium", "numpy", "imageio", "pillow", "torch")
_SETTINGS = ("format", "env_id", "domain", "randomization", "camera", "image_size", "policy", "frames_per_episode")
_SETTINGS += ("stride", "seed", "n", "shard_size", "spec_hash")


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
    frames = labelled_frames(env, task.rollout, seed_sequence)
    samples = ((f"{task.index:06d}_{i:06d}", encode_frame(next(frames))) for i in range(task.count))
    sha256, size = write_shard(task.path, samples)
    return {
        "name": Path(task.path).name,
        "index": task.index,
        "seed": {"entropy": task.seed, "spawn_key": list(seed_sequence.spawn_key)},
        "count": task.count,
        "sha256": sha256,
        "bytes": size,
    }


def _versions() -> dict[str, str]:
    versions = {}
    for package in VERSIONED:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def load_manifest(out_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """The manifest of a dataset folder (ValueError naming the file if it is missing or unreadable)."""
    path = Path(out_dir) / MANIFEST
    try:
        return json.loads(path.read_text())
    except FileNotFoundError as error:
        raise ValueError(f"{path}: no manifest; is {Path(out_dir)} a simreal dataset folder?") from error
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: manifest is not valid JSON ({error})") from error


def _write_manifest(out: Path, settings: dict[str, Any], records: dict[int, dict[str, Any]], n_shards: int) -> None:
    shards = [records[i] for i in sorted(records)]
    manifest = {
        **settings,
        "n_shards": n_shards,
        "complete": len(shards) == n_shards,
        "counts": {"frames": sum(r["count"] for r in shards), "shards": len(shards)},
        "shards": shards,
        "versions": _versions(),
    }
    atomic_write_bytes(out / MANIFEST, (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode())


def _finished(out: Path, settings: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """Verified shard records of an earlier run with the same settings (corrupt shards are rebuilt)."""
    if not (out / MANIFEST).exists():
        return {}
    manifest = load_manifest(out)
    for key in _SETTINGS:
        if manifest.get(key) != settings[key]:
            raise ValueError(
                f"{key}: {out} holds a dataset made with {key}={manifest.get(key)!r}, not {settings[key]!r}; "
                "use another out_dir or the same settings to resume"
            )
    records = {}
    for record in manifest.get("shards", []):
        try:
            verify_shard(out / record["name"], record["sha256"], record["count"])
        except ShardError as error:
            warnings.warn(f"rebuilding shard: {error}", stacklevel=3)
            continue
        records[int(record["index"])] = record
    return records


def _check_args(n: int, shard_size: int, workers: int, seed: int) -> None:
    check_int_range("n", n, 1, 10**9)
    check_int_range("shard_size", shard_size, 1, 10**6)
    check_int_range("workers", workers, 0, 256)
    check_int_range("seed", seed, 0, 2**63 - 1)


def generate_dataset(
    env_id: str,
    n: int,
    out_dir: str | os.PathLike[str],
    *,
    domain: str | None = None,
    randomization: str | None = None,
    workers: int = 1,
    seed: int = 0,
    shard_size: int = 1000,
    image_size: int = 64,
    camera: str | None = None,
    policy: str = "oracle",
    frames_per_episode: int = 10,
    stride: int = 5,
    progress: bool = True,
) -> dict[str, Any]:
    """Generate ``n`` labelled frames of ``env_id`` into WebDataset-style tar shards under ``out_dir``.

    ``domain`` (canonical/train/test/real) or ``randomization`` (preset name or spec file) chooses the scene
    distribution (canonical when both are None). ``workers=0`` builds shards in this process. Re-running with the
    same settings resumes: verified finished shards are skipped. Returns the manifest.
    """
    _check_args(n, shard_size, workers, seed)
    rollout = RolloutSpec(env_id, domain, randomization, camera, image_size, policy, frames_per_episode, stride)
    probe = make_data_env(rollout)  # validates env id, domain and camera here; creates no GL context
    try:
        spec_hash = probe.get_wrapper_attr("spec_hash")
        camera = camera_name(probe)
    finally:
        probe.close()
    settings = {"format": FORMAT, **asdict(rollout), "camera": camera, "seed": seed, "n": n}
    settings.update({"domain": rollout.resolved_domain, "shard_size": shard_size, "spec_hash": spec_hash})
    rollout = RolloutSpec(**{**asdict(rollout), "camera": camera})
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob(".shard-*.tmp.tar"):  # temporaries of an interrupted run
        stale.unlink(missing_ok=True)
    n_shards = -(-n // shard_size)
    records = _finished(out, settings)
    counts = [min(shard_size, n - i * shard_size) for i in range(n_shards)]
    tasks = [
        ShardTask(rollout, seed, i, n_shards, counts[i], str(out / shard_name(i)))
        for i in range(n_shards)
        if i not in records
    ]
    _write_manifest(out, settings, records, n_shards)
    done = sum(r["count"] for r in records.values())
    with tqdm(total=n, initial=done, unit="frame", desc=f"{env_id} shards", disable=not progress) as bar:
        for record in _run(tasks, workers):
            records[record["index"]] = record
            _write_manifest(out, settings, records, n_shards)
            bar.update(record["count"])
    return load_manifest(out)


def _run(tasks: list[ShardTask], workers: int) -> Iterator[dict[str, Any]]:
    """Shard records as tasks finish: in this process (``workers=0``) or in a pool of spawned processes."""
    if workers == 0 or not tasks:
        for task in tasks:
            yield build_shard(task)
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=context) as pool:
        pending: set[Future[dict[str, Any]]] = {pool.submit(build_shard, task) for task in tasks}
        try:
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    yield future.result()
        finally:
            for future in pending:
                future.cancel()
