"""The benchmark (``kind: benchmark``, ``simreal benchmark [--budget small|full]``): run every listed policy-matrix
experiment, then write one ``BENCHMARK.md`` and one ``report.html`` with every task.

Per task: success per method x domain (mean and IQM over seeds with 95% stratified-bootstrap CIs), the real/sim
ratio (mean success over the reality proxies / canonical success), the worst reality proxy, and each method's
probability of improvement over the baseline (``no-DR``; rliable's P(X > Y) over seeds, each evaluated domain a
task), with links to each experiment's own report (learning curves, rollout GIFs), and the ablation table of each
experiment that has one (``ablation`` key: what removing each factor group of a reality proxy recovers).

``--report-only`` trains and evaluates nothing: the files are written from the experiments' finished results
(``results.json``), and every experiment or method without results is listed as "not run yet".

``--budget small`` replaces the keys of ``small:`` (the benchmark's, then the entry's) in every experiment (a
``seeds`` override also replaces the methods' own seeds, unless it overrides ``methods`` too) and gives it its own
name and folders (``<name>_small``), so small runs never mix with full ones; every heading of the small outputs says
"small budget". Both budgets resume: the policy matrix skips finished cells.
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from simreal.agents.report import Doc, format_ci, format_pct, write_ablation
from simreal.agents.results import RunDirError
from simreal.agents.statistics import Interval, keyed_rng, probability_of_improvement_ci
from simreal.agents.summary import (
    Ablation,
    Run,
    ablations,
    by_env_method,
    collect_runs,
    domain_stats,
    gaps,
    main_domains,
    success_matrix,
)
from simreal.atomic import atomic_write_text
from simreal.envs.config import no_unknown_keys
from simreal.experiments.config import read_experiment, resolve_input
from simreal.experiments.policy_matrix import run_experiment
from simreal.experiments.policy_matrix_config import ExperimentConfig

__all__ = ["BUDGETS", "BenchmarkConfig", "BenchmarkEntry", "TaskSummary", "run_benchmark", "write_benchmark"]

BUDGETS = ("small", "full")
SMALL = "small budget"
NOT_RUN = "not run yet"
SUMMARY_COLUMNS = ("task", "method", "seeds", "canonical", "test", "real (mean)", "real/sim", "worst reality")
MERGED = ("hyperparams", "env_kwargs")  # small overrides of these merge into the file's mapping


def _without_seeds(method: Any) -> Any:
    """A method entry of an experiment file without its own ``seeds`` (other entries unchanged)."""
    return {k: v for k, v in method.items() if k != "seeds"} if isinstance(method, dict) else method


@dataclass(frozen=True)
class BenchmarkEntry:
    """One experiment file of the benchmark and its own ``small`` overrides (merged on the benchmark's)."""

    file: str
    small: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BenchmarkConfig:
    """The benchmark file: its experiments, the ``small`` budget's overrides and where the outputs go."""

    experiments: tuple[BenchmarkEntry, ...]
    small: dict[str, Any] = field(default_factory=dict)
    baseline: str = "no-DR"
    out_dir: str = "docs/results/benchmark"
    small_out_dir: str = "report/benchmark_small"
    seed: int = 0
    reps: int = 2000

    def __post_init__(self) -> None:
        if not self.experiments:
            raise ValueError("benchmark: experiments must list at least one experiment file")
        if self.reps < 1:
            raise ValueError(f"benchmark: reps must be >= 1, got {self.reps}")
        for budget in BUDGETS:  # every file loads and every override is a policy-matrix key, before anything runs
            self.configs(budget)

    @classmethod
    def parse(cls, data: dict[str, Any], base: Path) -> BenchmarkConfig:
        """Build from the keys of a benchmark file (without ``kind``) in the folder ``base``; experiment files
        resolve against ``base``; unknown keys raise ``ValueError``."""
        no_unknown_keys(cls, data, "benchmark")
        entries = data.get("experiments")
        if not isinstance(entries, list):
            raise ValueError(f"benchmark: experiments must be a list, got {entries!r}")
        parsed = []
        for i, entry in enumerate(entries):
            no_unknown_keys(BenchmarkEntry, entry, f"experiments[{i}]")
            if not isinstance(entry.get("file"), str):
                raise ValueError(f"experiments[{i}].file must be the path of a policy_matrix experiment file")
            path = resolve_input(entry["file"], base, f"experiments[{i}].file")
            parsed.append(BenchmarkEntry(path, _mapping(entry.get("small"), f"experiments[{i}].small")))
        small = _mapping(data.get("small"), "small")
        return cls(**{**data, "experiments": tuple(parsed), "small": small})

    def configs(self, budget: str) -> list[ExperimentConfig]:
        """The experiments run under ``budget``. ``small``: named ``<name>_small`` (runs and report folders too) with
        the small overrides applied to the file's keys (``hyperparams`` and ``env_kwargs`` merged one level)."""
        if budget not in BUDGETS:
            raise ValueError(f"budget must be one of {list(BUDGETS)}, got {budget!r}")
        out = []
        for i, entry in enumerate(self.experiments):
            _, data = read_experiment(entry.file, "policy_matrix")
            if budget == "small":
                name = f"{data.get('name')}_small"
                overrides = {"name": name, "out_dir": f"runs/{name}", "report_dir": f"report/{name}"}
                small = {**self.small, **entry.small}
                for key, value in small.items():
                    merge = key in MERGED and isinstance(value, dict) and isinstance(data.get(key), dict)
                    overrides[key] = {**data[key], **value} if merge else value
                if "seeds" in small and "methods" not in small and "methods" in data:  # the budget's seeds win
                    overrides["methods"] = [_without_seeds(m) for m in data["methods"]]
                data = {**data, **overrides}
            try:
                out.append(ExperimentConfig.parse(data, Path(entry.file).parent))
            except ValueError as exc:
                raise ValueError(f"benchmark experiments[{i}] ({entry.file}, {budget} budget): {exc}") from exc
        return out

    def out_path(self, budget: str) -> Path:
        """Where ``BENCHMARK.md`` and ``report.html`` of ``budget`` go."""
        return Path(self.small_out_dir if budget == "small" else self.out_dir)


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"{where} must be a mapping of policy-matrix keys, got {value!r}")
    return dict(value)


