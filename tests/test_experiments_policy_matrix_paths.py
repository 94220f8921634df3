"""Experiment files resolve their input paths relative to themselves (or simreal's bundled configs), from any cwd."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from simreal.experiments.config import PACKAGE_ROOT, read_experiment
from simreal.experiments.policy_matrix_config import ExperimentConfig
from simreal.randomization.presets import PRESET_DIR

BUNDLED = PACKAGE_ROOT / "configs" / "experiments"


@pytest.mark.parametrize(
    "name", sorted(p.name for p in BUNDLED.glob("*.yaml") if read_experiment(p)[0] == "policy_matrix")
)
def test_bundled_experiments_load_from_any_directory(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    cfg = ExperimentConfig.load(BUNDLED / name)
    assert cfg.config_path is not None
    assert Path(cfg.config_path).is_file()
    assert Path(cfg.config_path).resolve().parent == (PACKAGE_ROOT / "configs").resolve()
    assert not cfg.runs_dir.is_absolute()  # outputs stay relative to the working directory


def test_inputs_resolve_relative_to_the_experiment_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "project"
    (project / "specs").mkdir(parents=True)
    shutil.copy(PRESET_DIR / "arm_visual.yaml", project / "specs" / "lab.yaml")
    (project / "zoo.yml").write_text("simreal/Reach-v0:\n  policy: MlpPolicy\n")
    (project / "gan.pt").write_bytes(b"")
    (project / "exp.yaml").write_text(
        "name: x\nenv_id: simreal/Reach-v0\nalgo: ppo\nconfig_path: zoo.yml\nseeds: [0]\n"
        "domains: [canonical, specs/lab.yaml, real:specs/lab.yaml]\nablation: [real:specs/lab.yaml]\n"
        "methods:\n  - {name: a, randomization: specs/lab.yaml, transfer: gan.pt}\n"
        "  - {name: b, randomization: train}\n"
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    cfg = ExperimentConfig.load(Path("..") / "project" / "exp.yaml")
    assert Path(cfg.config_path).resolve() == (project / "zoo.yml").resolve()
    assert Path(cfg.domains[1]).resolve() == (project / "specs" / "lab.yaml").resolve()
    assert cfg.domains[2] == cfg.ablation[0] == f"real:{cfg.domains[1]}"  # a user's lab as a reality proxy
    assert Path(cfg.methods[0].randomization).resolve() == (project / "specs" / "lab.yaml").resolve()
    assert Path(cfg.methods[0].transfer).resolve() == (project / "gan.pt").resolve()
    assert cfg.methods[1].randomization == "train"


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ("config_path: nope.yml\n", r"config_path: nope\.yml exists neither relative to the experiment file"),
        ("seeds: 0\n", "experiment: seeds must be a list"),
        ("episodes: many\n", "experiment: .*'<' not supported"),
        ("domains: [bogus]\n", "domains: 'bogus' is not a domain"),
        ("name: [x\n", r"exp\.yaml:\d+:\d+: not valid YAML"),
    ],
)
def test_bad_experiment_files_raise_value_errors(tmp_path: Path, body: str, match: str) -> None:
    base = {"name": "x", "env_id": "simreal/Reach-v0", "algo": "ppo", "seeds": "[0]", "methods": "[{name: a}]"}
    key = body.split(":")[0]
    lines = [f"{k}: {v}" for k, v in base.items() if k != key]
    path = tmp_path / "exp.yaml"
    path.write_text("\n".join(lines) + "\n" + body)
    with pytest.raises(ValueError, match=match):
        ExperimentConfig.load(path)
