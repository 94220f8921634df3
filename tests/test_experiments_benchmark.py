"""The benchmark: its file (budgets, small overrides, errors), the aggregation on synthetic results (values) and a
tiny end-to-end ``simreal benchmark --budget small`` on Pendulum-v1 (resumed, then report-only)."""

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from simreal.agents.results import DomainResult, Results, RunMetadata, save_results
from simreal.cli import main
from simreal.experiments.benchmark import BenchmarkConfig, _seeds, run_benchmark, summarize, write_benchmark
from simreal.experiments.policy_matrix_config import ExperimentConfig

DOMAINS = ["canonical", "test", "real:0", "real:1"]
# method -> domain -> per-seed success rates (4 episodes each, so exact quarters)
SUCCESS = {
    "no-DR": {"canonical": [1, 1, 1], "test": [0.5, 0.5, 0.5], "real:0": [0.5, 0.25, 0.75], "real:1": [0.25] * 3},
    "DR": {"canonical": [1, 1, 1], "test": [1, 1, 1], "real:0": [1, 1, 1], "real:1": [0.5, 0.5, 0.5]},
}


def _synthetic(tmp_path: Path) -> ExperimentConfig:
    cfg = ExperimentConfig.from_dict(
        {
            "name": "reach",
            "env_id": "simreal/Reach-v0",
            "algo": "ppo",
            "methods": [{"name": "no-DR", "randomization": "canonical"}, {"name": "DR", "randomization": "train"}],
            "seeds": [0, 1, 2],
            "domains": DOMAINS,
            "out_dir": str(tmp_path / "runs"),
            "report_dir": str(tmp_path / "report" / "reach"),
        }
    )
    for method, per_domain in SUCCESS.items():
        for seed in range(3):
            meta = RunMetadata("simreal/Reach-v0", "ppo", seed, method, None, "h", 100)
            domains = []
            for domain, rates in per_domain.items():
                wins = round(rates[seed] * 4)
                successes = tuple([True] * wins + [False] * (4 - wins))
                domains.append(DomainResult(domain, (1.0,) * 4, successes, (50,) * 4, (0, 1, 2, 3), "x"))
            out = tmp_path / "runs" / "eval" / method / f"seed_{seed}"
            out.mkdir(parents=True)
            save_results(out, Results(meta, tuple(domains)))
    return cfg


def test_summary_values_on_synthetic_results(tmp_path: Path) -> None:
    task = summarize(_synthetic(tmp_path), "no-DR", 0, reps=200)
    rows = {r.method: r for r in task.rows}
    assert [r.method for r in task.rows] == ["no-DR", "DR"]  # the experiment's order
    assert task.domains == tuple(DOMAINS)
    base, dr = rows["no-DR"], rows["DR"]
    assert base.seeds == dr.seeds == 3
    assert base.success["real:0"][0].point == pytest.approx(0.5)
    assert base.success["canonical"][0].low == base.success["canonical"][0].high == 1.0
    assert base.real_over_sim == pytest.approx((0.5 + 0.25) / 2)
    assert base.worst == ("real:1", pytest.approx(0.25))
    assert dr.real_over_sim == pytest.approx(0.75)
    assert dr.worst == ("real:1", pytest.approx(0.5))
    assert base.improvement is None
    # P(DR > no-DR): canonical all tied 0.5; test, real:0, real:1 every DR seed wins: (0.5 + 1 + 1 + 1) / 4
    assert dr.improvement is not None and dr.improvement.point == pytest.approx(0.875)
    assert dr.improvement.low <= 0.875 <= dr.improvement.high


def test_an_interval_does_not_move_when_the_table_gains_a_method(tmp_path: Path) -> None:
    both = summarize(_synthetic(tmp_path), "no-DR", 0, reps=200)
    dr_first = dataclasses.replace(both_config := _synthetic(tmp_path / "b"), methods=both_config.methods[::-1])
    reordered = summarize(dr_first, "no-DR", 0, reps=200)
    rows, rows_reordered = {r.method: r for r in both.rows}, {r.method: r for r in reordered.rows}
    assert [r.method for r in reordered.rows] == ["DR", "no-DR"]
    for method in ("no-DR", "DR"):
        assert rows[method].success == rows_reordered[method].success  # each interval's bootstrap has its own stream
    assert rows["DR"].improvement == rows_reordered["DR"].improvement
    spread = rows["no-DR"].success["real:0"][0]  # its seeds differ, so its interval depends on the resamples
    assert spread.low < spread.point < spread.high


