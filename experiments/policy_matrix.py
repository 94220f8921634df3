"""Run a methods x seeds x domains experiment from a YAML file, then write the report.

A method is a training randomization (``none``/domain name/preset/YAML path) plus an optional CycleGAN
checkpoint applied at evaluation. Methods that share a training randomization share the trained policies.
Training cells (randomization x seed) and evaluation cells (method x seed x domain) are independent seeded
tasks run through a ``concurrent.futures`` executor (:mod:`simreal.parallel`: spawned local processes by default,
or Ray), in one queue: a method's evaluation cells are queued as soon as its policies are trained, so workers
that the last training cells leave free evaluate meanwhile (:class:`_Schedule`). A re-run resumes: finished
training cells are skipped by :func:`~simreal.agents.train.train`, and each finished evaluation cell's result is
kept in ``<eval dir>/.cells/`` (keyed by the task and the policy's sha256).
The optional ``ablation`` key adds evaluation cells "<reality> without <factor group>" (:func:`_ablation_tasks`).
The experiment file's schema (:class:`ExperimentConfig`) lives in :mod:`simreal.experiments.policy_matrix_config`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch

from simreal.agents.callbacks import MODEL
from simreal.agents.evaluate import (
    DomainTask,
    default_executor,
    domain_tasks,
    family_of,
    run_domain_task,
    write_results,
)
from simreal.agents.report import make_report
from simreal.agents.results import DomainResult
from simreal.agents.run_config import EvalConfig, RunConfig
from simreal.agents.train import train
from simreal.atomic import atomic_write_text
from simreal.experiments.policy_matrix_config import ExperimentConfig, MethodSpec
from simreal.experiments.translators import (
    CycleGANTranslator,
    RCANTranslator,
    train_translator,
    translator_path,
    uses_policies,
)
from simreal.parallel import Resources, storage
from simreal.parallel.mirror import MirroredExecutor
from simreal.randomization.ablation import COMPOSITE, PAIRING, ablation_label, present_groups
from simreal.randomization.presets import domain_spec
from simreal.randomization.sweeps import LATENCY

TRANSLATOR_WRAPPER = "simreal.transfer.wrapper.CycleGANObservation"  # a translator in front of a policy in training


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


class _Progress:
    """A progress line per finished cell of one kind: cells done of those queued to run (evaluation cells are queued
    method by method, so their total grows until the last training cell is done), time since the first was queued,
    and an ETA from the mean time per cell so far (cells resumed from an earlier run finish at once, so early ETAs
    can be low; evaluation cells share the workers with training cells, so their early ETAs run high)."""

    def __init__(self, what: str, total: int) -> None:
        self.what, self.total, self.done, self.start = what, total, 0, time.monotonic()

    def finished(self) -> None:
        self.done += 1
        elapsed = time.monotonic() - self.start
        eta = elapsed / self.done * (self.total - self.done)
        print(
            f"[experiment] {self.what} {self.done}/{self.total} done, {elapsed / 60:.1f} min elapsed, "
            f"ETA {eta / 60:.1f} min",
            file=sys.stderr,
            flush=True,
        )


CELLS = ".cells"


def _cell_key(task: DomainTask) -> dict[str, Any]:
    model = Path(task.train_dir) / MODEL
    fields = dataclasses.asdict(task)
    if fields["envs"] == 1:  # one episode at a time: the key of a cell cached before batched evaluation holds
        del fields["envs"]
    if not fields["calibrated_view"]:  # the key of a cell cached before the calibrated view existed holds
        del fields["calibrated_view"]
    if fields["without"] is None:  # not an ablation: the key of a cell cached before ablations existed holds
        del fields["without"]
    else:  # ablation cells evaluated before the ablation was paired (common random numbers) are evaluated again
        fields["pairing"] = PAIRING
    return json.loads(json.dumps({"task": fields, "model_sha256": _sha256(model)}))


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


TrainKey = tuple[str | None, str, int]  # randomization, the method's own hyperparams as canonical JSON, seed


def _train_key(cfg: ExperimentConfig, m: MethodSpec, seed: int) -> TrainKey:
    return m.randomization, json.dumps(_method_hyperparams(cfg, m), sort_keys=True), seed


def _translator_dir(cfg: ExperimentConfig) -> Path:
    return cfg.runs_dir / "translators"  # methods with the same translator settings share it


def _method_hyperparams(cfg: ExperimentConfig, m: MethodSpec) -> dict[str, Any]:
    """The method's own hyperparams; with ``transfer_in_training``, its translator goes first in ``env_wrapper``
    (it sees the env's own frames; a history or other wrapper sees translated ones)."""
    if not m.transfer_in_training:
        return m.hyperparams
    if isinstance(m.transfer, RCANTranslator | CycleGANTranslator):
        checkpoint = str(translator_path(m.transfer, cfg.env_id, cfg.env_kwargs, _translator_dir(cfg)))
    else:
        checkpoint = str(m.transfer)
    wrappers = cfg.hyperparams_of(m).get("env_wrapper") or []
    wrappers = wrappers if isinstance(wrappers, list) else [wrappers]
    return {**m.hyperparams, "env_wrapper": [{TRANSLATOR_WRAPPER: {"checkpoint": checkpoint}}, *wrappers]}


def _train_label(randomization: str | None, hyperparams: str) -> str:
    """The training folder: the randomization's name, plus a digest of the method's own hyperparams when it has
    any (methods with the same randomization and hyperparams share their policies)."""
    if hyperparams == "{}":
        return _label(randomization)
    return f"{_label(randomization)}-{hashlib.sha256(hyperparams.encode()).hexdigest()[:8]}"


def _train_dirs(cfg: ExperimentConfig) -> dict[TrainKey, str]:
    keys: Iterable[TrainKey] = dict.fromkeys(_train_key(cfg, m, s) for m in cfg.methods for s in cfg.seeds_of(m))
    return {(r, h, s): str(cfg.runs_dir / "train" / _train_label(r, h) / f"seed_{s}") for r, h, s in keys}


def _train_tasks(cfg: ExperimentConfig, dirs: dict[TrainKey, str]) -> list[TrainTask]:
    """One training cell per distinct training setup x seed (in ``dirs``' order)."""
    base = base_run(cfg)
    hyperparams = {
        _train_key(cfg, m, s): {**cfg.hyperparams, **_method_hyperparams(cfg, m)}
        for m in cfg.methods
        for s in cfg.seeds_of(m)
    }
    return [
        TrainTask(replace(base, randomization=key[0], seed=key[2], hyperparams_overrides=hyperparams[key]), d)
        for key, d in dirs.items()
    ]


def _translator(cfg: ExperimentConfig, m: MethodSpec, dirs: dict[TrainKey, str]) -> str | None:
    """The checkpoint of method ``m``'s translator (None without one), trained here when the method names one (a
    policy-consistent one against the method's own trained policies, so only once they exist)."""
    if not isinstance(m.transfer, RCANTranslator | CycleGANTranslator):
        return m.transfer
    seeds = cfg.seeds_of(m) if uses_policies(m.transfer) else ()
    policies = [Path(dirs[_train_key(cfg, m, s)]) / "model.zip" for s in seeds]
    return train_translator(m.transfer, cfg.env_id, cfg.env_kwargs, _translator_dir(cfg), policies, cfg.algo)


def _method_cells(
    cfg: ExperimentConfig,
    m: MethodSpec,
    dirs: dict[TrainKey, str],
    transfer: str | None,
    ablation: dict[str, tuple[str, ...]],
) -> list[tuple[Path, DomainTask]]:
    """Method ``m``'s evaluation cells (its eval folder per seed, the task), its translator ``transfer`` in front of
    the policy unless the policy was trained behind it."""
    sweep = [(axis, s) for axis in cfg.sensitivity_axes for s in cfg.sensitivity_strengths]
    sweep += [(LATENCY, float(k)) for k in cfg.latency_steps]
    cells: list[tuple[Path, DomainTask]] = []
    for seed in cfg.seeds_of(m):
        out = cfg.runs_dir / "eval" / m.name / f"seed_{seed}"
        out.mkdir(parents=True, exist_ok=True)
        gif_frames = cfg.gif_frames if seed == cfg.seeds_of(m)[0] else 0
        settings = EvalConfig(
            cfg.domains,
            cfg.episodes,
            cfg.eval_seed,
            None if m.transfer_in_training else transfer,  # else the run's env_wrapper has it
            gif_frames,
            tuple(sweep),
            cfg.eval_envs,
            m.calibrated_view,
        )
        tasks = domain_tasks(dirs[_train_key(cfg, m, seed)], settings, out)
        ablated = _ablation_tasks(tasks, ablation, cfg.ablation_episodes) if cfg.ablates(m) else []
        cells.extend((out, t) for t in [*tasks, *ablated])
    return cells


def _ablation_groups(cfg: ExperimentConfig) -> dict[str, tuple[str, ...]]:
    """Ablated domain -> the factor groups to remove from it: those its spec sets (``ablation_groups`` only,
    when given; a listed group the domain does not set is skipped)."""
    if not cfg.ablation:
        return {}
    try:
        family = family_of(cfg.env_id)
    except ValueError as exc:
        raise ValueError(f"ablation: {cfg.env_id} has no randomization factors to remove ({exc})") from exc
    out = {}
    for domain in cfg.ablated_domains:
        present = present_groups(domain_spec(domain, family), family)
        composite = [g for g in cfg.ablation_groups if any(part in present for part in COMPOSITE.get(g, ()))]
        out[domain] = (*(g for g in present if not cfg.ablation_groups or g in cfg.ablation_groups), *composite)
        skipped = [g for g in cfg.ablation_groups if g not in present and g not in composite]
        if skipped:
            print(f"[experiment] ablation: {domain} sets no {', '.join(skipped)}: skipped", file=sys.stderr, flush=True)
    return out


def _ablation_tasks(
    tasks: list[DomainTask], ablation: dict[str, tuple[str, ...]], episodes: int | None = None
) -> list[DomainTask]:
    """For each ablated domain's task in ``tasks``, one task per group: that domain without the group (no GIF), on
    the domain task's first ``episodes`` episodes (default: all of them)."""
    by_domain = {t.domain: t for t in tasks if t.axis is None}
    return [
        replace(
            by_domain[d],
            domain=ablation_label(d, g),
            randomization=d,
            without=g,
            gif_path=None,
            gif_frames=0,
            episodes=min(episodes or by_domain[d].episodes, by_domain[d].episodes),
        )
        for d, groups in ablation.items()
        for g in groups
    ]


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
    ablation = _ablation_groups(cfg)  # before training: an env without randomization factors fails here
    pool, owned = _pool(cfg, executor)
    try:
        evaluated = _train_and_evaluate(cfg, dirs, ablation, pool)
    finally:
        if owned:
            pool.shutdown()
    by_out: dict[Path, list] = {}
    for (out, task), result in evaluated:
        by_out.setdefault(out, []).append((task, result))
    names = {cfg.runs_dir / "eval" / m.name: m.name for m in cfg.methods}
    for out, pairs in by_out.items():
        write_results(pairs[0][0].train_dir, [r for _, r in pairs], out, method=names[out.parent])
    return make_report(cfg.runs_dir / "eval", cfg.report_path, methods=[m.name for m in cfg.methods])


def _train_and_evaluate(
    cfg: ExperimentConfig, dirs: dict[TrainKey, str], ablation: dict[str, tuple[str, ...]], pool: Executor
) -> list[tuple[tuple[Path, DomainTask], DomainResult]]:
    """Train every cell and evaluate every method's cells on ``pool``; ``((eval folder, task), result)`` in method
    order (see :class:`_Schedule`)."""
    return _Schedule(cfg, dirs, ablation, pool).run()


class _Schedule:
    """One queue for a whole experiment. The training cells go first; the translators the experiment trains are
    trained in this process meanwhile (a policy trained behind its translator is queued once that exists); a
    method's evaluation cells are queued as soon as its policies and its translator are ready, behind the training
    cells still waiting. So a worker that the last training cells leave free evaluates instead of idling (on 2
    workers a lone last training cell used to leave one core idle for its whole length). Finished evaluation cells
    are kept in ``.cells`` as they come in, and a re-run skips them."""

    def __init__(
        self, cfg: ExperimentConfig, dirs: dict[TrainKey, str], ablation: dict[str, tuple[str, ...]], pool: Executor
    ) -> None:
        self.cfg, self.dirs, self.ablation, self.pool = cfg, dirs, ablation, pool
        self.train_tasks = _train_tasks(cfg, dirs)
        self.needs = {m.name: {dirs[_train_key(cfg, m, s)] for s in cfg.seeds_of(m)} for m in cfg.methods}
        self.trained: set[str] = set()
        self.cells: dict[str, list[tuple[Path, DomainTask]]] = {}
        self.results: dict[str, list[DomainResult | None]] = {}
        self.futures: dict[Future[Any], tuple[str, int]] = {}  # -> ("", training cell) or (method, its cell)
        self.training = _Progress("training cell", len(self.train_tasks))
        self.evaluation = _Progress("evaluation cell", 0)  # its total grows as methods are queued

    def run(self) -> list[tuple[tuple[Path, DomainTask], DomainResult]]:
        cfg = self.cfg
        behind = {
            self.dirs[_train_key(cfg, m, s)] for m in cfg.methods if m.transfer_in_training for s in cfg.seeds_of(m)
        }
        try:
            self._queue_training(lambda task: task.out_dir not in behind)
            for m in cfg.methods:  # the translators that need no trained policy, while the workers train
                if not uses_policies(m.transfer):
                    _translator(cfg, m, self.dirs)
            self._queue_training(lambda task: task.out_dir in behind)
            while True:
                for m in cfg.methods:
                    if m.name not in self.cells and self.needs[m.name] <= self.trained:
                        self._queue_evaluation(m)
                if not self.futures:
                    break
                finished, _ = wait(self.futures, return_when=FIRST_COMPLETED)
                for future in sorted(finished, key=self.futures.__getitem__):
                    self._collect(future)
        finally:
            for future in self.futures:
                future.cancel()
        return [
            (cell, result)
            for m in cfg.methods
            for cell, result in zip(self.cells[m.name], self.results[m.name], strict=True)
            if result is not None
        ]

    def _queue_training(self, which: Callable[[TrainTask], bool]) -> None:
        for index, task in enumerate(self.train_tasks):
            if which(task):
                self.futures[self.pool.submit(run_train_task, task)] = ("", index)

    def _queue_evaluation(self, m: MethodSpec) -> None:
        cells = self.cells[m.name] = _method_cells(
            self.cfg, m, self.dirs, _translator(self.cfg, m, self.dirs), self.ablation
        )
        results = self.results[m.name] = [_cached_cell(out, task) for out, task in cells]
        cached = sum(result is not None for result in results)
        if cached:
            print(f"[experiment] {m.name}: {cached} evaluation cells already done", file=sys.stderr, flush=True)
        if self.evaluation.total == 0:  # its clock runs from the first evaluation cell queued
            self.evaluation.start = time.monotonic()
        self.evaluation.total += len(cells) - cached
        for index, (_, task) in enumerate(cells):
            if results[index] is None:
                self.futures[self.pool.submit(run_domain_task, task)] = (m.name, index)

    def _collect(self, future: Future[Any]) -> None:
        method, index = self.futures.pop(future)
        result = future.result()
        if not method:
            self.trained.add(self.train_tasks[index].out_dir)
            self.training.finished()
            return
        out, task = self.cells[method][index]
        key = _cell_key(task)
        payload = {"key": key, "result": dataclasses.asdict(result)}
        atomic_write_text(_cell_file(out, key), json.dumps(payload, sort_keys=True) + "\n")
        self.results[method][index] = result
        self.evaluation.finished()
