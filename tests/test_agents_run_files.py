"""A run is evaluated exactly as it was trained, or not at all: missing or damaged artefacts name the file."""

from __future__ import annotations

import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from simreal.agents.evaluate import evaluate
from simreal.agents.results import RunDirError, load_results, load_run
from simreal.agents.run_config import EvalConfig, RunConfig
from simreal.agents.train import train
from simreal.cli import main

CONFIG = """
simreal/Reach-v0:
  policy: 'MlpPolicy'
  n_envs: 1
  n_steps: 32
  batch_size: 32
  n_epochs: 1
  normalize: true
  policy_kwargs: "dict(net_arch=[8])"
  env_kwargs:
    obs_mode: state
"""


@pytest.fixture(scope="module")
def normalized_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("normalized")
    config = root / "ppo.yml"
    config.write_text(CONFIG)
    return train(RunConfig(
        env_id="simreal/Reach-v0", algo="ppo", timesteps=32, seed=0, out_dir=root / "run", config_path=config,
        eval_freq=32, progress_bar=False,
    ))  # fmt: skip


@pytest.fixture
def run(normalized_run: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(normalized_run, tmp_path / "run"))


def _evaluate(run: Path, domains: tuple[str, ...] = ("canonical",), **kwargs) -> Path:
    with ThreadPoolExecutor(max_workers=1) as pool:
        return evaluate(run, EvalConfig(domains, episodes=1, gif_frames=0, **kwargs), executor=pool)


def test_run_json_records_vecnormalize(run: Path) -> None:
    assert load_run(run).vecnormalize is True
    assert load_results(_evaluate(run)).domain("canonical").returns


@pytest.mark.parametrize("recorded", [True, False])
def test_missing_vecnormalize_refuses_to_evaluate(run: Path, recorded: bool) -> None:
    (run / "vecnormalize.pkl").unlink()
    if not recorded:  # a run.json written before the field existed: hyperparams.yml says normalize
        payload = json.loads((run / "run.json").read_text())
        del payload["vecnormalize"]
        (run / "run.json").write_text(json.dumps(payload))
    with pytest.raises(RunDirError, match=r"vecnormalize\.pkl does not exist.*VecNormalize"):
        _evaluate(run)
    assert not (run / "results.json").exists()


def test_garbage_vecnormalize_names_the_file(run: Path) -> None:
    (run / "vecnormalize.pkl").write_bytes(b"garbage")
    with pytest.raises(RunDirError, match=r"run/vecnormalize\.pkl is corrupt"):
        _evaluate(run)


def test_stray_vecnormalize_of_an_unnormalized_run_is_rejected(run: Path) -> None:
    payload = json.loads((run / "run.json").read_text())
    payload["vecnormalize"] = False
    (run / "run.json").write_text(json.dumps(payload))
    with pytest.raises(RunDirError, match="trained without VecNormalize"):
        _evaluate(run)


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("model.zip", None, r"model\.zip does not exist"),
        ("model.zip", b"not a zip", r"model\.zip is corrupt"),
        ("hyperparams.yml", None, r"hyperparams\.yml does not exist"),
        ("hyperparams.yml", b"simreal/Reach-v0: [\n", r"hyperparams\.yml is invalid: .*hyperparams\.yml:2:1"),
    ],
)
def test_missing_or_damaged_run_files_name_the_file(run: Path, name: str, content: bytes | None, match: str) -> None:
    if content is None:
        (run / name).unlink()
    else:
        (run / name).write_bytes(content)
    with pytest.raises(RunDirError, match=match):
        _evaluate(run)


def test_missing_transfer_checkpoint_fails_before_any_episode(run: Path) -> None:
    with pytest.raises(ValueError, match=r"transfer: checkpoint .*gan\.pt does not exist"):
        _evaluate(run, transfer=run / "gan.pt")


def test_resume_from_a_checkpoint_without_its_statistics_is_refused(run: Path) -> None:
    for stats in (run / "checkpoints").glob("step_*/vecnormalize.pkl"):
        stats.unlink()
    (run / "model.zip").unlink()
    with pytest.raises(RunDirError, match=r"checkpoints/step_\d+/vecnormalize\.pkl does not exist"):
        train(RunConfig(
            env_id="simreal/Reach-v0", algo="ppo", timesteps=64, seed=0, out_dir=run,
            config_path=load_run(run).config_path,
        ))  # fmt: skip


