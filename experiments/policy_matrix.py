"""Run a methods x seeds x domains experiment from a YAML file, then write the report.

A method is a training randomization (``none``/domain name/preset/YAML path) plus an optional CycleGAN
checkpoint applied at evaluation. Methods that share a training randomization share the trained policies.
Training cells (randomization x seed) and evaluation cells (method x seed x domain) are independent seeded
tasks run through a ``concurrent.futures`` executor (:mod:`simreal.parallel`: spawned local processes by default,
or Ray). A re-run resumes: finished training cells are skipped by :func:`~simreal.agents.train.train`, and each
finished evaluation cell's result is kept in ``<eval dir>/.cells/`` (keyed by the task and the policy's sha256).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import torch

from simreal.agents.callbacks import MODEL
from simreal.agents.evaluate import (
    DomainTask,
    check_domains,
    default_executor,
    domain_tasks,
    run_domain_task,
    write_results,
)
from simreal.agents.hyperparams import load_hyperparams
from simreal.agents.report import make_report
from simreal.agents.results import DomainResult
from simreal.agents.run_config import ALGOS, EvalConfig, RunConfig
from simreal.agents.train import train
from simreal.atomic import atomic_write_text
from simreal.envs.config import no_unknown_keys
from simreal.experiments.config import SPEC_SUFFIXES, read_experiment, resolve_input
from simreal.experiments.translators import (
    CycleGANTranslator,
    RCANTranslator,
    Translator,
    check_translator,
    parse_transfer,
    train_translator,
)
from simreal.parallel import Resources, run_unordered, storage
from simreal.parallel.mirror import MirroredExecutor
from simreal.randomization.selection import parse_randomization
from simreal.randomization.sweeps import LATENCY

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class MethodSpec:
    """A named method: training randomization and an optional translator in front of the policy at evaluation,
    a checkpoint path or one the experiment trains (:func:`~simreal.experiments.translators.parse_transfer`)."""

    name: str
    randomization: str | None = None
    transfer: str | Translator | None = None


@dataclass(frozen=True)
class ExperimentConfig:
    """An experiment matrix. :meth:`load` resolves relative input paths (``config_path``, spec files, checkpoints)
    against the experiment file (see :func:`resolve_input`); outputs (``out_dir``, ``report_dir``) are relative to
    the working directory."""

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
    hyperparams: dict[str, Any] = field(default_factory=dict)  # merged on config_path's entry (merge_overrides)
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    target_success: float | None = None
    gif_frames: int = 40
    sensitivity_axes: tuple[str, ...] = ()
    sensitivity_strengths: tuple[float, ...] = (0.5, 1.0)
    latency_steps: tuple[float, ...] = ()  # evaluate's latency sweep (canonical scene at k steps of latency)
    workers: int | None = None
    out_dir: str | None = None
    report_dir: str | None = None
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.algo not in ALGOS:
            raise ValueError(f"algo must be one of {sorted(ALGOS)}, got {self.algo!r}")
        if not self.methods or len({m.name for m in self.methods}) != len(self.methods):
            raise ValueError("methods must be a non-empty list with unique names")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds) or min(self.seeds) < 0:
            raise ValueError(f"seeds must be unique non-negative ints, got {list(self.seeds)}")
        if not self.domains:
            raise ValueError("domains must not be empty")
        check_domains(self.domains)
        if self.episodes < 1:
            raise ValueError(f"episodes must be >= 1, got {self.episodes}")
        for k in self.latency_steps:
            if isinstance(k, bool) or not isinstance(k, (int, float)) or not 0 <= k <= 20:
                raise ValueError(f"latency_steps: each must be a number of control steps in [0, 20], got {k!r}")
        if self.workers is not None and self.workers < 1:
            raise ValueError(f"workers must be >= 1, got {self.workers}")
        if self.device != "cpu" and not self.device.startswith("cuda"):
            raise ValueError(f"device must be 'cpu' or 'cuda[:N]', got {self.device!r}")
        for i, m in enumerate(self.methods):
            parse_randomization(m.randomization, f"methods[{i}].randomization")  # parsed again per training cell
            if isinstance(m.transfer, str) and not Path(m.transfer).exists():
                raise ValueError(f"methods[{i}].transfer: checkpoint {m.transfer} does not exist")
            if isinstance(m.transfer, RCANTranslator | CycleGANTranslator):
                check_translator(m.transfer, self.env_id, f"methods[{i}].transfer")
        if self.hyperparams:  # a bad override fails here, not in a training worker
            load_hyperparams(self.algo, self.env_id, self.config_path, self.env_kwargs, self.hyperparams)

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
        no_unknown_keys(cls, data, "experiment")
        kwargs = dict(data)
        methods = kwargs.get("methods") or []
        for i, m in enumerate(methods):
            no_unknown_keys(MethodSpec, m, f"methods[{i}]")
        kwargs["methods"] = tuple(
            MethodSpec(**{**m, "transfer": parse_transfer(m.get("transfer"), f"methods[{i}].transfer")})
            for i, m in enumerate(methods)
        )
        for key in ("seeds", "domains", "sensitivity_axes", "sensitivity_strengths", "latency_steps"):
            if key in kwargs:
                if not isinstance(kwargs[key], list):
                    raise ValueError(f"experiment: {key} must be a list, got {kwargs[key]!r}")
                kwargs[key] = tuple(kwargs[key])
        try:
            return cls(**kwargs)
        except TypeError as exc:  # a missing key, or a value of the wrong type compared in __post_init__
            raise ValueError(f"experiment: {exc}") from exc

    @classmethod
    def load(cls, path: str | Path) -> ExperimentConfig:
        """Read an experiment YAML file (``kind: policy_matrix``, or no ``kind``), resolving its relative input
        paths (:func:`~simreal.experiments.config.resolve_input`)."""
        file = Path(path)
        _, data = read_experiment(file, "policy_matrix")
        return cls.parse(data, file.parent)

    @classmethod
    def parse(cls, data: dict[str, Any], base: Path) -> ExperimentConfig:
        """Build from the keys of an experiment file (without ``kind``) in the folder ``base``."""
        return cls.from_dict(_resolve_inputs(data, base))


def _resolve_inputs(data: dict[str, Any], base: Path) -> dict[str, Any]:
    """A copy of ``data`` with relative input paths resolved (values of the wrong type are left for validation)."""
    out = dict(data)
    if isinstance(out.get("config_path"), str):
        out["config_path"] = resolve_input(out["config_path"], base, "config_path")
    if isinstance(out.get("domains"), list):
        out["domains"] = [
            resolve_input(d, base, f"domains[{i}]") if isinstance(d, str) and Path(d).suffix in SPEC_SUFFIXES else d
            for i, d in enumerate(out["domains"])
        ]
    if isinstance(out.get("methods"), list):
        methods = []
        for i, method in enumerate(out["methods"]):
            method = dict(method) if isinstance(method, dict) else method
            if isinstance(method, dict):
                rand = method.get("randomization")
                if isinstance(rand, str) and Path(rand).suffix in SPEC_SUFFIXES:
                    method["randomization"] = resolve_input(rand, base, f"methods[{i}].randomization")
                if isinstance(method.get("transfer"), str):
                    method["transfer"] = resolve_input(method["transfer"], base, f"methods[{i}].transfer")
            methods.append(method)
        out["methods"] = methods
    return out


def base_run(cfg: ExperimentConfig) -> RunConfig:
    """The training settings every cell of ``cfg`` shares; a cell replaces ``randomization``, ``seed`` and
    ``out_dir`` (``dataclasses.replace``)."""
    return RunConfig(
        env_id=cfg.env_id,
        algo=cfg.algo,
        timesteps=cfg.timesteps,
        config_path=cfg.config_path,
        hyperparams_overrides=cfg.hyperparams,
        env_kwargs=cfg.env_kwargs,
        n_envs=cfg.n_envs,
        eval_freq=cfg.eval_freq,
        eval_episodes=cfg.eval_episodes,
        target_success=cfg.target_success,
        progress_bar=False,
        device=cfg.device,
    )


@dataclass(frozen=True)
class TrainTask:
    """One training cell (randomization x seed); picklable. Its run directory is ``out_dir``, a top-level path
    field (which :class:`~simreal.parallel.mirror.MirroredExecutor` re-points on a worker), not ``run.out_dir``."""

    run: RunConfig
    out_dir: str
    threads: int = 1

    @property
    def resources(self) -> Resources:
        """What the cell needs on a worker (read by the Ray executor): its threads, and a GPU for ``cuda``."""
        return Resources(cpus=self.threads, gpus=0.0 if self.run.device == "cpu" else 1.0)


def run_train_task(task: TrainTask) -> str:
    """Train one cell with ``task.threads`` torch threads; return the run directory."""
    torch.set_num_threads(task.threads)
    return str(train(replace(task.run, out_dir=task.out_dir)))


def _label(randomization: str | None) -> str:
    return "none" if randomization is None else Path(randomization).stem


def _map(executor: Executor, fn: Callable[[T], R], items: Sequence[T], what: str) -> Iterator[tuple[int, R]]:
    """``(index, result)`` as cells finish, with a progress line per cell: elapsed time and an ETA from the mean
    time per cell so far (cells resumed from an earlier run finish at once, so early ETAs can be low)."""
    start = time.monotonic()
    for done, (i, result) in enumerate(run_unordered(executor, fn, items), 1):
        elapsed = time.monotonic() - start
        eta = elapsed / done * (len(items) - done)
        print(
            f"[experiment] {what} {done}/{len(items)} done, {elapsed / 60:.1f} min elapsed, ETA {eta / 60:.1f} min",
            file=sys.stderr,
            flush=True,
        )
        yield i, result


CELLS = ".cells"


def _cell_key(task: DomainTask) -> dict[str, Any]:
    model = Path(task.train_dir) / MODEL
    return json.loads(json.dumps({"task": dataclasses.asdict(task), "model_sha256": _sha256(model)}))


def _sha256(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def _cell_file(out: Path, key: dict[str, Any]) -> Path:
    digest = hashlib.sha256(json.dumps(key["task"], sort_keys=True).encode()).hexdigest()[:24]
    return out / CELLS / f"{digest}.json"


def _cached_cell(out: Path, task: DomainTask) -> DomainResult | None:
    """The result of this evaluation cell from an earlier (interrupted) run with the same task and policy."""
    key = _cell_key(task)
    try:
        saved = json.loads(_cell_file(out, key).read_text(encoding="utf-8"))
        if saved["key"] != key:
            return None
        return DomainResult(**{k: tuple(v) if isinstance(v, list) else v for k, v in saved["result"].items()})
    except (OSError, ValueError, TypeError, KeyError):
        return None


def _evaluate_cells(pool: Executor, cells: list[tuple[Path, DomainTask]]) -> list[DomainResult]:
    results: list[DomainResult | None] = [_cached_cell(out, task) for out, task in cells]
    todo = [i for i, result in enumerate(results) if result is None]
    if len(todo) < len(cells):
        print(f"[experiment] {len(cells) - len(todo)} evaluation cells already done", file=sys.stderr, flush=True)
    for i, result in _map(pool, run_domain_task, [cells[i][1] for i in todo], "evaluation cell"):
        out, task = cells[todo[i]]
        key = _cell_key(task)
        payload = {"key": key, "result": dataclasses.asdict(result)}
        atomic_write_text(_cell_file(out, key), json.dumps(payload, sort_keys=True) + "\n")
        results[todo[i]] = result
    return [r for r in results if r is not None]


def _train_dirs(cfg: ExperimentConfig) -> dict[tuple[str | None, int], str]:
    keys: Iterable[tuple[str | None, int]] = dict.fromkeys((m.randomization, s) for m in cfg.methods for s in cfg.seeds)
    return {(r, s): str(cfg.runs_dir / "train" / _label(r) / f"seed_{s}") for r, s in keys}


def _translators(cfg: ExperimentConfig) -> dict[str, str | None]:
    """Method name -> the checkpoint of its translator (trained here first when the method names one)."""
    out: dict[str, str | None] = {}
    for m in cfg.methods:
        if isinstance(m.transfer, RCANTranslator | CycleGANTranslator):
            folder = cfg.runs_dir / "translators"  # methods with the same translator settings share it
            out[m.name] = train_translator(m.transfer, cfg.env_id, cfg.env_kwargs, folder)
        else:
            out[m.name] = m.transfer
    return out


def _eval_tasks(
    cfg: ExperimentConfig, dirs: dict[tuple[str | None, int], str], transfers: dict[str, str | None]
) -> list[tuple[Path, DomainTask]]:
    sweep = [(axis, s) for axis in cfg.sensitivity_axes for s in cfg.sensitivity_strengths]
    sweep += [(LATENCY, float(k)) for k in cfg.latency_steps]
    cells = []
    for m in cfg.methods:
        for seed in cfg.seeds:
            out = cfg.runs_dir / "eval" / m.name / f"seed_{seed}"
            out.mkdir(parents=True, exist_ok=True)
            gif_frames = cfg.gif_frames if seed == cfg.seeds[0] else 0
            settings = EvalConfig(cfg.domains, cfg.episodes, cfg.eval_seed, transfers[m.name], gif_frames, tuple(sweep))
            tasks = domain_tasks(dirs[(m.randomization, seed)], settings, out)
            cells.extend((out, t) for t in tasks)
    return cells


def run_experiment(config: str | Path | ExperimentConfig, executor: str | Executor | None = None) -> Path | str:
    """Train, evaluate and report the experiment ``config`` (or the experiment file of that path); return the path
    (or URL) of ``report.html``.

    ``executor``: ``local`` (default; ``workers`` processes from the config), ``ray`` or an ``Executor``.
    ``out_dir`` and ``report_dir`` may be fsspec URLs (see :func:`_run_on_urls`).
    """
    cfg = config if isinstance(config, ExperimentConfig) else ExperimentConfig.load(config)
    if storage.is_url(cfg.out_dir or "") or storage.is_url(cfg.report_dir or ""):
        return _run_on_urls(cfg, executor)
    return _run(cfg, executor)


def _pool(cfg: ExperimentConfig, executor: str | Executor | None) -> tuple[Executor, bool]:
    """The executor to use and whether this module owns (and shuts down) it."""
    if isinstance(executor, Executor):
        return executor, False
    return default_executor(max(len(_train_dirs(cfg)), len(cfg.domains)), cfg.workers, executor or "local"), True


def _run_on_urls(cfg: ExperimentConfig, executor: str | Executor | None) -> str:
    """An experiment whose outputs live under fsspec URLs: the driver works in temporary local mirror folders,
    every task stages its files in from and out to the URL on its worker (:class:`MirroredExecutor`), and the
    driver's results, evaluation cell records and report are uploaded at the end. A re-run resumes from the URL."""
    runs_url = cfg.out_dir if storage.is_url(cfg.out_dir or "") else None
    report_url = cfg.report_dir if storage.is_url(cfg.report_dir or "") else None
    urls = f"{runs_url} {report_url}".encode()
    # one fixed folder per URL pair: evaluation cell records name their paths, so a re-run must see the same ones
    tmp = Path(tempfile.gettempdir(), "simreal-mirror", hashlib.sha256(urls).hexdigest()[:16])
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        local = dataclasses.replace(
            cfg,
            out_dir=str(Path(tmp, "runs")) if runs_url else cfg.out_dir,
            report_dir=str(Path(tmp, "report")) if report_url else cfg.report_dir,
        )
        pool, owned = _pool(local, executor)
        try:
            if runs_url:
                storage.download_tree(storage.join(runs_url, "eval"), local.runs_dir / "eval")  # finished cells
                html = _run(local, MirroredExecutor(pool, local.runs_dir, runs_url))
                storage.upload_tree(local.runs_dir / "eval", storage.join(runs_url, "eval"))
            else:
                html = _run(local, pool)
        finally:
            if owned:
                pool.shutdown()
        if report_url:
            storage.upload_tree(local.report_path, report_url)
            return storage.join(report_url, Path(html).name)
        return str(html)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _run(cfg: ExperimentConfig, executor: str | Executor | None) -> Path:
    dirs = _train_dirs(cfg)
    pool, owned = _pool(cfg, executor)
    try:
        base = base_run(cfg)
        train_tasks = [TrainTask(replace(base, randomization=r, seed=s), d) for (r, s), d in dirs.items()]
        for _ in _map(pool, run_train_task, train_tasks, "training cell"):
            pass
        cells = _eval_tasks(cfg, dirs, _translators(cfg))
        results = _evaluate_cells(pool, cells)
    finally:
        if owned:
            pool.shutdown()
    by_out: dict[Path, list] = {}
    for (out, task), result in zip(cells, results, strict=True):
        by_out.setdefault(out, []).append((task, result))
    names = {cfg.runs_dir / "eval" / m.name: m.name for m in cfg.methods}
    for out, pairs in by_out.items():
        write_results(pairs[0][0].train_dir, [r for _, r in pairs], out, method=names[out.parent])
    return make_report(cfg.runs_dir / "eval", cfg.report_path)
