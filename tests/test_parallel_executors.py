"""The executor layer: choice and validation, the local pool's die-with-parent setup, results streamed as they
finish, and the executor contract that Ray relies on (a task re-run after its worker died leaves the same bytes)."""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from simreal.cli import build_parser
from simreal.data.config import DatasetConfig
from simreal.data.generate import generate_dataset
from simreal.parallel import (
    LocalExecutor,
    Resources,
    executor_scope,
    make_executor,
    resources_of,
    run_unordered,
    storage,
)
from simreal.parallel.mirror import MirroredExecutor, MirroredTask

DATASET = {"env_id": "simreal/Reach-v0", "n": 12, "shard_size": 4, "image_size": 16}


def _generate(out: str | Path, executor: str | Executor = "local", **changes: Any) -> dict[str, Any]:
    return generate_dataset(DatasetConfig(**DATASET, out_dir=out, **changes), executor, progress=False)


def _square(x: int) -> int:
    if x < 0:
        raise ValueError(f"x must be >= 0, got {x}")
    return x * x


# evaluated in a spawned worker (this test module is not importable there): PR_GET_PDEATHSIG and the parent pid
PARENT_DEATH_SIGNAL = (
    "(lambda c, v: (c.CDLL(None).prctl(2, c.byref(v), 0, 0, 0), v.value, __import__('os').getppid())[1:])"
    "(__import__('ctypes'), __import__('ctypes').c_int(0))"
)


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize(
    ("kind", "workers", "match"),
    [("dask", None, r"executor must be one of \['local', 'ray'\]"), ("local", 0, "workers")],
)
def test_make_executor_rejects_bad_choices(kind: str, workers: int | None, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make_executor(kind, workers)


def test_resources_are_checked_and_read_from_the_task() -> None:
    with pytest.raises(ValueError, match="cpus"):
        Resources(cpus=-1)
    with pytest.raises(ValueError, match="gpus"):
        Resources(gpus=100)
    task = type("Task", (), {"resources": Resources(cpus=2, gpus=0.5)})()
    assert resources_of(task) == Resources(2, 0.5)
    assert resources_of(object()) == Resources(1, 0)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux-only")
def test_local_workers_are_spawned_with_a_parent_death_signal() -> None:
    with LocalExecutor(2) as pool:
        signals = list(pool.map(eval, [PARENT_DEATH_SIGNAL] * 2))
    assert signals == [(int(signal.SIGKILL), os.getpid())] * 2


def test_run_unordered_streams_every_result_and_raises_the_first_failure() -> None:
    with ThreadPoolExecutor(2) as pool:
        assert sorted(run_unordered(pool, _square, [3, 1, 2])) == [(0, 9), (1, 1), (2, 4)]
        with pytest.raises(ValueError, match="x must be >= 0"):
            list(run_unordered(pool, _square, [1, -1, 2]))


def test_executor_scope() -> None:
    with ThreadPoolExecutor(1) as given, executor_scope(given) as pool:
        assert pool is given  # the caller's executor is used as is (and not shut down here)
    with executor_scope("local", 0) as pool:
        assert pool is None  # in this process
    with executor_scope("local", 1) as pool:
        assert isinstance(pool, LocalExecutor)
        assert pool.submit(pow, 4, 2).result() == 16


def test_ray_executor_without_ray_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(ValueError, match=r"simreal\[ray\]"):
        make_executor("ray")


@pytest.mark.parametrize("command", [["evaluate", "RUN"], ["experiment", "X.yaml"], ["dataset", "generate", "ID"]])
def test_every_parallel_command_has_an_executor_option(command: list[str]) -> None:
    extra = ["-n", "1", "--out", "d"] if command[0] == "dataset" else []
    assert build_parser().parse_args([*command, *extra]).executor == "local"
    assert build_parser().parse_args([*command, *extra, "--executor", "ray"]).executor == "ray"
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([*command, *extra, "--executor", "dask"])
    assert exit_info.value.code == 2


class InlineExecutor(Executor):
    """Runs each task in this thread on submit (GL contexts are per thread, so no thread pool)."""

    def __init__(self) -> None:
        self.attempts = 0

    def attempt(self, fn: Any, *args: Any) -> Any:
        self.attempts += 1
        return fn(*args)

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        future.set_result(self.attempt(fn, *args))
        return future


class RetryingExecutor(InlineExecutor):
    """A fake of Ray's fault tolerance: each task's first attempt finishes its write but its worker dies before
    reporting, a second dies mid-write (leaving the temporary file of an interrupted atomic write), and the
    third, as Ray's ``max_retries`` would, runs again and reports."""

    def attempt(self, fn: Any, *args: Any) -> Any:
        super().attempt(fn, *args)  # result lost with the worker
        path = Path(args[0].path)
        path.with_name(f".{path.name}.killed.tmp.tar").write_bytes(b"half a shard")
        self.attempts += 1
        return super().attempt(fn, *args)


def test_dataset_through_any_executor_is_byte_identical(tmp_path: Path) -> None:
    _generate(tmp_path / "reference", workers=0)
    inline, retrying = InlineExecutor(), RetryingExecutor()
    _generate(tmp_path / "inline", inline)
    _generate(tmp_path / "retried", retrying)
    assert (inline.attempts, retrying.attempts) == (3, 9)
    reference = _files(tmp_path / "reference")
    assert len(reference) == 4  # 3 shards + manifest, no temporaries left
    assert _files(tmp_path / "inline") == reference
    assert _files(tmp_path / "retried") == reference


def test_dataset_to_an_fsspec_url_matches_the_local_bytes_and_resumes(tmp_path: Path) -> None:
    fsspec = pytest.importorskip("fsspec")
    url = f"memory://simreal-test-{os.getpid()}/ds"
    _generate(tmp_path / "local", workers=0)
    _generate(url, workers=0)
    fs = fsspec.filesystem("memory")
    try:
        root = url.split("://", 1)[1]
        remote = {Path(p).name: fs.cat_file(p) for p in sorted(fs.ls(root, detail=False))}
        assert remote == _files(tmp_path / "local")
        fs.rm_file(f"{root}/shard-000001.tar")  # a lost shard is rebuilt on resume, the others are kept
        with pytest.warns(UserWarning, match="rebuilding shard"):
            manifest = _generate(url, workers=0)
        assert manifest["complete"]
        assert fs.cat_file(f"{root}/shard-000001.tar") == remote["shard-000001.tar"]
    finally:
        fs.rm(f"/simreal-test-{os.getpid()}", recursive=True)


def test_workers_zero_needs_the_local_executor(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="workers: 0"):
        _generate(tmp_path, "ray", workers=0)


def test_the_driver_reads_package_versions_once_not_per_shard(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The driver rewrites the manifest after every shard; re-reading 7 packages' metadata each time cost it about
    0.1 ms of CPU per frame (shards of 50), CPU that two workers on two cores need."""
    from simreal.data import generate

    calls: list[str] = []
    real_version = generate.metadata.version
    monkeypatch.setattr(generate.metadata, "version", lambda name: calls.append(name) or real_version(name))
    generate._versions.cache_clear()
    manifest = _generate(tmp_path, workers=0)  # 3 shards, 4 manifest writes
    assert manifest["versions"]["numpy"] == real_version("numpy")
    assert sorted(calls) == sorted(generate.VERSIONED)


@dataclass(frozen=True)
class WriteTask:
    out_dir: str  # a path under the driver's mirror: staged on the worker
    text: str  # not a path: passed as is


def _write(task: WriteTask) -> str:
    previous = Path(task.out_dir, "log.txt").read_text() if Path(task.out_dir, "log.txt").exists() else ""
    Path(task.out_dir).mkdir(parents=True, exist_ok=True)
    Path(task.out_dir, "log.txt").write_text(previous + task.text)
    return task.out_dir


def test_mirrored_tasks_stage_their_paths_through_the_url(tmp_path: Path) -> None:
    fsspec = pytest.importorskip("fsspec")
    url = f"memory://simreal-mirror-{id(tmp_path)}"
    mirror = tmp_path / "mirror"
    job = MirroredTask(_write, WriteTask(str(mirror / "cell"), "a"), str(mirror), url)
    assert pickle.loads(pickle.dumps(job)) == job  # what a process pool or Ray sends to a worker
    pool = MirroredExecutor(InlineExecutor(), mirror, url)
    try:
        assert pool.submit(_write, WriteTask(str(mirror / "cell"), "a")).result() == str(mirror / "cell")
        assert storage.read_bytes(f"{url}/cell/log.txt") == b"a"  # uploaded by the worker
        assert (mirror / "cell" / "log.txt").read_text() == "a"  # pulled into the driver's mirror
        (mirror / "cell" / "log.txt").unlink()  # the worker reads what the URL holds, not the driver's disk
        pool.submit(_write, WriteTask(str(mirror / "cell"), "b")).result()
        assert storage.read_bytes(f"{url}/cell/log.txt") == b"ab"
        assert pool.submit(pow, 2, 3).result() == 8  # tasks without paths go through unchanged
    finally:
        fsspec.filesystem("memory").rm(url.split("://", 1)[1], recursive=True)


class FakeRay:
    """Just enough of the ``ray`` module to check what RayExecutor asks of it."""

    def __init__(self) -> None:
        self.initialized, self.init_kwargs, self.options = False, {}, []

    def is_initialized(self) -> bool:
        return self.initialized

    def init(self, **kwargs: Any) -> None:
        self.initialized, self.init_kwargs = True, kwargs

    def remote(self, fn: Any) -> Any:
        fake = self

        class Remote:
            def options(self, **options: Any) -> Any:
                fake.options.append(options)

                class Call:
                    def remote(self, *args: Any) -> Any:
                        class Ref:
                            def future(self) -> Future:
                                future: Future = Future()
                                future.set_result(fn(*args))
                                return future

                        return Ref()

                return Call()

        return Remote()


def test_ray_executor_passes_resources_retries_and_mujoco_gl(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeRay()
    monkeypatch.setitem(sys.modules, "ray", fake)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setenv("MUJOCO_GL", "osmesa")
    pool = make_executor("ray", workers=3)
    task = type("Task", (), {"resources": Resources(cpus=2, gpus=1)})()
    assert sorted(run_unordered(pool, str, [task, 7])) == [(0, str(task)), (1, "7")]
    assert fake.init_kwargs["address"] == "local"  # no RAY_ADDRESS: a new local Ray, not another process's one
    assert fake.init_kwargs["runtime_env"] == {"env_vars": {"MUJOCO_GL": "osmesa"}}  # workers render the same way
    assert {(o["num_cpus"], o["num_gpus"], o["max_retries"]) for o in fake.options} == {(2, 1, 3), (1, 0, 3)}
    pool.shutdown()
    with pytest.raises(RuntimeError, match="after shutdown"):
        pool.submit(str, 1)


def test_ray_executor_spreads_tasks_and_runs_a_local_ray_at_normal_priority(monkeypatch: pytest.MonkeyPatch) -> None:
    from simreal.parallel.ray_executor import RayExecutor

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.delenv("RAY_worker_niceness", raising=False)
    fake = FakeRay()
    monkeypatch.setitem(sys.modules, "ray", fake)
    assert RayExecutor().submit(str, 1).result() == "1"
    assert fake.options[0]["scheduling_strategy"] == "SPREAD"  # Ray's default packed tasks onto the head node
    assert fake.init_kwargs["_system_config"] == {"worker_niceness": 0}  # Ray's default is nice 15

    monkeypatch.setenv("RAY_worker_niceness", "10")  # the user's explicit choice wins
    fake = FakeRay()
    monkeypatch.setitem(sys.modules, "ray", fake)
    RayExecutor(scheduling_strategy="DEFAULT").submit(str, 1).result()
    assert fake.options[0]["scheduling_strategy"] == "DEFAULT"
    assert fake.init_kwargs["_system_config"] is None

    fake = FakeRay()
    monkeypatch.setitem(sys.modules, "ray", fake)
    monkeypatch.delenv("RAY_worker_niceness")
    RayExecutor(address="ray://head:10001")
    assert fake.init_kwargs["_system_config"] is None  # a running cluster keeps its own settings
    with pytest.raises(ValueError, match=r"scheduling_strategy must be one of \['SPREAD', 'DEFAULT'\]"):
        RayExecutor(scheduling_strategy="PACK")


def test_experiment_tasks_declare_their_resources() -> None:
    from simreal.agents.evaluate import DomainTask
    from simreal.experiments.policy_matrix import TrainTask, base_run
    from simreal.experiments.policy_matrix_config import ExperimentConfig

    base = {"name": "t", "env_id": "Pendulum-v1", "algo": "ppo", "methods": [{"name": "a"}], "seeds": [0]}
    assert TrainTask(base_run(ExperimentConfig.from_dict(base)), "out").resources == Resources(1, 0)
    gpu = ExperimentConfig.from_dict({**base, "device": "cuda"})
    assert TrainTask(base_run(gpu), "out", threads=4).resources == Resources(4, 1)
    assert DomainTask("run", "canonical", 1, 0, threads=2).resources == Resources(2, 0)
    with pytest.raises(ValueError, match="device"):
        ExperimentConfig.from_dict({**base, "device": "tpu"})


def test_nothing_imports_ray_unless_asked() -> None:
    code = (
        "import sys, simreal.cli, simreal.data.generate, simreal.experiments.policy_matrix, simreal.parallel.mirror\n"
        "simreal.cli.build_parser()\n"
        "print('ray' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "False"


# run by a spawned worker: an object whose __del__ only runs in the interpreter's teardown, and an atexit hook
# registered by the task (as numba and llvmlite register theirs)
TEARDOWN_PROBE = """
import atexit, builtins, pathlib
folder = pathlib.Path({folder!r})
class Probe:
    def __del__(self):
        (folder / "teardown").write_text("ran")
builtins._simreal_teardown_probe = Probe()
atexit.register((folder / "atexit").write_text, "ran")
builtins._simreal_open_file = open(folder / "left_open", "w")  # buffered, never closed by the task
builtins._simreal_open_file.write("kept")
"""


def test_local_workers_run_the_atexit_hooks_and_skip_the_interpreter_teardown(tmp_path: Path) -> None:
    with LocalExecutor(1) as pool:
        pool.submit(exec, TEARDOWN_PROBE.format(folder=str(tmp_path)), {}).result()
    assert (tmp_path / "atexit").read_text() == "ran"  # the libraries' exit hooks still run
    assert not (tmp_path / "teardown").exists()  # the module/object teardown (~0.35 s with numba loaded) does not
    assert (tmp_path / "left_open").read_text() == "kept"  # but files a task left open are flushed, as it would