@dataclass(frozen=True)
class MethodRow:
    """One method of one task: success on each domain, its gap and its improvement over the baseline."""

    method: str
    success: dict[str, tuple[Interval, Interval]]  # domain -> (mean, IQM) over seeds
    seeds: int
    real_over_sim: float = float("nan")
    worst: tuple[str, float] | None = None  # the worst reality proxy and its success
    improvement: Interval | None = None  # P(method > baseline); None for the baseline itself


@dataclass(frozen=True)
class TaskSummary:
    """The benchmark's numbers for one experiment (``rows`` empty when it has no results yet; ``not_run``: the
    methods without results; ``seeds``: the number of seeds the experiment plans per method; ``ablation``: its
    ablation rows)."""

    name: str
    env_id: str
    domains: tuple[str, ...]
    rows: tuple[MethodRow, ...]
    report: Path
    not_run: tuple[str, ...] = ()
    seeds: dict[str, int] = field(default_factory=dict)
    ablation: tuple[Ablation, ...] = ()


def summarize(config: ExperimentConfig, baseline: str, seed: int, reps: int) -> TaskSummary:
    """The numbers of one finished (or partly finished) experiment from its ``results.json`` files; each interval's
    bootstrap has its own generator (:func:`~simreal.agents.statistics.keyed_rng` of ``seed``, the env id and what it
    is an interval of, as the experiment's own report keys it, so both give the same intervals), so adding a method
    or a task moves no other interval."""
    report = config.report_path / "report.html"
    planned = {m.name: len(config.seeds_of(m)) for m in config.methods}
    try:
        runs = collect_runs(config.runs_dir / "eval")
    except RunDirError:
        return TaskSummary(config.name, config.env_id, (), (), report, tuple(m.name for m in config.methods), planned)
    grouped = by_env_method(runs).get(config.env_id, {})
    methods = {m.name: grouped[m.name] for m in config.methods if m.name in grouped}
    not_run = tuple(m.name for m in config.methods if m.name not in grouped)
    stats = domain_stats(methods, seed, reps, config.env_id)
    gap = {g.method: g for g in gaps(methods)}
    rows = []
    for method, method_runs in methods.items():
        success = {s.domain: (s.mean, s.iqm) for s in stats if s.method == method}
        g = gap.get(method)
        rows.append(
            MethodRow(
                method,
                success,
                seeds=len(method_runs),
                real_over_sim=g.retained if g else float("nan"),
                worst=(g.worst_domain, g.worst) if g else None,
                improvement=None
                if method == baseline
                else _improvement(
                    method_runs,
                    methods.get(baseline),
                    keyed_rng(seed, "improvement", config.env_id, method, baseline),
                    reps,
                ),
            )
        )
    domains = tuple(dict.fromkeys(d for runs_ in methods.values() for d in main_domains(runs_)))
    ablation = tuple(ablations(methods))
    return TaskSummary(config.name, config.env_id, domains, tuple(rows), report, not_run, planned, ablation)


def _improvement(x: list[Run], y: list[Run] | None, rng: np.random.Generator, reps: int) -> Interval | None:
    """P(X > Y) over seeds, each domain both evaluated a task (rliable's probability of improvement)."""
    if not y:
        return None
    shared = [d for d in main_domains(x) if d in main_domains(y)]
    sx, sy = success_matrix(x, shared), success_matrix(y, shared)
    if not shared or not len(sx) or not len(sy):
        return None
    return probability_of_improvement_ci(sx, sy, rng, reps)


def _ci(iv: Interval | None) -> str:
    return "-" if iv is None else format_ci(iv)