def test_unknown_domain_names_the_option_and_lists_valid_ones(run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ValueError, match=r"domains: 'bogus' is not a domain \(canonical, train, test, real"):
        _evaluate(run, ("canonical", "bogus"))
    assert main(["evaluate", str(run), "--domains", "canonical,bogus", "--episodes", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --domains: 'bogus' is not a domain (canonical, train, test, real")
    assert "randomization" not in err


def test_gif_of_a_spec_file_domain_goes_into_the_run_folder(run: Path, tmp_path: Path) -> None:
    from simreal.randomization.presets import PRESET_DIR

    spec_dir = tmp_path / "specs"
    spec_dir.mkdir()
    spec = spec_dir / "spec.yaml"
    shutil.copy(PRESET_DIR / "arm_visual.yaml", spec)
    with ThreadPoolExecutor(max_workers=1) as pool:
        path = evaluate(run, EvalConfig(domains=(str(spec), "canonical"), episodes=1, gif_frames=2), executor=pool)
    assert sorted(p.name for p in spec_dir.iterdir()) == ["spec.yaml"]
    gifs = sorted(p.name for p in run.glob("*.gif"))
    assert gifs == sorted(["canonical.gif", load_results(path).domain(str(spec)).gif])


def test_bad_env_kwargs_leave_no_run_behind(normalized_run: Path, tmp_path: Path) -> None:
    config = load_run(normalized_run).config_path
    with pytest.raises(ValueError, match="obs_mode"):
        train(RunConfig(
            env_id="simreal/Reach-v0", algo="ppo", timesteps=32, seed=0, out_dir=tmp_path / "run",
            config_path=config, env_kwargs={"obs_mode": "bogus"},
        ))  # fmt: skip
    assert not (tmp_path / "run" / "run.json").exists()
    out = train(RunConfig(
        env_id="simreal/Reach-v0", algo="ppo", timesteps=32, seed=0, out_dir=tmp_path / "run", config_path=config,
        eval_freq=0, progress_bar=False,
    ))  # fmt: skip
    assert (out / "model.zip").is_file()


def test_zero_counts_are_rejected_not_replaced_by_defaults(run: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="n_envs must be >= 1, got 0"):
        train(RunConfig(
            env_id="simreal/Reach-v0", algo="ppo", timesteps=32, seed=0, out_dir=tmp_path / "new",
            config_path=load_run(run).config_path, n_envs=0,
        ))  # fmt: skip
    with pytest.raises(ValueError, match="workers must be >= 1, got 0"):
        evaluate(run, EvalConfig(domains=("canonical",), episodes=1, gif_frames=0), workers=0)


@pytest.mark.parametrize("pointer", ['{"dir": "x"', '{"num_timesteps": 32}', '{"dir": "step_000000000032"}'])
def test_damaged_checkpoint_pointer_names_the_file(run: Path, pointer: str) -> None:
    (run / "checkpoints" / "latest.json").write_text(pointer)
    (run / "model.zip").unlink()
    with pytest.raises(ValueError, match=r"checkpoints/latest\.json is corrupt"):
        train(RunConfig(
            env_id="simreal/Reach-v0", algo="ppo", timesteps=64, seed=0, out_dir=run,
            config_path=load_run(run).config_path,
        ))  # fmt: skip


def test_resume_with_an_edited_config_is_refused(run: Path, tmp_path: Path) -> None:
    config = Path(load_run(run).config_path)
    edited = tmp_path / "ppo.yml"
    edited.write_text(config.read_text().replace("n_epochs: 1", "n_epochs: 2"))
    payload = json.loads((run / "run.json").read_text())
    payload["config_path"] = str(edited)
    (run / "run.json").write_text(json.dumps(payload))
    with pytest.raises(RunDirError, match=r"different \['hyperparams_hash'\]"):
        train(RunConfig(env_id="simreal/Reach-v0", algo="ppo", timesteps=64, seed=0, out_dir=run, config_path=edited))


def test_runs_written_before_the_recorded_fields_still_resume(run: Path) -> None:
    payload = json.loads((run / "run.json").read_text())
    del payload["vecnormalize"], payload["hyperparams_hash"]
    (run / "run.json").write_text(json.dumps(payload))
    out = train(RunConfig(
        env_id="simreal/Reach-v0", algo="ppo", timesteps=64, seed=0, out_dir=run,
        config_path=load_run(run).config_path, eval_freq=0, progress_bar=False,
    ))  # fmt: skip
    assert load_run(out).timesteps == 64
    assert load_run(out).hyperparams_hash is not None


def test_transfer_on_a_state_policy_names_the_option(run: Path) -> None:
    junk = run / "gan.pt"
    junk.write_bytes(b"junk")
    with pytest.raises(ValueError, match=r"transfer: .*gan\.pt cannot translate simreal/Reach-v0 \(obs_mode='state'\)"):
        _evaluate(run, transfer=junk)


def test_resume_with_fewer_timesteps_than_trained_is_refused(run: Path) -> None:
    config = load_run(run).config_path
    with pytest.raises(ValueError, match=r"timesteps: .* holds a policy trained for 32 steps, more than the 16"):
        train(RunConfig(
            env_id="simreal/Reach-v0", algo="ppo", timesteps=16, seed=0, out_dir=run, config_path=config,
            eval_freq=0, progress_bar=False,
        ))  # fmt: skip
    assert load_run(run).timesteps == 32
