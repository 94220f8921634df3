"""The console script: every option documented, and one error path (``error: <where>: <what>``, exit 2)."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import pytest
import yaml

from simreal import cli


def _parsers(parser: argparse.ArgumentParser, name: str = "simreal"):
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                yield from _parsers(sub, f"{name} {sub_name}")


def _options(parser: argparse.ArgumentParser):
    skip = (argparse._HelpAction, argparse._SubParsersAction)
    return [a for a in parser._actions if not isinstance(a, skip)]


def test_every_option_of_every_sub_command_has_help_and_shows_its_default() -> None:
    missing, no_default = [], []
    for name, parser in _parsers(cli.build_parser()):
        formatter = parser._get_formatter()
        for action in _options(parser):
            label = f"{name} {'/'.join(action.option_strings) or action.dest}"
            if not (action.help or "").strip():
                missing.append(label)
                continue
            shown = formatter._get_help_string(action) or ""
            if action.default not in (None, False, argparse.SUPPRESS) and "default" not in shown:
                no_default.append(label)
    assert not missing, f"options without help: {missing}"
    assert not no_default, f"options whose default is not shown: {no_default}"
    assert sum(1 for _ in _parsers(cli.build_parser())) >= 11  # root + 8 commands + dataset/transfer sub-commands


def test_help_lists_the_choices_of_algo_and_domain(capsys: pytest.CaptureFixture[str]) -> None:
    from simreal.agents.train import ALGOS

    assert tuple(sorted(cli.ALGO_NAMES)) == tuple(sorted(ALGOS))
    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    out = capsys.readouterr().out
    assert "{ppo,sac,sac_her,dagger}" in out
    assert "(default: ppo)" in out


def _report_runs(monkeypatch: pytest.MonkeyPatch, func) -> argparse.ArgumentParser:
    """Make ``simreal report`` call ``func`` (the error path is the same for every sub-command)."""
    parser = cli.build_parser()
    parser._subparsers._group_actions[0].choices["report"].set_defaults(func=func)  # type: ignore[union-attr]
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    monkeypatch.delenv(cli.DEBUG_ENV, raising=False)
    return parser


def test_describe_error_names_file_line_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("a:\n  b: [1, 2\n")
    with bad.open() as stream, pytest.raises(yaml.YAMLError) as info:
        yaml.safe_load(stream)
    assert cli.describe_error(info.value).startswith(f"{bad}:3:1: expected ',' or ']'")
    with pytest.raises(json.JSONDecodeError) as jinfo:
        json.loads('{"a": }')
    assert cli.describe_error(jinfo.value) == "JSON:1:7: Expecting value"
    assert cli.describe_error(FileNotFoundError(2, "No such file or directory", "x.yml")) == (
        "x.yml: No such file or directory"
    )


@pytest.mark.parametrize(
    "error",
    [
        ValueError("episodes: must be >= 1, got 0"),
        json.JSONDecodeError("Expecting value", "{", 1),
        FileNotFoundError(2, "No such file or directory", "missing.yaml"),
    ],
)
def test_user_errors_exit_2_with_one_line(
    error: Exception, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def boom(args: argparse.Namespace) -> int:
        raise error

    _report_runs(monkeypatch, boom)
    assert cli.main(["report", "runs"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_raw_yaml_error_from_anywhere_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def boom(args: argparse.Namespace) -> int:
        yaml.safe_load("a: [1, 2\n")
        return 0

    _report_runs(monkeypatch, boom)
    assert cli.main(["report", "runs"]) == 2
    assert capsys.readouterr().err.startswith("error: YAML:2:1: expected ',' or ']'")


def test_bugs_keep_their_traceback_and_debug_env_reraises(monkeypatch: pytest.MonkeyPatch) -> None:
    def bug(args: argparse.Namespace) -> int:
        raise KeyError("internal")

    def bad_input(args: argparse.Namespace) -> int:
        raise ValueError("n: must be >= 1")

    _report_runs(monkeypatch, bug)
    with pytest.raises(KeyError):
        cli.main(["report", "runs"])
    _report_runs(monkeypatch, bad_input)
    monkeypatch.setenv(cli.DEBUG_ENV, "1")
    with pytest.raises(ValueError, match="n: must be"):
        cli.main(["report", "runs"])


def test_bad_env_kwargs_json_names_the_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["train", "simreal/Reach-v0", "--env-kwargs", "{bad"]) == 2
    assert capsys.readouterr().err.startswith("error: --env-kwargs: not valid JSON")
    assert cli.main(["train", "simreal/Reach-v0", "--env-kwargs", "[1]"]) == 2
    assert "--env-kwargs: expected a JSON object" in capsys.readouterr().err


def test_yaml_syntax_errors_in_configs_name_the_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "ppo.yml"
    config.write_text("simreal/Reach-v0:\n  policy: [MlpPolicy\n")
    assert cli.main(["train", "simreal/Reach-v0", "--config", str(config), "--out", str(tmp_path / "run")]) == 2
    assert capsys.readouterr().err.startswith(f"error: {config}:3:1: not valid YAML")
    experiment = tmp_path / "exp.yaml"
    experiment.write_text("name: [x\n")
    assert cli.main(["experiment", str(experiment)]) == 2
    assert capsys.readouterr().err.startswith(f"error: {experiment}:2:1: not valid YAML")


def test_yaml_syntax_error_in_a_randomization_spec_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text("visual:\n  lights: {intensity: [1, 2}\n")
    out = tmp_path / "grid.png"
    assert cli.main(["gallery", "simreal/Reach-v0", "--randomization", str(spec), "-n", "1", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert str(spec) in err or "spec.yaml" in err
    assert not out.exists()


def test_ctrl_c_exits_130_without_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(args: argparse.Namespace) -> int:
        raise KeyboardInterrupt

    _report_runs(monkeypatch, interrupted)
    assert cli.main(["report", "runs"]) == 130
    assert capsys.readouterr().err == "interrupted\n"


@pytest.mark.parametrize("command", [["gallery", "Pendulum-v1"], ["dataset", "generate", "Pendulum-v1", "-n", "2"]])
def test_commands_for_simreal_scenes_reject_other_env_ids(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main([*command, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: env_id: ")
    assert "'simreal/Reach-v0'" in err
    assert not (tmp_path / "out").exists()


def test_output_path_blocked_by_a_file_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "file").write_text("")
    out = tmp_path / "file" / "grid.png"
    assert cli.main(["gallery", "simreal/Reach-v0", "-n", "1", "--image-size", "16", "--out", str(out)]) == 2
    assert capsys.readouterr().err.startswith(f"error: {tmp_path / 'file'}")


def test_evaluate_of_a_mistyped_run_dir_creates_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["evaluate", str(tmp_path / "typo"), "--episodes", "1"]) == 2
    assert "typo does not exist" in capsys.readouterr().err
    assert not (tmp_path / "typo").exists()


def test_dataset_generate_parses_its_flags_once_into_a_dataset_config(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from simreal.data import generate
    from simreal.data.config import DatasetConfig

    seen: list[tuple[DatasetConfig, str]] = []

    def fake_generate(config: DatasetConfig, executor: str = "local", *, progress: bool = True) -> dict:
        seen.append((config, executor))
        return {"counts": {"frames": 5, "shards": 3}, "spec_hash": "abc"}

    monkeypatch.setattr(generate, "generate_dataset", fake_generate)
    flags = ["-n", "5", "--domain", "test", "--out", str(tmp_path), "--workers", "0", "--seed", "4"]
    flags += ["--shard-size", "2", "--camera", "top", "--policy", "random", "--image-size", "32"]
    assert cli.main(["dataset", "generate", "simreal/Push-v0", *flags]) == 0
    expected = DatasetConfig(
        "simreal/Push-v0", domain="test", camera="top", image_size=32, policy="random", n=5, out_dir=str(tmp_path),
        seed=4, shard_size=2, workers=0,
    )  # fmt: skip
    assert seen == [(expected, "local")]  # --stride / --frames-per-episode default to the RolloutSpec defaults
    assert capsys.readouterr().out.startswith(f"5 frames in 3 shards, spec abc -> {tmp_path}")
    sampling = ["--stride", "2", "--frames-per-episode", "3"]
    assert cli.main(["dataset", "generate", "simreal/Push-v0", *flags, *sampling]) == 0
    assert seen[-1] == (dataclasses.replace(expected, stride=2, frames_per_episode=3), "local")
    oracle = [*flags, "--policy", "oracle", "--action-noise", "0.4"]  # the last --policy wins
    assert cli.main(["dataset", "generate", "simreal/Push-v0", *oracle]) == 0
    assert seen[-1] == (dataclasses.replace(expected, policy="oracle", action_noise=0.4), "local")
    capsys.readouterr()
    assert cli.main(["dataset", "generate", "simreal/Push-v0", *flags, "--action-noise", "0.4"]) == 2
    assert capsys.readouterr().err.startswith("error: action_noise: only the oracle's actions take noise")
    assert cli.main(["dataset", "generate", "simreal/Push-v0", *flags, "--shard-size", "0"]) == 2
    assert capsys.readouterr().err.startswith("error: shard_size must be an integer in [1, 1000000]")
    assert cli.main(["dataset", "generate", "simreal/Push-v0", *flags, "--stride", "0"]) == 2
    assert capsys.readouterr().err.startswith("error: stride must be an integer in [1, 10000]")
    assert cli.main(["dataset", "generate", "simreal/Push-v0", *flags, "--frames-per-episode", "0"]) == 2
    assert capsys.readouterr().err.startswith("error: frames_per_episode must be an integer in [1, 10000]")
    assert len(seen) == 3
