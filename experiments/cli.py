"""``simreal experiment FILE.yaml``: read the experiment file once, apply the command line's overrides, run it by
its ``kind`` (:mod:`simreal.experiments.config`) and print where its results are.

A new kind: its name in :data:`~simreal.experiments.config.KINDS`, a parser in :data:`PARSERS` (a frozen dataclass,
unknown keys raising) and a runner in :data:`RUNNERS`; ``tests/test_experiments_config.py`` checks the three agree
and that every bundled file loads.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from simreal.experiments.config import (
    LocalizationConfig,
    TransferConfig,
    parse_kind,
    read_experiment,
    with_overrides,
)

__all__ = ["OPTIONS", "PARSERS", "RUNNERS", "benchmark_main", "experiment_main", "load_experiment"]

OPTIONS = {  # experiment key -> the command-line option that overrides it
    "out_dir": "--out",
    "seed": "--seed",
    "n_train": "--n-train",
    "n_eval": "--n-eval",
    "epochs": "--epochs",
    "gan_steps": "--gan-steps",
    "workers": "--workers",
    "domains": "--domains",
}


def load_experiment(path: str | Path, overrides: Mapping[str, Any] | None = None) -> tuple[str, Any]:
    """``(kind, config)`` of the experiment file ``path`` with ``overrides`` (experiment keys; ``None`` values are
    ignored; ``domains`` may be a comma-separated string) applied."""
    file = Path(path)
    kind, data = read_experiment(file)
    config = PARSERS[kind](data, file.parent)
    given = dict(overrides or {})
    if isinstance(given.get("domains"), str):
        given["domains"] = tuple(d.strip() for d in given["domains"].split(",") if d.strip())
    return kind, with_overrides(config, given, kind, OPTIONS)


def _parse_policy_matrix(data: dict[str, Any], base: Path) -> Any:
    from simreal.experiments.policy_matrix_config import ExperimentConfig  # lazy: pulls in SB3

    return ExperimentConfig.parse(data, base)


def _parse_benchmark(data: dict[str, Any], base: Path) -> Any:
    from simreal.experiments.benchmark import BenchmarkConfig  # lazy: pulls in SB3

    return BenchmarkConfig.parse(data, base)


PARSERS: dict[str, Callable[[dict[str, Any], Path], Any]] = {  # kind -> (file's keys, its folder) -> config
    "policy_matrix": _parse_policy_matrix,
    "localization": lambda data, base: parse_kind(LocalizationConfig, data, base, "localization"),
    "transfer": lambda data, base: parse_kind(TransferConfig, data, base, "transfer"),
    "benchmark": _parse_benchmark,
}


def _localization(config: LocalizationConfig, executor: str, eval_only: str | None) -> None:
    from simreal.experiments.localization import evaluate_saved_models, run_localization_experiment

    if eval_only:
        results = evaluate_saved_models(eval_only, config, executor)
    else:
        results = run_localization_experiment(config, executor, progress=True)
    print("cells: median / p90 cm / % frames > 5 cm (% not found)")
    print(results["table"])
    for domain, errors in results.get("nominal_camera_floor", {}).items():
        print(f"perfect detector through the nominal camera, {domain}: median {errors['median_cm']:.2f} cm")
    target = results["target"]
    limits = ", ".join(f"{k} {v}" for k, v in target["per_reality_proxy"].items())
    for pipeline, met in target["met_every_proxy_by_pipeline"].items():
        print(f"target on every reality proxy ({limits}), {pipeline} trained with randomization: "
              f"{'met' if met else 'NOT met'}")  # fmt: skip
    print(f"wall time {results['timings_s'].get('total_s', 0.0):.0f} s -> {config.out_dir}")


def _transfer(config: TransferConfig, executor: str, eval_only: str | None) -> None:
    import torch

    from simreal.experiments.transfer import evaluate_saved_translators, run_transfer_experiment
    from simreal.experiments.transfer_report import summary_table

    torch.set_num_threads(1)  # measured: 2 threads on a shared 2-core CPU stall CycleGAN steps 25x
    if eval_only:
        results = evaluate_saved_translators(eval_only, config, executor)
    else:
        results = run_transfer_experiment(config, executor, progress=True)
    print(summary_table(results))
    timings = results["timings_s"]
    print(f"wall time {timings.get('total_s', timings.get('evaluation_s', 0.0)):.0f} s; results in {config.out_dir}")


def _policy_matrix(config: Any, executor: str, eval_only: str | None) -> None:
    from simreal.experiments.policy_matrix import run_experiment

    if eval_only:
        raise ValueError("--eval-only: only localization and transfer experiments evaluate saved models")
    print(f"report: {run_experiment(config, executor)}")


def benchmark_main(config: Any, budget: str = "full", executor: str = "local", report_only: bool = False) -> None:
    """Run (resume) the benchmark ``config`` under ``budget`` and print where its outputs are."""
    from simreal.experiments.benchmark import run_benchmark

    md, html = run_benchmark(config, budget, executor, report_only)
    print(f"benchmark ({budget} budget): {md} and {html}")


def _benchmark(config: Any, executor: str, eval_only: str | None) -> None:
    if eval_only:
        raise ValueError("--eval-only: only localization and transfer experiments evaluate saved models")
    benchmark_main(config, "full", executor)


RUNNERS: dict[str, Callable[[Any, str, str | None], None]] = {  # kind -> (config, executor, eval_only)
    "policy_matrix": _policy_matrix,
    "localization": _localization,
    "transfer": _transfer,
    "benchmark": _benchmark,
}


def experiment_main(
    path: str, overrides: Mapping[str, Any] | None = None, executor: str = "local", eval_only: str | None = None
) -> int:
    """Run the experiment file ``path`` (see :func:`load_experiment`) on ``executor``; with ``eval_only`` (a models
    folder of an earlier localization or transfer run), evaluate its saved models instead of training."""
    kind, config = load_experiment(path, overrides)
    RUNNERS[kind](config, executor, eval_only)
    return 0
