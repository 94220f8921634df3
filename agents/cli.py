"""Entry points for the ``simreal`` console script: plain typed arguments, exit code returned.

Bad input (``ValueError``, including a missing or corrupt run dir) prints ``error: ...`` to stderr and
returns 2 instead of a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

EXIT_BAD_INPUT = 2


def _run(fn: Callable[[], Path], message: str) -> int:
    try:
        path = fn()
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(message.format(path=path))
    return 0


def parse_domains(domains: str | Sequence[str]) -> tuple[str, ...]:
    """``"canonical,test,real"`` or a sequence -> tuple of domain names."""
    items = domains.split(",") if isinstance(domains, str) else list(domains)
    return tuple(d.strip() for d in items if d.strip())


def train_main(
    env_id: str,
    algo: str = "ppo",
    randomization: str | None = None,
    timesteps: int | None = None,
    seed: int = 0,
    out: str = "runs/run",
    config: str | None = None,
    n_envs: int | None = None,
    eval_freq: int = 10_000,
    resume: bool = True,
    tensorboard: bool = False,
    env_kwargs: dict[str, Any] | None = None,
) -> int:
    """``simreal train ID --algo A --randomization R --timesteps N --seed S --out DIR``."""
    from simreal.agents.train import train

    return _run(
        lambda: train(
            env_id, algo, randomization, timesteps, seed, out, config, n_envs, eval_freq, resume, tensorboard,
            env_kwargs,
        ),
        "trained policy in {path}",
    )  # fmt: skip


def evaluate_main(
    run_dir: str,
    domains: str | Sequence[str] = "canonical,test,real",
    episodes: int = 50,
    transfer: str | None = None,
    seed: int = 0,
    workers: int | None = None,
) -> int:
    """``simreal evaluate RUN --domains canonical,test,real [--transfer CKPT] --episodes 50``."""
    from simreal.agents.evaluate import evaluate

    return _run(
        lambda: evaluate(run_dir, parse_domains(domains), episodes, transfer, seed, workers=workers),
        "results written to {path}",
    )


def report_main(runs_root: str, out: str = "report") -> int:
    """``simreal report runs/ --out report/``: prints where ``report.html`` is."""
    from simreal.agents.report import make_report

    return _run(lambda: make_report(runs_root, out), "report: {path}")


def experiment_main(config: str) -> int:
    """``simreal experiment configs/experiments/X.yaml``: prints where ``report.html`` is."""
    from simreal.agents.experiment import run_experiment

    return _run(lambda: run_experiment(config), "report: {path}")
