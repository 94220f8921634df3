"""results.json / run.json schema round trips and clear errors for missing or corrupt run dirs."""

import json
from pathlib import Path

import pytest

from simreal.agents.results import (
    DomainResult,
    LearningCurve,
    Results,
    RunDirError,
    RunMetadata,
    load_curve,
    load_results,
    load_run,
    save_curve,
    save_results,
    save_run,
)

META = RunMetadata(
    env_id="simreal/Reach-v0",
    algo="ppo",
    seed=3,
    method="DR",
    randomization="train",
    randomization_hash="abc",
    timesteps=1000,
    env_kwargs={"obs_mode": "state"},
)


def _results() -> Results:
    dom = DomainResult(
        domain="real",
        returns=(1.0, 2.0, 3.0, 4.0),
        successes=(True, False, True, True),
        lengths=(10, 10, 9, 8),
        episode_seeds=(5, 6, 7, 8),
        spec_hash="h",
        gif="real.gif",
    )
    return Results(run=META, domains=(dom,))


def test_results_round_trip(tmp_path: Path) -> None:
    path = save_results(tmp_path, _results())
    assert path == tmp_path / "results.json"
    loaded = load_results(tmp_path)
    assert loaded == _results()
    assert loaded.domain("real").success_rate == pytest.approx(0.75)
    assert loaded.domain("real").mean_return == pytest.approx(2.5)
    assert json.loads(path.read_text())["schema_version"] == 1
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files left


def test_run_and_curve_round_trip(tmp_path: Path) -> None:
    save_run(tmp_path, META)
    assert load_run(tmp_path) == META
    assert load_curve(tmp_path) == LearningCurve()
    curve = LearningCurve().append(100, -3.0, 0.5, 1.2).append(200, -1.0, 1.0, 2.0)
    save_curve(tmp_path, curve)
    assert load_curve(tmp_path) == curve


def test_missing_run_dir_names_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(RunDirError, match="nope"):
        load_run(missing)
    with pytest.raises(RunDirError, match=r"results\.json"):
        load_results(tmp_path)


def test_corrupt_files_name_path(tmp_path: Path) -> None:
    (tmp_path / "results.json").write_text("{not json")
    with pytest.raises(RunDirError, match=r"results\.json is corrupt"):
        load_results(tmp_path)
    (tmp_path / "run.json").write_text(json.dumps({"schema_version": 1, "env_id": "x"}))
    with pytest.raises(RunDirError, match=r"run\.json: invalid RunMetadata"):
        load_run(tmp_path)


def test_unknown_keys_and_version_rejected(tmp_path: Path) -> None:
    save_results(tmp_path, _results())
    payload = json.loads((tmp_path / "results.json").read_text())
    payload["domains"][0]["bogus"] = 1
    (tmp_path / "results.json").write_text(json.dumps(payload))
    with pytest.raises(RunDirError, match="bogus"):
        load_results(tmp_path)
    payload["schema_version"] = 99
    (tmp_path / "results.json").write_text(json.dumps(payload))
    with pytest.raises(RunDirError, match="schema_version 99"):
        load_results(tmp_path)


def test_domain_result_lengths_must_match() -> None:
    with pytest.raises(ValueError, match="equal length"):
        DomainResult("x", (1.0,), (True, False), (1,), (1,), "h")
