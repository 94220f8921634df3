"""SIGKILL a parallel command: no process it started may outlive it (workers, vector-env workers, resource tracker).

Each case starts the command in a fresh interpreter and session, waits until its workers are busy, kills it with
SIGKILL and checks through ``/proc`` that every descendant is gone within a few seconds. Linux only.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")

GRACE_S = 10.0


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of ``pid``, or None when it no longer exists."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[0], int(fields[1])


def descendants(root: int) -> set[int]:
    """Every live process below ``root``."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := _stat(int(entry))) is not None:
            children.setdefault(stat[1], []).append(int(entry))
    found, frontier = set(), [root]
    while frontier:
        for child in children.get(frontier.pop(), []):
            if child not in found:
                found.add(child)
                frontier.append(child)
    return found


def alive(pids: set[int]) -> set[int]:
    """The pids that still run (zombies count as dead)."""
    return {pid for pid in pids if (stat := _stat(pid)) is not None and stat[0] != "Z"}


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.2)


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def kill_and_check(proc: subprocess.Popen, min_children: int) -> dict[int, str]:
    """SIGKILL ``proc``; assert it had >= ``min_children`` descendants and none survives it; return their command
    lines (read before the kill)."""
    children = descendants(proc.pid)
    assert len(children) >= min_children, f"expected >= {min_children} worker processes, found {sorted(children)}"
    names = {pid: cmdline(pid) for pid in children}
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    try:
        wait_for(lambda: not alive(children), GRACE_S, "the killed command's processes to end")
    finally:
        for pid in alive(children):  # never leave orphans behind, even when the assertion fails
            os.kill(pid, signal.SIGKILL)
    return names


def _start(code: str, cwd: Path) -> subprocess.Popen:
    env = {**os.environ, "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl"), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, "-c", code], cwd=cwd, env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip


def test_dataset_generate_workers_die_with_the_killed_parent(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    code = (
        "import sys; from simreal.cli import main; sys.exit(main(['dataset', 'generate', 'simreal/Reach-v0', "
        f"'-n', '100000', '--shard-size', '5', '--workers', '2', '--policy', 'random', '--out', {str(out)!r}]))"
    )
    proc = _start(code, tmp_path)
    try:
        wait_for(lambda: len(list(out.glob("shard-*.tar"))) >= 2 or proc.poll() is not None, 120, "the first shards")
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        names = kill_and_check(proc, min_children=3)  # 2 workers + the resource tracker
        assert any("resource_tracker" in name for name in names.values()), names
    finally:
        if proc.poll() is None:
            proc.kill()
    shards = len(list(out.glob("shard-*.tar")))
    time.sleep(1.0)
    assert len(list(out.glob("shard-*.tar"))) == shards, "shards are still being written after the kill"


def test_train_with_subprocess_vector_envs_dies_with_the_killed_parent(tmp_path: Path) -> None:
    marker = tmp_path / "started"
    code = (
        "from pathlib import Path\n"
        "from stable_baselines3.common.callbacks import BaseCallback\n"
        "from simreal.agents.run_config import RunConfig\n"
        "from simreal.agents.train import train\n"
        "from stable_baselines3 import PPO\n"
        "class Started(BaseCallback):\n"
        "    def _on_step(self):\n"
        f"        Path({str(marker)!r}).touch()\n"
        "        return True\n"
        "learn = PPO.learn\n"
        "PPO.learn = lambda self, n, callback=None, **kw: learn(self, n, callback=[callback, Started()], **kw)\n"
        "train(RunConfig('simreal/Reach-v0', 'ppo', timesteps=10_000_000, n_envs=2, vec_env='subproc', eval_freq=0,\n"
        f"      out_dir={str(tmp_path / 'run')!r}, progress_bar=False))\n"
    )
    proc = _start(code, tmp_path)
    try:
        wait_for(lambda: marker.exists() or proc.poll() is not None, 120, "training to start")
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        kill_and_check(proc, min_children=2)  # 2 env workers (+ forkserver / resource tracker)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_local_workers_started_off_the_main_thread_die_through_the_parent_watch(tmp_path: Path) -> None:
    marker = tmp_path / "started"
    code = (
        "import threading, time\n"
        "from simreal.parallel import LocalExecutor\n"
        "def run():\n"
        "    pool = LocalExecutor(2)  # not the main thread: no PR_SET_PDEATHSIG, only the parent-pid watcher\n"
        "    list(pool.map(time.sleep, [0.2, 0.2]))\n"
        f"    open({str(marker)!r}, 'w').close()\n"
        "    time.sleep(600)\n"
        "thread = threading.Thread(target=run)\n"
        "thread.start()\n"
        "thread.join()\n"
    )
    proc = _start(code, tmp_path)
    try:
        wait_for(lambda: marker.exists() or proc.poll() is not None, 120, "the pool to start")
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        kill_and_check(proc, min_children=2)
    finally:
        if proc.poll() is None:
            proc.kill()
