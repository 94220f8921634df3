"""Tasks whose outputs live under an fsspec URL, run by workers that see only their own disk.

The driver keeps a local mirror folder ``root`` of the shared ``url`` and builds its tasks with paths inside the
mirror, exactly as for a local run. :class:`MirroredExecutor` wraps any executor: on the worker, every path field
of a task (a dataclass) that lies under ``root`` is re-pointed to a scratch folder filled from the matching part of
``url``; after the task, the files it created or changed there are uploaded to ``url`` (each atomically); when the
task has finished, the driver's mirror of those paths is refreshed from ``url``.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simreal.parallel import storage
from simreal.parallel.executors import Resources, resources_of

__all__ = ["MirroredExecutor", "MirroredTask", "run_mirrored"]


def _under(value: Any, root: str) -> str | None:
    """``value``'s path relative to ``root`` when it is a path string inside ``root``."""
    if not isinstance(value, str) or storage.is_url(value):
        return None
    rel = os.path.relpath(os.path.abspath(value), root)
    return None if rel == ".." or rel.startswith(f"..{os.sep}") else Path(rel).as_posix()


def _path_fields(task: Any, root: str) -> dict[str, str]:
    if not dataclasses.is_dataclass(task):
        return {}
    found = {f.name: _under(getattr(task, f.name), root) for f in dataclasses.fields(task)}
    return {name: rel for name, rel in found.items() if rel is not None}


def _remote(url: str, rel: str) -> str:
    return url if rel == "." else storage.join(url, rel)


@dataclass(frozen=True)
class MirroredTask:
    """``fn(task)`` to run on a worker against ``url`` instead of the driver's mirror ``root``."""

    fn: Any
    task: Any
    root: str
    url: str

    @property
    def resources(self) -> Resources:
        """The wrapped task's resources."""
        return resources_of(self.task)


def run_mirrored(job: MirroredTask) -> Any:
    """Stage the task's paths in from the URL, run it in a scratch folder, stage what it wrote out."""
    fields = _path_fields(job.task, job.root)
    scratch = tempfile.mkdtemp(prefix="simreal-task-")
    try:
        staged: dict[Path, tuple[int, int]] = {}
        for rel in fields.values():
            staged.update(storage.download_tree(_remote(job.url, rel), Path(scratch, rel)))
            Path(scratch, rel).parent.mkdir(parents=True, exist_ok=True)
        local = {name: os.path.join(scratch, rel) for name, rel in fields.items()}
        result = job.fn(dataclasses.replace(job.task, **local))
        for rel in fields.values():
            if Path(scratch, rel).exists():
                storage.upload_tree(Path(scratch, rel), _remote(job.url, rel), skip=staged)
        inside = _under(result, scratch)  # a path the task returned: hand the driver its mirror's path
        return result if inside is None else os.path.join(job.root, inside)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


class MirroredExecutor(Executor):
    """Wrap ``inner`` so that dataclass tasks with paths under the local mirror ``root`` of ``url`` run anywhere
    (see the module docstring); other tasks are submitted unchanged."""

    def __init__(self, inner: Executor, root: str | os.PathLike[str], url: str) -> None:
        self.inner, self.root, self.url = inner, os.path.abspath(root), url

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        """Submit ``fn(task)``; the future completes once the driver's mirror holds the task's outputs."""
        if len(args) != 1 or kwargs or not _path_fields(args[0], self.root):
            return self.inner.submit(fn, *args, **kwargs)
        task = args[0]
        outer: Future[Any] = Future()

        def finish(inner: Future[Any]) -> None:
            try:
                result = inner.result()
                for rel in _path_fields(task, self.root).values():
                    storage.download_tree(_remote(self.url, rel), Path(self.root, rel))
            except BaseException as error:
                outer.set_exception(error)
            else:
                outer.set_result(result)

        self.inner.submit(run_mirrored, MirroredTask(fn, task, self.root, self.url)).add_done_callback(finish)
        return outer

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """The wrapped executor stays open: its owner shuts it down."""