def write_benchmark(
    summaries: list[TaskSummary], out_dir: str | Path, budget: str, baseline: str = "no-DR"
) -> tuple[Path, Path]:
    """Write ``BENCHMARK.md`` and ``report.html`` into ``out_dir``; return their paths."""
    out = Path(out_dir)
    label = f" ({SMALL}: fewer seeds, steps and episodes; not the reference numbers)" if budget == "small" else ""
    doc = Doc()
    doc.heading(f"simreal benchmark{label}", 1)
    doc.para(
        "Success rates are per-seed fractions of successful episodes; mean and IQM over seeds with 95% percentile "
        "intervals of rliable's stratified bootstrap. real/sim: mean success over the reality proxies divided by "
        f"canonical success. P(> {baseline}): rliable's probability of improvement of the method over {baseline} "
        "(over seeds, each evaluated domain a task) with its bootstrap CI. Learning curves and rollout GIFs are in "
        "each task's report."
    )
    tag = f" ({SMALL})" if budget == "small" else ""
    doc.heading(f"Summary{tag}")
    missing = [task.name for task in summaries if not task.rows]
    if missing:
        doc.para(f"{NOT_RUN.capitalize()}: {', '.join(missing)} (run: simreal benchmark --budget {budget}).")
    doc.table([*SUMMARY_COLUMNS, f"P(> {baseline})"], [r for task in summaries for r in _summary_rows(task)])
    for task in summaries:
        doc.heading(f"{task.name}: {task.env_id}{tag}")
        if not task.rows:
            doc.para(f"{NOT_RUN.capitalize()} (run: simreal benchmark --budget {budget}).")
            continue
        if task.not_run:
            doc.para(f"{NOT_RUN.capitalize()}: {', '.join(task.not_run)}.")
        for i, what in enumerate(("mean", "IQM")):
            cells = [[_ci(row.success[d][i]) if d in row.success else "-" for d in task.domains] for row in task.rows]
            doc.table(
                ["method", "seeds", *(f"{d}: {what} [95% CI]" for d in task.domains)],
                [[row.method, _seeds(task, row), *c] for row, c in zip(task.rows, cells, strict=True)],
            )
        write_ablation(doc, list(task.ablation))
        if task.report.is_file():
            doc.links([(f"{task.name} report (learning curves, rollout GIFs)", os.path.relpath(task.report, out))])
    out.mkdir(parents=True, exist_ok=True)
    md = atomic_write_text(out / "BENCHMARK.md", "\n".join(doc.md) + "\n")
    page = atomic_write_text(out / "report.html", doc.page(f"simreal benchmark{label}"))
    return md, page


def _real_mean(row: MethodRow) -> float:
    values = [mean.point for domain, (mean, _) in row.success.items() if domain.startswith("real")]
    return float(np.mean(values)) if values else float("nan")


def _seeds(task: TaskSummary, row: MethodRow) -> str:
    """The number of seeds with results, ``n of N`` while fewer than the experiment plans."""
    planned = task.seeds.get(row.method, 0)
    return str(row.seeds) if row.seeds >= planned else f"{row.seeds} of {planned}"


def _summary_rows(task: TaskSummary) -> list[list[str]]:
    """The task's summary rows: one per method with results, then one per method not run yet."""
    not_run = [[task.name, method, NOT_RUN, *["-"] * (len(SUMMARY_COLUMNS) - 2)] for method in task.not_run]
    return [_summary_row(task, row) for row in task.rows] + not_run


def _summary_row(task: TaskSummary, row: MethodRow) -> list[str]:
    def point(domain: str) -> str:
        return f"{row.success[domain][0].point:.2f}" if domain in row.success else "-"

    worst = f"{row.worst[1]:.2f} ({row.worst[0]})" if row.worst else "-"
    real = _real_mean(row)
    return [
        task.name,
        row.method,
        _seeds(task, row),
        point("canonical"),
        point("test"),
        "-" if np.isnan(real) else f"{real:.2f}",
        format_pct(row.real_over_sim),
        worst,
        _ci(row.improvement),
    ]


def run_benchmark(
    config: BenchmarkConfig,
    budget: str = "full",
    executor: str | Executor | None = None,
    report_only: bool = False,
) -> tuple[Path, Path]:
    """Run (resume) every experiment of ``config`` under ``budget`` unless ``report_only`` (then nothing runs and
    the experiments without results are listed as not run yet), then write the benchmark's ``BENCHMARK.md`` and
    ``report.html``; return their paths."""
    experiments = config.configs(budget)
    if not report_only:
        for i, experiment in enumerate(experiments, 1):
            print(f"[benchmark] {budget} budget: experiment {i}/{len(experiments)} {experiment.name}", file=sys.stderr)
            run_experiment(experiment, executor)
    summaries = [summarize(e, config.baseline, config.seed, config.reps) for e in experiments]
    return write_benchmark(summaries, config.out_path(budget), budget, config.baseline)
