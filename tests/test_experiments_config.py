"""Experiment files: dispatch on ``kind:``, one frozen dataclass per kind, unknown keys and kinds rejected by name,
command-line overrides, and the bundled files holding the defaults."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from simreal import cli
from simreal.experiments import cli as experiments_cli
from simreal.experiments.config import KINDS, PACKAGE_ROOT, LocalizationConfig, TransferConfig, read_experiment
from simreal.randomization.realities import reality_domains

BUNDLED = PACKAGE_ROOT / "configs" / "experiments"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "exp.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("name", sorted(p.name for p in BUNDLED.glob("*.yaml")))
def test_every_bundled_experiment_names_its_kind_and_loads(name: str) -> None:
    kind, config = experiments_cli.load_experiment(BUNDLED / name)
    assert kind in KINDS
    assert dataclasses.is_dataclass(config)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.seeds = ()  # type: ignore[misc]


def test_bundled_localization_and_transfer_files_hold_the_defaults() -> None:
    assert experiments_cli.load_experiment(BUNDLED / "localization.yaml") == ("localization", LocalizationConfig())
    assert experiments_cli.load_experiment(BUNDLED / "transfer.yaml") == ("transfer", TransferConfig())
    assert LocalizationConfig().domains == ("canonical", "test", *reality_domains())  # real = its members
    assert TransferConfig().domains == ("test", *reality_domains())
    assert (LocalizationConfig().n_train, LocalizationConfig().epochs, TransferConfig().gan_steps) == (8000, 12, 1000)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("seed: 0\n", r"kind: missing; one of \['policy_matrix', 'localization', 'transfer', 'benchmark'\]"),
        ("kind: leaderboard\n", r"kind: unknown 'leaderboard'; one of \['policy_matrix', 'localization', 'transf"),
        ("kind: localization\nn_trian: 5\n", r"localization: unknown keys \['n_trian'\]; allowed \[.*'n_train'"),
        ("kind: transfer\nepochs: 0\n", r"epochs must be an integer in \[1, 10000\], got 0"),
        ("kind: transfer\ndomains: test\n", "transfer: domains must be a list, got 'test'"),
        ("kind: localization\ndomains: [nowhere]\n", "domains: 'nowhere' is neither a named domain"),
        ("kind: localization\ndomains: [lab.yaml]\n", r"domains\[0\]: lab\.yaml exists neither relative"),
        ("kind: localization\npipelines: [tobin]\n", "pipelines: each of"),
        ("kind: localization\npipelines: [multiview, multiview]\n", r"pipelines: each of \['regr.*'multiview'\]"),
        ("kind: localization\nagree_cm: 0\n", r"agree_cm must be a distance in \[0.1, 20\] cm, got 0"),
        ("kind: localization\nagree_cm: .nan\n", "agree_cm must be a distance"),
        ("kind: localization\nagree_cm: true\n", "agree_cm must be a distance"),
        ("kind: localization\ncanonical_fraction: 1.0\n", "canonical_fraction must be in"),
        ("kind: localization\naugment: 1\n", "augment must be true or false"),
        ("kind: policy_matrix\nname: x\nbogus: 1\n", r"unknown keys \['bogus'\]"),
        ("- kind: localization\n", "must be a mapping, got list"),
    ],
)
def test_bad_experiment_files_name_the_key_and_the_allowed_values(tmp_path: Path, text: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        experiments_cli.load_experiment(_write(tmp_path, text))


def test_a_reader_that_knows_the_kind_accepts_a_file_without_one_but_not_another_kind(tmp_path: Path) -> None:
    assert read_experiment(_write(tmp_path, "seed: 1\n"), "transfer") == ("transfer", {"seed": 1})
    with pytest.raises(ValueError, match=r"kind: unknown 'localization'; one of \['policy_matrix'\]"):
        read_experiment(_write(tmp_path, "kind: localization\n"), "policy_matrix")


def test_spec_file_domains_resolve_against_the_experiment_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "lab.yaml").write_text((PACKAGE_ROOT / "randomization/presets/arm_test.yaml").read_text())
    path = _write(tmp_path, "kind: transfer\ndomains: [lab.yaml, real, real:lab.yaml]\n")
    monkeypatch.chdir(PACKAGE_ROOT)
    _, config = experiments_cli.load_experiment(path)
    lab = str(tmp_path / "lab.yaml")
    assert config.domains == (lab, *reality_domains(), f"real:{lab}")
    assert config.cyclegan_domains == ("real:0",)


def test_overrides_replace_keys_and_are_validated(tmp_path: Path) -> None:
    path = _write(tmp_path, "kind: localization\nn_train: 100\n")
    overrides = {"n_train": 64, "domains": "test, real", "seed": None, "out_dir": "elsewhere"}
    _, config = experiments_cli.load_experiment(path, overrides)
    assert config == LocalizationConfig(n_train=64, domains=("test", *reality_domains()), out_dir="elsewhere")
    with pytest.raises(ValueError, match=r"--gan-steps: not a setting of a localization experiment \(its keys: "):
        experiments_cli.load_experiment(path, {"gan_steps": 5})
    with pytest.raises(ValueError, match="n_eval must be an integer"):
        experiments_cli.load_experiment(path, {"n_eval": 1})


def test_cli_passes_its_options_as_overrides_to_the_kinds_runner(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert list(experiments_cli.RUNNERS) == list(experiments_cli.PARSERS) == list(KINDS)
    calls = []
    monkeypatch.setitem(experiments_cli.RUNNERS, "transfer", lambda *args: calls.append(args))
    path = _write(tmp_path, "kind: transfer\nn_train: 100\n")
    argv = ["experiment", str(path), "--gan-steps", "7", "--domains", "real:1", "--out", "o", "--eval-only", "m"]
    assert cli.main(argv) == 0
    expected = TransferConfig(n_train=100, gan_steps=7, domains=("real:1",), out_dir="o")
    assert calls == [(expected, "local", "m")]


def test_cli_rejects_an_option_the_kind_lacks_and_eval_only_of_a_policy_matrix(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["experiment", str(BUNDLED / "localization.yaml"), "--gan-steps", "3"]) == 2
    assert "error: --gan-steps: not a setting of a localization experiment" in capsys.readouterr().err
    assert cli.main(["experiment", str(BUNDLED / "demo.yaml"), "--seed", "3"]) == 2
    assert "error: --seed: not a setting of a policy_matrix experiment" in capsys.readouterr().err
    assert cli.main(["experiment", str(BUNDLED / "demo.yaml"), "--eval-only", "runs/demo"]) == 2
    assert "error: --eval-only: only localization and transfer experiments" in capsys.readouterr().err
