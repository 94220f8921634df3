"""A re-run of an interrupted experiment resumes: finished training cells are not retrained, finished evaluation
cells are not re-evaluated, and the results are byte-identical to an uninterrupted run."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

from simreal.experiments.policy_matrix import CELLS, run_experiment
from simreal.parallel import storage


class CountingExecutor(ThreadPoolExecutor):
    """One worker thread; counts the submitted tasks by function name."""

    def __init__(self) -> None:
        super().__init__(max_workers=1)
        self.calls: dict[str, int] = {}

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future:
        self.calls[fn.__name__] = self.calls.get(fn.__name__, 0) + 1
        return super().submit(fn, *args, **kwargs)


def _config(tmp_path: Path, out_dir: str | None = None, report_dir: str | None = None) -> Path:
    zoo = tmp_path / "ppo.yml"
    zoo.write_text(
        "Pendulum-v1:\n  policy: MlpPolicy\n  n_steps: 64\n  batch_size: 64\n  n_epochs: 1\n"
        "  policy_kwargs: 'dict(net_arch=[16])'\n"
    )
    cfg = {
        "name": "resume",
        "env_id": "Pendulum-v1",
        "algo": "ppo",
        "methods": [{"name": "no-DR"}, {"name": "DR", "randomization": "train"}],
        "seeds": [0],
        "config_path": str(zoo),
        "timesteps": 64,
        "domains": ["canonical", "test"],
        "episodes": 2,
        "eval_freq": 0,
        "gif_frames": 0,
        "out_dir": out_dir or str(tmp_path / "runs"),
        "report_dir": report_dir or str(tmp_path / "report"),
    }
    path = tmp_path / f"exp{len(list(tmp_path.glob('exp*.yaml')))}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_rerun_skips_finished_cells_and_gives_the_same_bytes(tmp_path: Path) -> None:
    config = _config(tmp_path)
    with CountingExecutor() as first:
        run_experiment(config, executor=first)
    eval_root = tmp_path / "runs" / "eval"
    assert first.calls == {"run_train_task": 2, "run_domain_task": len(list(eval_root.rglob(f"{CELLS}/*.json")))}
    assert first.calls["run_domain_task"] == 4  # 2 methods x 2 domains
    results = {p: p.read_bytes() for p in sorted(eval_root.rglob("results.json"))}
    models = {p: p.stat().st_mtime_ns for p in sorted((tmp_path / "runs" / "train").glob("*/seed_0/model.zip"))}
    assert len(results) == len(models) == 2
    # a driver killed after training and one evaluation cell: results not yet written, one cell's record lost
    for path in results:
        path.unlink()
    lost = sorted((eval_root / "DR" / "seed_0" / CELLS).iterdir())[0]
    lost.unlink()
    with CountingExecutor() as second:
        run_experiment(config, executor=second)
    assert second.calls == {"run_train_task": 2, "run_domain_task": 1}  # training cells return at once
    assert {p: p.stat().st_mtime_ns for p in models} == models  # not retrained
    assert {p: p.read_bytes() for p in results} == results
    assert lost.exists()


def test_experiment_to_an_fsspec_url_matches_local_and_resumes_from_it(tmp_path: Path) -> None:
    fsspec = pytest.importorskip("fsspec")
    url = f"memory://simreal-exp-{id(tmp_path)}"
    with ThreadPoolExecutor(max_workers=1) as pool:
        run_experiment(_config(tmp_path), executor=pool)
        html = run_experiment(_config(tmp_path, f"{url}/runs", f"{url}/report"), executor=pool)
    assert html == f"{url}/report/report.html"
    fs = fsspec.filesystem("memory")
    try:
        local = sorted((tmp_path / "runs" / "eval").rglob("results.json"))
        assert len(local) == 2
        for path in local:
            rel = path.relative_to(tmp_path / "runs").as_posix()
            assert storage.read_bytes(f"{url}/runs/{rel}") == path.read_bytes(), rel
        assert storage.exists(f"{url}/runs/train/none/seed_0/model.zip")
        with CountingExecutor() as again:  # a new driver: nothing left locally, everything comes from the URL
            run_experiment(_config(tmp_path, f"{url}/runs", f"{url}/report"), executor=again)
        assert again.calls == {"run_mirrored": 2}  # the 2 training cells; evaluation cells are read back from the URL
        assert storage.exists(html)
    finally:
        fs.rm(url.split("://", 1)[1], recursive=True)
