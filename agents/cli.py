"""Entry points for the ``simreal`` console script: plain typed arguments, exit code returned.

Bad input raises (``ValueError``, including :class:`~simreal.agents.results.RunDirError` for a missing or corrupt
run dir); :func:`simreal.cli.main` turns it into ``error: ...`` on stderr and exit status 2.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


def _run(fn: Callable[[], Path], message: str) -> int:
    path = fn()
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
    executor: str = "local",
) -> int:
    """``simreal evaluate RUN --domains canonical,test,real [--transfer CKPT] --episodes 50 [--executor ray]``."""
    from simreal.agents.evaluate import check_domains, evaluate

    names = parse_domains(domains)
    check_domains(names, "--domains")
    return _run(
        lambda: evaluate(run_dir, names, episodes, transfer, seed, workers=workers, executor=executor),
        "results written to {path}",
    )


def report_main(runs_root: str, out: str = "report") -> int:
    """``simreal report runs/ --out report/``: prints where ``report.html`` is."""
    from simreal.agents.report import make_report

    return _run(lambda: make_report(runs_root, out), "report: {path}")


def experiment_main(config: str, executor: str = "local") -> int:
    """``simreal experiment configs/experiments/X.yaml [--executor ray]``: prints where ``report.html`` is."""
    from simreal.agents.experiment import run_experiment

    return _run(lambda: run_experiment(config, executor), "report: {path}")
