"""Ray on a real two-node cluster on this machine (``ray.cluster_utils.Cluster``): datasets and experiments give
the same bytes as the local executor, and a worker process killed mid-shard is retried into identical shards."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from simreal.data.config import DatasetConfig
from simreal.data.generate import generate_dataset
from simreal.experiments.block_frames import localization_frames
from simreal.experiments.policy_matrix import run_experiment
from simreal.parallel import run_unordered

ray = pytest.importorskip("ray")
cluster_utils = pytest.importorskip("ray.cluster_utils")

pytestmark = pytest.mark.slow

DATASET = {"env_id": "simreal/Reach-v0", "n": 48, "shard_size": 12, "image_size": 16}


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[object]:
    """Two Ray nodes of one CPU each; commands reach them through ``RAY_ADDRESS``, as on a real cluster."""
    cluster = cluster_utils.Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    old = os.environ.get("RAY_ADDRESS")
    os.environ["RAY_ADDRESS"] = cluster.address
    try:
        yield cluster
    finally:
        ray.shutdown()
        if old is None:
            os.environ.pop("RAY_ADDRESS", None)
        else:
            os.environ["RAY_ADDRESS"] = old
        cluster.shutdown()


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _ray_task_pids(name: str) -> list[int]:
    """Worker processes currently running the Ray task ``name`` (Ray titles them ``ray::NAME``)."""
    pids = []
    for entry in os.listdir("/proc"):
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if cmdline.startswith(f"ray::{name}".encode()):
            pids.append(int(entry))
    return pids


def test_dataset_through_ray_on_two_nodes_matches_local(ray_cluster: object, tmp_path: Path) -> None:
    generate_dataset(DatasetConfig(**DATASET, out_dir=tmp_path / "local", workers=2), progress=False)
    generate_dataset(DatasetConfig(**DATASET, out_dir=tmp_path / "ray"), "ray", progress=False)
    assert len(ray.nodes()) == 2
    assert _files(tmp_path / "ray") == _files(tmp_path / "local")


def test_tasks_are_spread_over_both_nodes(ray_cluster: object) -> None:
    from simreal.parallel.ray_executor import RayExecutor

    def node_of(seconds: float) -> str:  # busy for `seconds`; a closure, so Ray ships it by value
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            pass
        return str(ray.get_runtime_context().get_node_id())

    with RayExecutor() as pool:
        list(run_unordered(pool, node_of, [0.01] * 8))  # warm workers, as in a long run
        for _ in range(3):  # batches of tasks of about a small shard each
            nodes = [node for _, node in run_unordered(pool, node_of, [0.15] * 16)]
            counts = sorted(nodes.count(node) for node in set(nodes))
            # under Ray's default (hybrid) policy, from the second batch on all 16 ran on one node, the other idled
            assert len(counts) == 2 and counts[0] >= 4, counts


LOCAL_RAY = """
import os, ray
from simreal.parallel.ray_executor import RayExecutor
with RayExecutor(num_cpus=1) as pool:
    print(len(ray.nodes()), pool.submit(lambda: os.nice(0)).result())
"""


def test_without_ray_address_a_new_local_ray_runs_workers_at_nice_0(ray_cluster: object) -> None:
    # the fixture's Cluster wrote /tmp/ray/ray_current_cluster, which a plain ray.init() would join (and refuse our
    # _system_config there)
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "RAY_worker_niceness")}
    out = subprocess.run([sys.executable, "-c", LOCAL_RAY], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-2:] == ["1", "0"]  # its own one-node Ray; the worker's niceness (Ray's default: 15)


def test_worker_killed_mid_shard_is_retried_into_identical_shards(ray_cluster: object, tmp_path: Path) -> None:
    # a new image size: each worker builds its env inside its first shard task, so the kill lands mid-task
    settings = {**DATASET, "n": 96, "shard_size": 48, "image_size": 24}
    killed: list[int] = []
    stop = threading.Event()

    def kill_one_busy_worker() -> None:
        while not stop.is_set() and not killed:
            for pid in _ray_task_pids("build_shard"):
                time.sleep(0.1)
                if pid in _ray_task_pids("build_shard"):  # still inside the task
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                    break
            time.sleep(0.02)

    killer = threading.Thread(target=kill_one_busy_worker, daemon=True)
    killer.start()
    try:
        generate_dataset(DatasetConfig(**settings, out_dir=tmp_path / "ray"), "ray", progress=False)
    finally:
        stop.set()
        killer.join()
    assert killed, "no Ray worker was caught running build_shard"
    generate_dataset(DatasetConfig(**settings, out_dir=tmp_path / "reference", workers=0), progress=False)
    assert _files(tmp_path / "ray") == _files(tmp_path / "reference")  # no temporaries left either


def test_experiment_through_ray_matches_local(
    ray_cluster: object, tmp_path: Path, tiny_experiment: Callable[..., Path]
) -> None:
    with ThreadPoolExecutor(max_workers=1) as pool:
        run_experiment(tiny_experiment("local"), executor=pool)
    run_experiment(tiny_experiment("ray"), executor="ray")
    local = sorted((tmp_path / "local" / "runs" / "eval").rglob("results.json"))
    assert len(local) == 4
    for path in local:
        twin = tmp_path / "ray" / path.relative_to(tmp_path / "local")
        assert twin.read_bytes() == path.read_bytes(), path


def test_localization_frames_through_ray_match_local(ray_cluster: object) -> None:
    local = localization_frames("real", 6, 16, np.random.SeedSequence(3), 0)
    remote = localization_frames("real", 6, 16, np.random.SeedSequence(3), 0, "ray")
    for field in ("images", "positions", "pixels", "intrinsics", "world_to_camera"):
        assert np.array_equal(getattr(remote, field), getattr(local, field)), field