def test_benchmark_files_say_small_budget_and_link_the_reports(tmp_path: Path) -> None:
    task = summarize(_synthetic(tmp_path), "no-DR", 0, reps=200)
    missing = summarize(
        ExperimentConfig.from_dict({**_config("empty", tmp_path), "env_id": "simreal/Push-v0"}), "no-DR",
        0, 10,
    )  # fmt: skip
    (tmp_path / "report" / "reach").mkdir(parents=True)
    (tmp_path / "report" / "reach" / "report.html").write_text("<html></html>")
    md, page = write_benchmark([task, missing], tmp_path / "out", "small")
    text = md.read_text()
    assert text.startswith("# simreal benchmark (small budget")
    assert "## reach: simreal/Reach-v0 (small budget)" in text
    assert "| reach | DR | 3 | 1.00 | 1.00 | 0.75 | 75% | 0.50 (real:1) | 0.88 [" in text
    assert "| reach | no-DR | 3 | 1.00 | 0.50 | 0.38 | 38% | 0.25 (real:1) | - |" in text
    assert "[reach report (learning curves, rollout GIFs)](../report/reach/report.html)" in text
    assert "Not run yet (run: simreal benchmark --budget small)" in text
    assert "| empty | no-DR | not run yet | - | - | - | - | - | - |" in text
    assert "empty report" not in text  # no link to a report that does not exist
    assert "| method | seeds | canonical: IQM [95% CI] | test: IQM [95% CI] | real:0: IQM [95% CI] |" in text
    assert "| DR | 3 | 1.00 [1.00, 1.00] | 1.00 [1.00, 1.00] | 1.00 [1.00, 1.00] | 0.50 [0.50, 0.50] |" in text
    html = page.read_text()
    assert html.count("small budget") >= 3 and 'href="../report/reach/report.html"' in html
    full, _ = write_benchmark([task], tmp_path / "full", "full")
    assert "small budget" not in full.read_text()


def _config(name: str, tmp_path: Path) -> dict:
    return {
        "name": name,
        "env_id": "Pendulum-v1",
        "algo": "ppo",
        "methods": [{"name": "no-DR"}, {"name": "DR", "randomization": "train", "seeds": [0, 1, 2, 3]}],
        "seeds": [0, 1, 2],
        "domains": ["canonical", "real"],
        "episodes": 4,
        "out_dir": str(tmp_path / "runs" / name),
        "report_dir": str(tmp_path / "report" / name),
    }


def _files(tmp_path: Path) -> Path:
    zoo = tmp_path / "ppo.yml"
    zoo.write_text(
        "Pendulum-v1:\n  policy: MlpPolicy\n  n_steps: 64\n  batch_size: 64\n  n_epochs: 1\n"
        "  policy_kwargs: 'dict(net_arch=[16])'\n"
    )
    for name in ("a", "b"):
        exp = {"kind": "policy_matrix", **_config(name, tmp_path), "config_path": str(zoo), "timesteps": 100_000}
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(exp))
    bench = {
        "kind": "benchmark",
        "out_dir": str(tmp_path / "full_out"),
        "small_out_dir": str(tmp_path / "small_out"),
        "reps": 50,
        "small": {"seeds": [0], "timesteps": 128, "episodes": 2, "eval_freq": 64, "eval_episodes": 1, "gif_frames": 0},
        "experiments": [{"file": "a.yaml"}, {"file": "b.yaml", "small": {"domains": ["canonical"]}}],
    }
    path = tmp_path / "bench.yaml"
    path.write_text(yaml.safe_dump(bench))
    return path


def test_small_budget_renames_and_overrides(tmp_path: Path) -> None:
    from simreal.experiments.cli import load_experiment

    kind, cfg = load_experiment(_files(tmp_path))
    assert kind == "benchmark" and isinstance(cfg, BenchmarkConfig)
    a, b = cfg.configs("small")
    assert (a.name, a.seeds, a.timesteps, a.episodes) == ("a_small", (0,), 128, 2)
    assert [a.seeds_of(m) for m in a.methods] == [(0,), (0,)]  # a method's own seeds give way to the small budget's
    assert a.runs_dir == Path("runs/a_small") and b.domains == ("canonical",)
    full = cfg.configs("full")
    assert [(c.name, c.seeds, c.timesteps) for c in full] == [("a", (0, 1, 2), 100_000), ("b", (0, 1, 2), 100_000)]
    assert [full[0].seeds_of(m) for m in full[0].methods] == [(0, 1, 2), (0, 1, 2, 3)]
    with pytest.raises(ValueError, match="budget must be one of"):
        cfg.configs("huge")


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"bogus": 1}, r"benchmark: unknown keys \['bogus'\]"),
        ({"experiments": [{"file": "a.yaml", "extra": 1}]}, r"experiments\[0\]: unknown keys \['extra'\]"),
        ({"small": {"seedz": [0]}}, r"experiments\[0\] \(.*a.yaml, small budget\): .*seedz"),
        ({"experiments": [{"file": "nope.yaml"}]}, r"experiments\[0\]\.file"),
        ({"experiments": []}, "at least one experiment"),
    ],
)
def test_bad_benchmark_files_name_the_key(tmp_path: Path, change: dict, match: str) -> None:
    from simreal.experiments.cli import load_experiment

    path = _files(tmp_path)
    path.write_text(yaml.safe_dump({**yaml.safe_load(path.read_text()), **change}))
    with pytest.raises(ValueError, match=match):
        load_experiment(path)


