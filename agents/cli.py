"""Entry points for the ``simreal`` console script: plain typed arguments, exit code returned.

Bad input raises (``ValueError``, including :class:`~simreal.agents.results.RunDirError` for a missing or corrupt
run dir); :func:`simreal.cli.main` turns it into ``error: ...`` on stderr and exit status 2.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from simreal.agents.run_config import RunConfig


def _run(fn: Callable[[], Path], message: str) -> int:
    path = fn()
    print(message.format(path=path))
    return 0


def parse_latencies(steps: str | Sequence[float]) -> tuple[float, ...]:
    """``"0,1,2,3,4"`` or a sequence -> tuple of latencies in control steps (ValueError naming the option)."""
    items = [s.strip() for s in steps.split(",") if s.strip()] if isinstance(steps, str) else list(steps)
    try:
        values = tuple(float(s) for s in items)
    except ValueError as exc:
        raise ValueError(f"--latency-sweep: expected comma-separated numbers of control steps, got {steps!r}") from exc
    for v in values:
        if not 0 <= v <= 20:
            raise ValueError(f"--latency-sweep: each latency must be in [0, 20] control steps, got {v:g}")
    return values


def parse_domains(domains: str | Sequence[str]) -> tuple[str, ...]:
    """``"canonical,test,real"`` or a sequence -> tuple of domain names."""
    items = domains.split(",") if isinstance(domains, str) else list(domains)
    return tuple(d.strip() for d in items if d.strip())


def train_main(run: RunConfig) -> int:
    """``simreal train ID --algo A --randomization R --timesteps N --seed S --out DIR``."""
    from simreal.agents.train import train

    return _run(lambda: train(run), "trained policy in {path}")


def evaluate_main(
    run_dir: str,
    domains: str | Sequence[str] = "canonical,test,real",
    episodes: int = 50,
    transfer: str | None = None,
    seed: int = 0,
    workers: int | None = None,
    executor: str = "local",
    latency_sweep: str | Sequence[float] = (),
) -> int:
    """``simreal evaluate RUN --domains canonical,test,real [--transfer CKPT] --episodes 50 [--executor ray]
    [--latency-sweep 0,1,2,3,4]`` (``real`` = every reality proxy; the sweep fixes the canonical scene's latency)."""
    from simreal.agents.evaluate import check_domains, evaluate
    from simreal.agents.run_config import EvalConfig
    from simreal.randomization.sweeps import LATENCY

    names = parse_domains(domains)
    check_domains(names, "--domains")
    sweep = tuple((LATENCY, k) for k in parse_latencies(latency_sweep))
    config = EvalConfig(names, episodes, seed, transfer, sensitivity=sweep)
    return _run(lambda: evaluate(run_dir, config, workers=workers, executor=executor), "results written to {path}")


def report_main(runs_root: str, out: str = "report", methods: str = "") -> int:
    """``simreal report runs/ --out report/ [--methods A,B]``: prints where ``report.html`` is."""
    from simreal.agents.report import make_report

    names = [m.strip() for m in methods.split(",") if m.strip()] or None
    return _run(lambda: make_report(runs_root, out, methods=names), "report: {path}")
