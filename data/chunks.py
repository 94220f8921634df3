"""Frame collection in seeded chunks: the same frames whatever the number of workers or the executor.

A collection of ``n`` frames is split into chunks of at most :data:`CHUNK` frames; chunk ``k`` is seeded by the
``k``-th child of the collection's ``SeedSequence`` (``spawn``) and run by :func:`simreal.parallel.map_jobs`, in
this process or on workers; the parts come back in order. :func:`concatenate` joins parts that are dataclasses of
per-frame arrays (the localization experiment's labelled frames, the transfer experiment's rendered pairs).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from typing import Any, TypeVar

import numpy as np

from simreal.parallel import map_jobs

__all__ = ["CHUNK", "collect_chunks", "concatenate"]

CHUNK = 250  # frames per worker task
T = TypeVar("T")


def collect_chunks(
    job: Callable[..., T],
    n: int,
    seed_sequence: np.random.SeedSequence,
    args: tuple[Any, ...],
    executor: str | Executor | None = "local",
    workers: int | None = 0,
) -> list[T]:
    """``[job(*args, count, seed) for each chunk]`` in chunk order: ``count`` frames (at most :data:`CHUNK`) and
    the chunk's child of ``seed_sequence``; ``job`` must be a module-level function (it is pickled to workers)."""
    counts = [min(CHUNK, n - start) for start in range(0, n, CHUNK)]
    seeds = seed_sequence.spawn(len(counts))
    return map_jobs(job, [(*args, count, seed) for count, seed in zip(counts, seeds, strict=True)], executor, workers)


def concatenate(parts: Sequence[T]) -> T:
    """One dataclass of per-frame arrays from chunk ``parts`` of the same class (each field concatenated)."""
    fields = [field.name for field in dataclasses.fields(parts[0])]  # type: ignore[arg-type]
    return type(parts[0])(*(np.concatenate([getattr(part, name) for part in parts]) for name in fields))
