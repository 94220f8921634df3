"""``RayExecutor``: the tasks of any simreal command on a Ray cluster, behind ``concurrent.futures.Executor``.

Connects to ``address`` / ``RAY_ADDRESS`` (a running cluster: ``ray up``, KubeRay, ``ray start --head``; ``auto``
finds one started on this machine) or starts a new local Ray (Ray's ``address="local"``: never one that another
process, e.g. a test's ``ray.cluster_utils.Cluster``, left in ``/tmp/ray/ray_current_cluster``). Each task runs as
``ray.remote(fn)`` with the CPUs and GPUs it declares (:class:`Resources`) and ``max_retries``: a task whose worker
process or node dies is run again, and because simreal's tasks are deterministic in their seed and write atomically,
the retry leaves the same bytes. Workers get ``MUJOCO_GL`` (the driver's, default ``egl``) through the job's
``runtime_env``, so rendering works on headless nodes. Futures are ordinary ``concurrent.futures.Future``s, so
``wait``/``as_completed`` stream results as they finish.

Two settings differ from Ray's defaults; neither changes what a task computes (see docs/cluster.md):

- tasks are scheduled ``SPREAD`` across nodes. Under Ray's default (hybrid) policy the driver kept feeding the
  worker it had leased on the head node: on a two-node cluster of one CPU each, every batch of 16 one-CPU tasks after
  the first ran entirely on the head node while the other node idled; ``SPREAD`` ran them 8 / 8;
- a Ray started here (no address) runs its workers at nice 0, like the local pool, instead of Ray's nice 15
  (``worker_niceness``), which lets any other process of the same login session take their CPU. An explicit
  ``RAY_worker_niceness`` in the environment wins.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any

from simreal.parallel.executors import resources_of

__all__ = ["DEFAULT_MAX_RETRIES", "DEFAULT_SCHEDULING", "LOCAL_SYSTEM_CONFIG", "RayExecutor", "local_system_config"]

DEFAULT_MAX_RETRIES = 3
DEFAULT_SCHEDULING = "SPREAD"  # Ray's scheduling_strategy for every task
LOCAL_SYSTEM_CONFIG: dict[str, Any] = {"worker_niceness": 0}  # Ray's _system_config for a Ray started by RayExecutor


def local_system_config() -> dict[str, Any]:
    """``LOCAL_SYSTEM_CONFIG`` less the settings the environment already sets (``RAY_<name>``, as Ray reads them)."""
    return {key: value for key, value in LOCAL_SYSTEM_CONFIG.items() if f"RAY_{key}" not in os.environ}


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as error:
        raise ValueError("executor: 'ray' needs Ray; install it with pip install 'simreal[ray]'") from error
    return ray


class RayExecutor(Executor):
    """Submit picklable functions and tasks to Ray; see the module docstring.

    ``num_cpus`` limits a Ray started here (default: every core); it is ignored when connecting to a cluster.
    ``runtime_env`` is merged into the job's runtime environment (e.g. ``{"pip": [...]}`` for a bare cluster).
    ``scheduling_strategy`` is Ray's, for every task (``"SPREAD"``; ``"DEFAULT"`` packs tasks as Ray would).
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        num_cpus: int | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        mujoco_gl: str | None = None,
        runtime_env: dict[str, Any] | None = None,
        scheduling_strategy: str = DEFAULT_SCHEDULING,
    ) -> None:
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries}")
        if scheduling_strategy not in ("SPREAD", "DEFAULT"):
            raise ValueError(f"scheduling_strategy must be one of ['SPREAD', 'DEFAULT'], got {scheduling_strategy!r}")
        self._ray = _import_ray()
        self.max_retries = max_retries
        self.scheduling_strategy = scheduling_strategy
        if not self._ray.is_initialized():
            env = dict(runtime_env or {})
            env_vars = {"MUJOCO_GL": mujoco_gl or os.environ.get("MUJOCO_GL", "egl"), **env.get("env_vars", {})}
            env["env_vars"] = env_vars
            address = address or os.environ.get("RAY_ADDRESS") or None
            self._ray.init(
                address=address or "local",
                num_cpus=None if address else num_cpus,
                runtime_env=env,
                include_dashboard=False if address is None else None,
                log_to_driver=True,
                _system_config=None if address else local_system_config() or None,
            )
        self._remotes: dict[Callable[..., Any], Any] = {}
        self._pending: dict[Future[Any], Any] = {}
        self._lock = threading.Lock()
        self._closed = False

    def _remote(self, fn: Callable[..., Any]) -> Any:
        remote = self._remotes.get(fn)
        if remote is None:
            remote = self._remotes[fn] = self._ray.remote(fn)
        return remote

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        """Run ``fn(*args, **kwargs)`` as a Ray task with the first argument's declared resources."""
        if self._closed:
            raise RuntimeError("cannot submit to a RayExecutor after shutdown")
        need = resources_of(args[0] if args else None)
        ref = (
            self._remote(fn)
            .options(
                num_cpus=need.cpus,
                num_gpus=need.gpus,
                max_retries=self.max_retries,
                retry_exceptions=False,
                scheduling_strategy=self.scheduling_strategy,
            )
            .remote(*args, **kwargs)
        )
        future: Future[Any] = ref.future()
        with self._lock:
            self._pending[future] = ref
        future.add_done_callback(self._forget)
        return future

    def _forget(self, future: Future[Any]) -> None:
        with self._lock:
            self._pending.pop(future, None)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Cancel unfinished tasks when ``cancel_futures`` (else wait for them when ``wait``). The connection stays
        open for later executors in this process; Ray closes it (and stops a Ray it started here) at exit, or call
        ``ray.shutdown()``."""
        self._closed = True
        with self._lock:
            pending = list(self._pending.items())
        if cancel_futures:
            for future, ref in pending:
                future.cancel()
                self._ray.cancel(ref, force=True)
        elif wait:
            for future, _ in pending:
                future.exception()
