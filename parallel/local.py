"""``LocalExecutor``: a pool of spawned processes that never outlive the process that started them.

A plain ``ProcessPoolExecutor`` killed with SIGKILL leaves its workers (and through them multiprocessing's resource
tracker) running: they keep working through the tasks already queued and then wait forever. Each worker here asks
Linux to SIGKILL it when its parent dies (``prctl(PR_SET_PDEATHSIG)``) and also watches its parent pid (other
platforms, and the small window before ``prctl``). The resource tracker exits by itself once no process holds its
pipe, i.e. once the parent and the workers are gone.

A worker ends without the interpreter's teardown: once the pool has shut it down and multiprocessing has run its own
exit steps, the atexit handlers run (the libraries' first) and the last one flushes the open file objects and calls
``os._exit(0)``. Tearing down the modules and objects of a worker that imported numba and rendered took ~0.35 s of
CPU per worker at every pool shutdown, after the last result was in.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import gc
import io
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor

__all__ = ["PARENT_POLL_S", "LocalExecutor", "die_with_parent", "init_worker"]

PARENT_POLL_S = 0.5  # how often the fallback watcher checks the parent pid
_PR_SET_PDEATHSIG = 1


def _set_parent_death_signal() -> bool:
    """Ask the kernel to SIGKILL this process when its parent thread exits (Linux only); True on success."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch_parent(parent_pid: int) -> None:
    while True:
        if os.getppid() != parent_pid:  # re-parented: the parent is gone
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(PARENT_POLL_S)


def die_with_parent(parent_pid: int, use_prctl: bool = True) -> None:
    """Worker initializer: end this process as soon as ``parent_pid`` dies (``prctl`` + a watcher thread)."""
    if use_prctl:
        _set_parent_death_signal()
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os.kill(os.getpid(), signal.SIGKILL)
    threading.Thread(target=_watch_parent, args=(parent_pid,), name="simreal-parent-watch", daemon=True).start()


_BUFFERED = frozenset({io.TextIOWrapper, io.BufferedWriter, io.BufferedRandom})  # what open() returns for writing


def _exit_now() -> None:
    """The worker's first atexit handler (so it runs last): flush every open file object (what the teardown would
    have done when freeing one a task left open; the scan of ``gc.get_objects()`` takes ~15 ms of CPU in a worker that
    rendered, ~55 ms with torch loaded) and end the process without the interpreter's teardown."""
    for stream in (*gc.get_objects(), sys.stdout, sys.stderr):
        if type(stream) in _BUFFERED:  # exact types: isinstance with the io ABCs costs ~1 us per object
            with contextlib.suppress(Exception):
                if not stream.closed:
                    stream.flush()
    os._exit(0)


def init_worker(parent_pid: int, use_prctl: bool = True) -> None:
    """Worker initializer: :func:`die_with_parent`, and exit without the interpreter's teardown (:func:`_exit_now`)."""
    die_with_parent(parent_pid, use_prctl)
    atexit.register(_exit_now)


class LocalExecutor(ProcessPoolExecutor):
    """``ProcessPoolExecutor`` of ``spawn``-ed workers (safe after a GL context or torch threads exist in the
    parent) whose workers die with their parent, even when it is killed with SIGKILL.

    ``PR_SET_PDEATHSIG`` fires when the *thread* that started a worker exits; workers start on ``submit``, so it is
    used only when the executor is created on the main thread (elsewhere the parent-pid watcher alone ends orphans,
    within ``PARENT_POLL_S`` seconds).
    """

    def __init__(self, max_workers: int | None = None) -> None:
        if max_workers is not None and max_workers < 1:
            raise ValueError(f"workers must be >= 1, got {max_workers}")
        use_prctl = threading.current_thread() is threading.main_thread()
        super().__init__(
            max_workers=max_workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=init_worker,
            initargs=(os.getpid(), use_prctl),
        )
