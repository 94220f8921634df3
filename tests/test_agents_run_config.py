"""RunConfig / EvalConfig: one typed config per run, parsed once (issue 19, item 3)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from simreal.agents.results import RunDirError
from simreal.agents.run_config import EvalConfig, RunConfig
from simreal.randomization import ADR, Domain, Preset, SpecFile, load_preset


def test_randomization_is_parsed_and_variations_use_replace() -> None:
    run = RunConfig("simreal/Reach-v0", randomization="real:2", env_kwargs={"obs_mode": "state"})
    assert run.randomization == Domain("real:2")
    assert RunConfig("simreal/Reach-v0", randomization="adr").randomization == ADR()
    assert RunConfig("simreal/Reach-v0", randomization=Path("lab.yaml")).randomization == SpecFile("lab.yaml")
    cell = dataclasses.replace(run, randomization="none", seed=3, out_dir=Path("runs/x"))
    assert (cell.randomization, cell.seed, cell.out_dir) == (Preset("none"), 3, "runs/x")
    assert run.seed == 0 and cell.env_kwargs == run.env_kwargs
    with pytest.raises(dataclasses.FrozenInstanceError):
        run.seed = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"algo": "dqn"}, r"algo must be one of \['dagger', 'ppo', 'sac', 'sac_her'\], got 'dqn'"),
        ({"randomization": "fancy"}, r"^randomization: expected a domain"),
        ({"randomization": load_preset("visual", "arm")}, "records its randomization by name"),
        ({"timesteps": 0}, "timesteps must be >= 1"),
        ({"seed": -1}, "seed must be >= 0"),
        ({"n_envs": 0}, "n_envs must be >= 1"),
        ({"vec_env": "fork"}, r"vec_env must be one of \['dummy', 'subproc'\]"),
        ({"eval_freq": -1}, "eval_freq must be >= 0"),
        ({"eval_episodes": 0}, "eval_episodes must be >= 1"),
        ({"device": "tpu"}, "device must be 'cpu' or 'cuda"),
        ({"env_kwargs": ["obs_mode"]}, "env_kwargs must be a mapping"),
    ],
)
def test_bad_values_raise_naming_the_field(change: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        RunConfig("simreal/Reach-v0", **change)


def test_from_dict_rejects_unknown_and_missing_keys() -> None:
    run = RunConfig.from_dict({"env_id": "Pendulum-v1", "algo": "sac", "timesteps": 64, "hyperparams_overrides": {}})
    assert (run.env_id, run.algo, run.timesteps) == ("Pendulum-v1", "sac", 64)
    with pytest.raises(ValueError, match=r"run config: unknown keys \['n_timesteps'\]; allowed \[.*'timesteps'"):
        RunConfig.from_dict({"env_id": "Pendulum-v1", "n_timesteps": 64})
    with pytest.raises(ValueError, match="run config: env_id is required"):
        RunConfig.from_dict({"algo": "ppo"})


def _run_json(tmp_path: Path, **fields: object) -> Path:
    record = {
        "algo": "ppo", "env_id": "simreal/Reach-v0", "env_kwargs": {"obs_mode": "state"}, "method": "DR",
        "randomization": "train", "randomization_hash": "22e9783f66dd", "schema_version": 1, "seed": 4,
        "timesteps": 64, "train_dir": ".", **fields,
    }  # fmt: skip
    (tmp_path / "run.json").write_text(json.dumps(record))
    return tmp_path


def test_a_run_json_written_before_run_config_loads(tmp_path: Path) -> None:
    # no vecnormalize/hyperparams_hash/config_path: the fields of the oldest run.json files on disk
    run = RunConfig.from_run_dir(_run_json(tmp_path))
    assert (run.env_id, run.algo, run.seed, run.timesteps, run.method) == ("simreal/Reach-v0", "ppo", 4, 64, "DR")
    assert run.randomization == Domain("train") and run.env_kwargs == {"obs_mode": "state"}
    assert run.config_path == str(tmp_path / "hyperparams.yml") and run.out == tmp_path


def test_a_run_json_with_a_bad_randomization_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(RunDirError, match=r"run\.json: randomization: expected a domain"):
        RunConfig.from_run_dir(_run_json(tmp_path, randomization="fancy"))


def test_eval_config() -> None:
    config = EvalConfig(["canonical", "real"], 5, 1, Path("gan.pt"), 0, [("latency", 2)])
    assert config.domains == ("canonical", "real") and config.transfer == "gan.pt"
    assert config.sensitivity == (("latency", 2.0),)
    with pytest.raises(ValueError, match="episodes must be >= 1"):
        EvalConfig(episodes=0)
    with pytest.raises(ValueError, match="gif_frames must be >= 0"):
        EvalConfig(gif_frames=-1)
    with pytest.raises(ValueError, match="domains must be a sequence"):
        EvalConfig(domains="canonical")  # type: ignore[arg-type]


def test_policy_matrix_rejects_a_bad_method_randomization_at_load() -> None:
    from simreal.experiments.policy_matrix import base_run
    from simreal.experiments.policy_matrix_config import ExperimentConfig

    base = {"name": "t", "env_id": "Pendulum-v1", "algo": "ppo", "seeds": [0], "env_kwargs": {"g": 9.0}}
    with pytest.raises(ValueError, match=r"^methods\[1\]\.randomization: expected a domain"):
        ExperimentConfig.from_dict({**base, "methods": [{"name": "a"}, {"name": "b", "randomization": "fancy"}]})
    run = base_run(ExperimentConfig.from_dict({**base, "methods": [{"name": "a"}], "timesteps": 32}))
    assert (run.env_id, run.timesteps, run.env_kwargs, run.progress_bar) == ("Pendulum-v1", 32, {"g": 9.0}, False)