def test_small_benchmark_end_to_end_resumes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from simreal.experiments.cli import load_experiment

    monkeypatch.chdir(tmp_path)  # the small runs go to runs/<name>_small under the working directory
    _, cfg = load_experiment(_files(tmp_path))
    with ThreadPoolExecutor(max_workers=1) as pool:
        md, html = run_benchmark(cfg, "small", pool)
    assert md == tmp_path / "small_out" / "BENCHMARK.md" and html.is_file()
    text = md.read_text()
    for row in ("| a_small | no-DR | 1 |", "| a_small | DR | 1 |", "| b_small | no-DR | 1 |"):
        assert row in text
    assert (tmp_path / "report" / "a_small" / "report.html").is_file()
    model = tmp_path / "runs" / "a_small" / "train" / "none" / "seed_0" / "model.zip"
    stamp = model.stat().st_mtime_ns
    assert main(["benchmark", "--budget", "small", "--config", str(tmp_path / "bench.yaml"), "--report-only"]) == 0
    assert model.stat().st_mtime_ns == stamp and md.read_text() == text  # same numbers, nothing retrained


def _save(out: Path, env_id: str, method: str, seed: int, rates: dict[str, float]) -> None:
    """A results.json of ``method``/``seed`` with 4 episodes per domain (label -> success rate); a label
    "<domain> without <group>" is an ablation cell."""
    domains = []
    for label, rate in rates.items():
        wins = round(rate * 4)
        successes = (True,) * wins + (False,) * (4 - wins)
        group = label.partition(" without ")[2] or None
        domains.append(DomainResult(label, (1.0,) * 4, successes, (5,) * 4, (0, 1, 2, 3), "x", without=group))
    folder = out / "eval" / method / f"seed_{seed}"
    folder.mkdir(parents=True)
    save_results(folder, Results(RunMetadata(env_id, "ppo", seed, method, None, "h", 100), tuple(domains)))


def test_report_only_lists_what_has_not_run_and_trains_nothing(tmp_path: Path) -> None:
    bench = _files(tmp_path)  # a and b: Pendulum, methods no-DR and DR, 3 seeds, domains canonical and real
    rates = {"canonical": 1.0, "real:0": 0.25, "real:0 without physics": 0.75, "real:0 without control": 0.5}
    for seed in (0, 1):  # a: no-DR has 2 of its 3 seeds, DR nothing; b: nothing at all
        _save(tmp_path / "runs" / "a", "Pendulum-v1", "no-DR", seed, rates)
    args = ["benchmark", "--budget", "full", "--config", str(bench), "--report-only"]
    assert main(args) == 0
    text = (tmp_path / "full_out" / "BENCHMARK.md").read_text()
    assert "| a | no-DR | 2 of 3 | 1.00 | - | 0.25 | 25% | 0.25 (real:0) | - |" in text
    assert "| a | DR | not run yet | - | - | - | - | - | - |" in text
    assert "| b | no-DR | not run yet |" in text and "| b | DR | not run yet |" in text
    assert "Not run yet: b (run: simreal benchmark --budget full)" in text
    assert "Not run yet: DR." in text  # a's section names its missing method
    # a's ablation: real:0 without physics recovers 0.50 of the 0.75 lost
    assert (
        "| no-DR | real:0 | 1.00 | 0.25 | 0.75 | 0.75 (+0.50) | 0.50 (+0.25) | physics (+0.50, 67% of the loss) |"
        in (text)
    )
    assert not (tmp_path / "runs" / "b").exists() and not (tmp_path / "runs" / "a" / "train").exists()
    assert (tmp_path / "full_out" / "report.html").is_file()


def test_seed_counts_compare_with_each_methods_own_plan(tmp_path: Path) -> None:
    cfg = _synthetic(tmp_path)  # no-DR and DR, 3 seeds each with results
    methods = (cfg.methods[0], dataclasses.replace(cfg.methods[1], seeds=(0, 1, 2, 3, 4)))
    task = summarize(dataclasses.replace(cfg, methods=methods), "no-DR", 0, reps=50)
    assert task.seeds == {"no-DR": 3, "DR": 5}
    assert [_seeds(task, row) for row in task.rows] == ["3", "3 of 5"]
