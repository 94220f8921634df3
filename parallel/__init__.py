"""Executors for lists of independent, seeded tasks: local processes by default, Ray on a cluster.

Every parallel path of simreal (dataset shards, experiment training and evaluation cells, evaluation domains,
frame collection) hands picklable tasks to a :class:`concurrent.futures.Executor` made by :func:`make_executor`:

- ``local``: :class:`LocalExecutor`, a pool of ``spawn``-ed processes that die with their parent;
- ``ray``: :class:`~simreal.parallel.ray_executor.RayExecutor` (``pip install 'simreal[ray]'``), which connects to
  ``RAY_ADDRESS`` or starts a local Ray and retries tasks whose worker died.

A task may declare what it needs with a ``resources`` attribute (:class:`Resources`). Outputs go to a path or an
fsspec URL (:mod:`simreal.parallel.storage`; :mod:`simreal.parallel.mirror` runs path-based tasks against a URL).
Infrastructure: imports no other simreal layer, and nothing here imports Ray unless ``executor="ray"`` is asked for.
"""

from simreal.parallel.executors import (
    EXECUTORS,
    Resources,
    executor_scope,
    make_executor,
    map_jobs,
    resources_of,
    run_unordered,
)
from simreal.parallel.local import LocalExecutor

__all__ = [
    "EXECUTORS",
    "LocalExecutor",
    "Resources",
    "executor_scope",
    "make_executor",
    "map_jobs",
    "resources_of",
    "run_unordered",
]
