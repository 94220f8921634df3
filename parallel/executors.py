"""Choosing an executor, task resources, and results streamed as tasks finish."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = ["EXECUTORS", "Resources", "executor_scope", "make_executor", "map_jobs", "resources_of", "run_unordered"]

EXECUTORS = ("local", "ray")

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Resources:
    """What one task needs on a worker: CPU cores and GPUs (fractions allowed, as in Ray)."""

    cpus: float = 1.0
    gpus: float = 0.0

    def __post_init__(self) -> None:
        if not 0 <= self.cpus <= 1024:
            raise ValueError(f"cpus must be in [0, 1024], got {self.cpus}")
        if not 0 <= self.gpus <= 64:
            raise ValueError(f"gpus must be in [0, 64], got {self.gpus}")


def resources_of(task: Any) -> Resources:
    """The task's declared ``resources`` (one CPU, no GPU when it declares none)."""
    declared = getattr(task, "resources", None)
    return declared if isinstance(declared, Resources) else Resources()


def make_executor(kind: str = "local", workers: int | None = None, n_tasks: int | None = None) -> Executor:
    """A ``local`` process pool of ``workers`` processes (default: one per task, at most one per CPU core) or a
    ``ray`` executor (connects to ``RAY_ADDRESS``, otherwise starts a local Ray on every core). With Ray, the
    cluster's CPUs and each task's declared :class:`Resources` set the parallelism, so ``workers`` is not used.
    """
    if kind not in EXECUTORS:
        raise ValueError(f"executor must be one of {list(EXECUTORS)}, got {kind!r}")
    if workers is not None and not 1 <= workers <= 1024:
        raise ValueError(f"workers must be in [1, 1024], got {workers}")
    if kind == "ray":
        from simreal.parallel.ray_executor import RayExecutor

        return RayExecutor()
    from simreal.parallel.local import LocalExecutor

    cores = os.cpu_count() or 1
    return LocalExecutor(workers or max(1, min(n_tasks or cores, cores)))


@contextlib.contextmanager
def executor_scope(
    executor: str | Executor | None, workers: int | None = None, n_tasks: int | None = None
) -> Iterator[Executor | None]:
    """The executor for one batch of tasks: an ``Executor`` instance as given (its owner shuts it down); ``None``
    for ``local`` (or ``None``) with ``workers == 0``, meaning "run in this process"; otherwise a new executor from
    :func:`make_executor` (``workers == 0`` means no limit for Ray), shut down on exit."""
    if executor is not None and not isinstance(executor, str):
        yield executor
        return
    kind = executor or "local"
    if kind == "local" and workers == 0:
        yield None
        return
    with make_executor(kind, workers or None, n_tasks) as pool:
        yield pool


def map_jobs(
    fn: Callable[..., R], jobs: Sequence[tuple[Any, ...]], executor: str | Executor | None, workers: int | None
) -> list[R]:
    """``[fn(*job) for job in jobs]`` in job order, on :func:`executor_scope`'s executor (in this process when it
    gives none)."""
    with executor_scope(executor, workers, len(jobs)) as pool:
        if pool is None:
            return [fn(*job) for job in jobs]
        return list(pool.map(fn, *zip(*jobs, strict=True)))


def run_unordered(executor: Executor, fn: Callable[[T], R], tasks: Sequence[T]) -> Iterator[tuple[int, R]]:
    """``(index, fn(tasks[index]))`` as each task finishes (for progress bars); the first failure is raised and
    the tasks not yet started are cancelled."""
    futures: dict[Future[R], int] = {executor.submit(fn, task): i for i, task in enumerate(tasks)}
    pending = set(futures)
    try:
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in sorted(finished, key=futures.__getitem__):
                yield futures[future], future.result()
    finally:
        for future in pending:
            future.cancel()
