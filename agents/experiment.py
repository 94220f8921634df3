"""Run a methods x seeds x domains experiment from a YAML file, then write the report.

A method is a training randomization (``none``/domain name/preset/YAML path) plus an optional CycleGAN
checkpoint applied at evaluation. Methods that share a training randomization share the trained policies.
Training cells (randomization x seed) and evaluation cells (method x seed x domain) are independent seeded
tasks run through a ``concurrent.futures`` executor (spawned local processes by default).
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import torch
import yaml

from simreal.agents.evaluate import DomainTask, default_executor, domain_tasks, run_domain_task, write_results
from simreal.agents.report import make_report
from simreal.agents.train import ALGOS, train

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class MethodSpec:
    """A named method: training randomization and optional evaluation-time transfer checkpoint."""

    name: str
    randomization: str | None = None
    transfer: str | None = None


@dataclass(frozen=True)
class ExperimentConfig:
    """An experiment matrix; relative paths are relative to the working directory."""

    name: str
    env_id: str
    algo: str
    methods: tuple[MethodSpec, ...]
    seeds: tuple[int, ...]
    domains: tuple[str, ...] = ("canonical", "test", "real")
    timesteps: int | None = None
    episodes: int = 50
    eval_seed: int = 0
    eval_freq: int = 10_000
    eval_episodes: int = 10
    n_envs: int | None = None
    config_path: str | None = None
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    target_success: float | None = None
    gif_frames: int = 40
    sensitivity_axes: tuple[str, ...] = ()
    sensitivity_strengths: tuple[float, ...] = (0.5, 1.0)
    workers: int | None = None
    out_dir: str | None = None
    report_dir: str | None = None

    def __post_init__(self) -> None:
        if self.algo not in ALGOS:
            raise ValueError(f"algo must be one of {sorted(ALGOS)}, got {self.algo!r}")
        if not self.methods or len({m.name for m in self.methods}) != len(self.methods):
            raise ValueError("methods must be a non-empty list with unique names")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds) or min(self.seeds) < 0:
            raise ValueError(f"seeds must be unique non-negative ints, got {list(self.seeds)}")
        if not self.domains:
            raise ValueError("domains must not be empty")
        if self.episodes < 1:
            raise ValueError(f"episodes must be >= 1, got {self.episodes}")
        if self.workers is not None and self.workers < 1:
            raise ValueError(f"workers must be >= 1, got {self.workers}")
        for i, m in enumerate(self.methods):
            if m.transfer is not None and not Path(m.transfer).exists():
                raise ValueError(f"methods[{i}].transfer: checkpoint {m.transfer} does not exist")

    @property
    def runs_dir(self) -> Path:
        """Root of training and evaluation outputs (default ``runs/<name>``)."""
        return Path(self.out_dir or f"runs/{self.name}")

    @property
    def report_path(self) -> Path:
        """Report directory (default ``report/<name>``)."""
        return Path(self.report_dir or f"report/{self.name}")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExperimentConfig:
        """Build from a parsed YAML mapping; unknown keys raise ``ValueError``."""
        _no_unknown(cls, data, "experiment")
        kwargs = dict(data)
        methods = kwargs.get("methods") or []
        for i, m in enumerate(methods):
            _no_unknown(MethodSpec, m, f"methods[{i}]")
        kwargs["methods"] = tuple(MethodSpec(**m) for m in methods)
        for key in ("seeds", "domains", "sensitivity_axes", "sensitivity_strengths"):
            if key in kwargs:
                kwargs[key] = tuple(kwargs[key])
        return cls(**kwargs)

    @classmethod
    def load(cls, path: str | Path) -> ExperimentConfig:
        """Read an experiment YAML file."""
        file = Path(path)
        if not file.is_file():
            raise ValueError(f"experiment config {file} does not exist")
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError(f"experiment config {file} must be a mapping")
        return cls.from_dict(data)


def _no_unknown(cls: type, data: Any, where: str) -> None:
    if not isinstance(data, dict):
        raise ValueError(f"{where} must be a mapping, got {type(data).__name__}")
    allowed = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ValueError(f"{where}: unknown keys {unknown}; allowed {sorted(allowed)}")


@dataclass(frozen=True)
class TrainTask:
    """One training cell (randomization x seed); picklable."""

    cfg: ExperimentConfig
    randomization: str | None
    seed: int
    out_dir: str
    threads: int = 1


def run_train_task(task: TrainTask) -> str:
    """Train one cell with ``task.threads`` torch threads; return the run directory."""
    torch.set_num_threads(task.threads)
    cfg = task.cfg
    out = train(
        cfg.env_id,
        cfg.algo,
        task.randomization,
        cfg.timesteps,
        task.seed,
        task.out_dir,
        config_path=cfg.config_path,
        n_envs=cfg.n_envs,
        eval_freq=cfg.eval_freq,
        env_kwargs=cfg.env_kwargs,
        eval_episodes=cfg.eval_episodes,
        progress_bar=False,
        target_success=cfg.target_success,
    )
    return str(out)


def _label(randomization: str | None) -> str:
    return "none" if randomization is None else Path(randomization).stem


def _map(executor: Executor, fn: Callable[[T], R], items: Sequence[T], what: str) -> list[R]:
    futures = [executor.submit(fn, item) for item in items]
    results = []
    for i, fut in enumerate(futures, 1):
        results.append(fut.result())
        print(f"[experiment] {what} {i}/{len(futures)} done", file=sys.stderr, flush=True)
    return results


def _train_dirs(cfg: ExperimentConfig) -> dict[tuple[str | None, int], str]:
    keys: Iterable[tuple[str | None, int]] = dict.fromkeys((m.randomization, s) for m in cfg.methods for s in cfg.seeds)
    return {(r, s): str(cfg.runs_dir / "train" / _label(r) / f"seed_{s}") for r, s in keys}


def _eval_tasks(cfg: ExperimentConfig, dirs: dict[tuple[str | None, int], str]) -> list[tuple[Path, DomainTask]]:
    sweep = [(axis, s) for axis in cfg.sensitivity_axes for s in cfg.sensitivity_strengths]
    cells = []
    for m in cfg.methods:
        for seed in cfg.seeds:
            out = cfg.runs_dir / "eval" / m.name / f"seed_{seed}"
            out.mkdir(parents=True, exist_ok=True)
            gif_frames = cfg.gif_frames if seed == cfg.seeds[0] else 0
            tasks = domain_tasks(
                dirs[(m.randomization, seed)], cfg.domains, cfg.episodes, cfg.eval_seed, m.transfer, gif_frames,
                out, sweep,
            )  # fmt: skip
            cells.extend((out, t) for t in tasks)
    return cells


def run_experiment(config_yaml: str | Path, executor: Executor | None = None) -> Path:
    """Train, evaluate and report the experiment in ``config_yaml``; return the path of ``report.html``."""
    cfg = ExperimentConfig.load(config_yaml)
    dirs = _train_dirs(cfg)
    pool = executor or default_executor(max(len(dirs), len(cfg.domains)), cfg.workers)
    try:
        train_tasks = [TrainTask(cfg, r, s, d) for (r, s), d in dirs.items()]
        _map(pool, run_train_task, train_tasks, "training cell")
        cells = _eval_tasks(cfg, dirs)
        results = _map(pool, run_domain_task, [t for _, t in cells], "evaluation cell")
    finally:
        if executor is None:
            pool.shutdown()
    by_out: dict[Path, list] = {}
    for (out, task), result in zip(cells, results, strict=True):
        by_out.setdefault(out, []).append((task, result))
    names = {cfg.runs_dir / "eval" / m.name: m.name for m in cfg.methods}
    for out, pairs in by_out.items():
        write_results(pairs[0][0].train_dir, [r for _, r in pairs], out, method=names[out.parent])
    return make_report(cfg.runs_dir / "eval", cfg.report_path)
