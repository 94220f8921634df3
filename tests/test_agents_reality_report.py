"""Reports over a family of realities (mean and worst reality, never only the mean) and the latency curve."""

from pathlib import Path

import numpy as np
import pytest

from simreal.agents.report import make_report
from simreal.agents.results import DomainResult, Results, RunMetadata, save_results
from simreal.agents.summary import by_env_method, collect_runs, gaps, latency_curve, sensitivity
from simreal.randomization import Constant, domain_spec
from simreal.randomization.sweeps import group_spec, latency_spec

N = 10


def _domain(name: str, rate: float, axis: str | None = None, strength: float | None = None) -> DomainResult:
    wins = round(rate * N)
    return DomainResult(
        domain=name,
        returns=(0.0,) * N,
        successes=(True,) * wins + (False,) * (N - wins),
        lengths=(5,) * N,
        episode_seeds=tuple(range(N)),
        spec_hash="h",
        axis=axis,
        strength=strength,
    )


def _write(root: Path, method: str, seed: int, real: dict[str, float], latency: dict[float, float]) -> None:
    meta = RunMetadata(
        env_id="simreal/Reach-v0", algo="ppo", seed=seed, method=method, randomization="train",
        randomization_hash="x", timesteps=10, env_kwargs={}, train_dir=".",
    )  # fmt: skip
    domains = [_domain("canonical", 1.0), *(_domain(d, r) for d, r in real.items())]
    domains += [_domain(f"latency@{k:g}", r, "latency", k) for k, r in latency.items()]
    save_results(root / method / f"seed_{seed}", Results(run=meta, domains=tuple(domains)))


@pytest.fixture
def runs_root(tmp_path: Path) -> Path:
    _write(tmp_path, "DR", 0, {"real:0": 1.0, "real:1": 0.6}, {0: 1.0, 3: 0.8})
    _write(tmp_path, "DR", 1, {"real:0": 0.8, "real:1": 0.8}, {0: 1.0, 3: 0.6})
    _write(tmp_path, "no-DR", 0, {"real:0": 0.5, "real:1": 0.9}, {0: 1.0, 3: 0.2})
    return tmp_path


def test_gap_reports_mean_and_worst_reality(runs_root: Path) -> None:
    methods = by_env_method(collect_runs(runs_root))["simreal/Reach-v0"]
    by_method = {g.method: g for g in gaps(methods)}
    dr = by_method["DR"]
    assert dr.sim == 1.0
    assert dr.real == pytest.approx(0.8)  # real:0 0.9, real:1 0.7
    assert dr.worst == pytest.approx(0.7) and dr.worst_domain == "real:1"
    assert dr.worst_retained == pytest.approx(0.7)
    assert by_method["no-DR"].worst_domain == "real:0"


def test_latency_curve_mean_and_worst_seed_and_kept_out_of_sensitivity(runs_root: Path) -> None:
    methods = by_env_method(collect_runs(runs_root))["simreal/Reach-v0"]
    curve = latency_curve(methods)
    assert curve["DR"] == [(0.0, 1.0, 1.0), (3.0, pytest.approx(0.7), pytest.approx(0.6))]
    assert "latency" not in sensitivity(methods)


def test_report_shows_worst_reality_and_latency_table(runs_root: Path, tmp_path: Path) -> None:
    make_report(runs_root, tmp_path / "report", reps=50)
    text = (tmp_path / "report" / "report.md").read_text()
    assert "worst reality" in text and "0.70 (real:1)" in text
    assert "Latency sensitivity" in text and "3 steps" in text
    assert "| DR | 1.00 [1.00] | 0.70 [0.60] |" in text
    assert "| no-DR |" in text


def test_report_of_some_methods_leaves_the_others_out(runs_root: Path, tmp_path: Path) -> None:
    make_report(runs_root, tmp_path / "dr", reps=50, methods=["DR"])
    text = (tmp_path / "dr" / "report.md").read_text()
    assert "| DR |" in text and "no-DR" not in text
    with pytest.raises(ValueError, match=r"no evaluated run of the methods \['ADR'\] under"):
        make_report(runs_root, tmp_path / "none", reps=50, methods=["ADR"])
    from simreal.cli import main

    assert main(["report", str(runs_root), "--out", str(tmp_path / "cli"), "--methods", "no-DR, DR"]) == 0
    assert "| no-DR |" in (tmp_path / "cli" / "report.md").read_text()


def test_latency_spec_fixes_the_latency_on_the_canonical_scene() -> None:
    spec = latency_spec("arm", 3)
    assert spec.control.action_latency == Constant(3.0)
    assert spec.visual == domain_spec("canonical", "arm").visual
    assert group_spec("arm", "latency", 2.0).control.action_latency == Constant(2.0)
    with pytest.raises(ValueError, match="latency"):
        latency_spec("arm", -1)
    assert np.isfinite(spec.control.action_latency.value)


def test_cli_latency_sweep_parsing() -> None:
    from simreal.agents.cli import parse_latencies

    assert parse_latencies("0, 1,2.5") == (0.0, 1.0, 2.5)
    assert parse_latencies("") == ()
    with pytest.raises(ValueError, match="--latency-sweep: expected"):
        parse_latencies("1,x")
    with pytest.raises(ValueError, match=r"--latency-sweep: each latency must be in \[0, 20\]"):
        parse_latencies([3, 25])
