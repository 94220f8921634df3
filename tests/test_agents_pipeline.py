"""End to end: tiny train -> evaluate -> report in a subprocess, and CLI error handling."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from simreal.agents.evaluate import evaluate
from simreal.agents.results import RunDirError
from simreal.agents.run_config import EvalConfig
from simreal.cli import main
from simreal.randomization.realities import reality_domains

CONFIG = """
simreal/Reach-v0:
  n_timesteps: 300
  policy: 'MlpPolicy'
  learning_starts: 100
  batch_size: 32
  buffer_size: 1000
  policy_kwargs: "dict(net_arch=[32, 32])"
  env_kwargs:
    obs_mode: state
"""

SCRIPT = """
import sys
from simreal.agents.run_config import EvalConfig, RunConfig
from simreal.agents.train import train
from simreal.agents.evaluate import evaluate
from simreal.agents.report import make_report
root, config = sys.argv[1], sys.argv[2]
from concurrent.futures import ThreadPoolExecutor
for seed, rand in ((0, None), (1, "train")):
    run = train(RunConfig("simreal/Reach-v0", "sac", rand, 200, seed, f"{root}/runs/{rand}/{seed}", config_path=config,
                          eval_freq=100, eval_episodes=2, progress_bar=False))
    # one evaluation in the default spawned process pool, the other in-process to keep the test fast
    executor = None if rand else ThreadPoolExecutor(max_workers=1)
    settings = EvalConfig(("canonical", "test", "real"), episodes=2, seed=0, gif_frames=4,
                          sensitivity=[("visual.lights", 0.5), ("visual.lights", 1.0)])
    evaluate(run, settings, workers=1, executor=executor)
print(make_report(f"{root}/runs", f"{root}/report", reps=200))
"""


def test_train_evaluate_report_subprocess(tmp_path: Path) -> None:
    config = tmp_path / "sac.yml"
    config.write_text(CONFIG)
    env = {**os.environ, "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl")}
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path), str(config)],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    html_path = Path(proc.stdout.strip().splitlines()[-1])
    assert html_path == tmp_path / "report" / "report.html"
    results = json.loads((tmp_path / "runs" / "train" / "1" / "results.json").read_text())
    assert results["schema_version"] == 1
    assert results["run"]["method"] == "DR"
    domains = [d["domain"] for d in results["domains"]]
    assert domains == ["visual.lights@0.5", "visual.lights@1", "canonical", "test", *reality_domains()]
    assert results["domains"][0]["axis"] == "visual.lights"
    assert results["domains"][0]["strength"] == 0.5
    for dom in results["domains"]:
        assert len(dom["returns"]) == len(dom["successes"]) == len(dom["episode_seeds"]) == 2
        assert dom["spec_hash"]
    page = html_path.read_text()
    refs = re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)["']""", page)
    assert refs, "report has no embedded images"
    assert all(r.startswith("data:") for r in refs)
    assert "data:image/gif;base64," in page
    assert "url(" not in page
    assert "@import" not in page
    md = (tmp_path / "report" / "report.md").read_text()
    assert "Per-axis sensitivity" in md
    assert "| DR | real:0 |" in md
    assert "| no-DR | canonical |" in md


def test_evaluate_missing_run_dir(tmp_path: Path) -> None:
    with pytest.raises(RunDirError, match="nope"):
        evaluate(tmp_path / "nope", EvalConfig(domains=("canonical",), episodes=1))


def test_evaluate_corrupt_run_dir(tmp_path: Path) -> None:
    (tmp_path / "run.json").write_text("{broken")
    with pytest.raises(RunDirError, match=r"run\.json is corrupt"):
        evaluate(tmp_path, EvalConfig(domains=("canonical",), episodes=1))


def test_cli_reports_clear_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", str(tmp_path / "missing")]) == 2
    assert "missing" in capsys.readouterr().err
    assert main(["report", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    assert "no results.json" in capsys.readouterr().err


PIXEL_CONFIG = """
simreal/Reach-v0:
  policy: 'CnnPolicy'
  n_steps: 32
  batch_size: 32
  n_epochs: 1
  policy_kwargs: "dict(features_extractor_kwargs=dict(features_dim=16))"
  env_kwargs:
    obs_mode: pixels
    image_size: 64
"""


@pytest.mark.slow
def test_evaluate_with_cyclegan_transfer(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from simreal.agents.results import load_results
    from simreal.agents.run_config import RunConfig
    from simreal.agents.train import train
    from simreal.transfer.checkpoint import save_checkpoint
    from simreal.transfer.config import CycleGANConfig
    from simreal.transfer.trainer import CycleGANTrainer

    config = tmp_path / "ppo_pixels.yml"
    config.write_text(PIXEL_CONFIG)
    run = train(RunConfig(
        env_id="simreal/Reach-v0", algo="ppo", timesteps=32, seed=0, out_dir=tmp_path / "run", config_path=config,
        eval_freq=0, progress_bar=False,
    ))  # fmt: skip
    ckpt = save_checkpoint(tmp_path / "gan.pt", CycleGANTrainer(CycleGANConfig.preset("fast", 64), 0).state_dict())
    with ThreadPoolExecutor(max_workers=1) as pool:
        path = evaluate(run, EvalConfig(domains=("real:0",), episodes=1, transfer=ckpt, gif_frames=2), executor=pool)
    res = load_results(path)
    assert res.run.method == "no-DR+CycleGAN"
    assert res.domain("real:0").transfer == str(ckpt)
    assert len(res.domain("real:0").returns) == 1


def test_the_translator_guard_runs_once_per_evaluation_cell(tmp_path: Path) -> None:
    """Every env of a cell would repeat the same seeded check: only the first env's translator runs it."""
    import gymnasium as gym

    from simreal.agents.episode_queue import SeedQueue
    from simreal.agents.evaluate import DomainTask, _Raw
    from simreal.transfer.checkpoint import save_checkpoint
    from simreal.transfer.config import CycleGANConfig
    from simreal.transfer.trainer import CycleGANTrainer
    from simreal.transfer.wrapper import CycleGANObservation

    ckpt = save_checkpoint(tmp_path / "gan.pt", CycleGANTrainer(CycleGANConfig.preset("fast", 64), 0).state_dict())
    task = DomainTask(train_dir=str(tmp_path), domain="real:0", episodes=3, seed=0, transfer=str(ckpt), envs=3)
    raw = _Raw(task, "simreal/Reach-v0", "pixels", SeedQueue([1, 2, 3], 3))
    wrapped = [raw(gym.make("simreal/Reach-v0", obs_mode="pixels", image_size=64, domain="real:0")) for _ in range(3)]
    translators = [env.env for env in wrapped]
    assert all(isinstance(t, CycleGANObservation) for t in translators)
    assert translators[0].guard_report is not None  # the cell's check ran, on the first env
    assert [t.guard_report for t in translators[1:]] == [None, None]
