"""Training: hyper-parameter parsing, seeded reproducibility, checkpoints and resume (on Pendulum-v1, CPU)."""

import dataclasses
import hashlib
import json
from pathlib import Path

import pytest
import torch
from stable_baselines3 import PPO
from torch import nn

from simreal.agents.env_factory import randomization_hash, same_spec_file
from simreal.agents.hyperparams import LinearSchedule, load_hyperparams, parse_python_literal
from simreal.agents.results import RunDirError, RunMetadata, load_curve, load_run, save_run
from simreal.agents.run_config import RunConfig
from simreal.agents.train import _prepare_dir, train

CONFIG = """
Pendulum-v1:
  n_timesteps: !!float 2e3
  policy: 'MlpPolicy'
  n_envs: 2
  n_steps: 64
  batch_size: 64
  n_epochs: 2
  learning_rate: lin_0.001
  normalize: "dict(norm_obs=True, norm_reward=False)"
  policy_kwargs: "dict(net_arch=[32, 32], activation_fn=nn.Tanh)"
  env_kwargs:
    g: 9.81
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "ppo.yml"
    path.write_text(CONFIG)
    return path


def _train(config: Path, out: Path, steps: int, seed: int = 0, **kw):
    return train(RunConfig(
        env_id="Pendulum-v1", algo="ppo", timesteps=steps, seed=seed, out_dir=out, config_path=config,
        eval_freq=256, eval_episodes=2, progress_bar=False, **kw,
    ))  # fmt: skip


def test_hyperparams_parsed_like_rl_zoo(config: Path) -> None:
    hp = load_hyperparams("ppo", "Pendulum-v1", config, env_kwargs={"g": 5.0})
    assert hp.policy == "MlpPolicy"
    assert hp.n_timesteps == 2000
    assert hp.n_envs == 2
    assert hp.normalize_kwargs == {"norm_obs": True, "norm_reward": False}
    assert hp.algo_kwargs["policy_kwargs"] == {"net_arch": [32, 32], "activation_fn": nn.Tanh}
    assert hp.algo_kwargs["learning_rate"] == LinearSchedule(0.001)
    assert hp.algo_kwargs["learning_rate"](0.5) == pytest.approx(0.0005)
    assert hp.env_kwargs == {"g": 5.0}  # explicit env_kwargs override the file


def test_literal_parser_rejects_code() -> None:
    assert parse_python_literal("dict(a=[1, -2], b='x', c=None)", "k") == {"a": [1, -2], "b": "x", "c": None}
    with pytest.raises(ValueError, match="unsupported expression"):
        parse_python_literal("__import__('os').system('true')", "policy_kwargs")


def test_bad_config_errors(config: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no entry for env id"):
        load_hyperparams("ppo", "CartPole-v1", config)
    with pytest.raises(ValueError, match="does not exist"):
        load_hyperparams("ppo", "Pendulum-v1", tmp_path / "missing.yml")
    with pytest.raises(ValueError, match="algo must be one of"):
        train(RunConfig(
            env_id="Pendulum-v1", algo="dqn", timesteps=10, seed=0, out_dir=tmp_path / "x", config_path=config,
        ))  # fmt: skip


def test_seeded_training_is_reproducible(config: Path, tmp_path: Path) -> None:
    a = _train(config, tmp_path / "a", 256, seed=7)
    b = _train(config, tmp_path / "b", 256, seed=7)
    c = _train(config, tmp_path / "c", 256, seed=8)
    sa, sb, sc = (PPO.load(p / "model.zip").policy.state_dict() for p in (a, b, c))
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)


def test_run_dir_layout_and_curve(config: Path, tmp_path: Path) -> None:
    out = _train(config, tmp_path / "run", 512)
    assert {"run.json", "hyperparams.yml", "learning_curve.json", "model.zip", "vecnormalize.pkl"} <= {
        p.name for p in out.iterdir()
    }
    assert load_run(out).timesteps == 512
    assert load_curve(out).timesteps == (256, 512)
    pointer = json.loads((out / "checkpoints" / "latest.json").read_text())
    assert pointer["num_timesteps"] == 512
    assert (out / "checkpoints" / pointer["dir"] / "vecnormalize.pkl").is_file()


def test_resume_continues_from_checkpoint(config: Path, tmp_path: Path) -> None:
    out = _train(config, tmp_path / "run", 512)
    # simulate a crash after the checkpoint: the final model is gone, the checkpoint stays
    (out / "model.zip").unlink()
    _train(config, out, 1024)
    model = PPO.load(out / "model.zip")
    assert model.num_timesteps == 1024
    assert load_curve(out).timesteps == (256, 512, 768, 1024)  # earlier points kept, none repeated
    # a finished run is not retrained
    mtime = (out / "model.zip").stat().st_mtime_ns
    _train(config, out, 1024)
    assert (out / "model.zip").stat().st_mtime_ns == mtime


def test_resume_refuses_different_settings(config: Path, tmp_path: Path) -> None:
    out = _train(config, tmp_path / "run", 256)
    with pytest.raises(RunDirError, match="seed"):
        _train(config, out, 256, seed=1)
    fresh = _train(config, out, 256, seed=1, resume=False)
    assert load_run(fresh).seed == 1


def test_a_finished_run_resumes_after_its_checkout_moved(config: Path, tmp_path: Path) -> None:
    out = _train(config, tmp_path / "run", 256)
    mtime = (out / "model.zip").stat().st_mtime_ns
    moved = tmp_path / "elsewhere" / "ppo.yml"  # the same config file in another checkout
    moved.parent.mkdir()
    moved.write_text(CONFIG)
    _train(moved, out, 256)
    assert (out / "model.zip").stat().st_mtime_ns == mtime  # recognised as finished, not retrained
    moved.write_text(CONFIG.replace("n_epochs: 2", "n_epochs: 3"))  # other hyper-parameters: refused
    with pytest.raises(RunDirError, match=r"config_path.*hyperparams_hash"):
        _train(moved, out, 256)
    moved.write_text(CONFIG)  # a run.json from before the hash was recorded: the config path must match
    save_run(out, dataclasses.replace(load_run(out), hyperparams_hash=None))
    with pytest.raises(RunDirError, match=r"\['config_path'\]"):
        _train(moved, out, 256)
    _train(config, out, 256)
    assert (out / "model.zip").stat().st_mtime_ns == mtime


def test_a_spec_file_run_resumes_from_another_folder_with_the_same_file(tmp_path: Path) -> None:
    spec = "visual: {lights: {intensity: [0.5, 1.5]}}\n"
    here, there = tmp_path / "a" / "lab.yaml", tmp_path / "b" / "lab.yaml"
    for path in (here, there):
        path.parent.mkdir()
        path.write_text(spec)
    env, kwargs = "simreal/Reach-v0", {"obs_mode": "state"}
    assert randomization_hash(env, str(here), kwargs) == randomization_hash(env, str(there), kwargs)
    # a hash written before spec files were hashed by name (the full path with the contents) is recognised
    by_path = {"env_id": env, "randomization": str(here), "env_kwargs": kwargs,
               "file": hashlib.sha256(spec.encode()).hexdigest()}  # fmt: skip
    legacy = hashlib.sha256(json.dumps(by_path, sort_keys=True).encode()).hexdigest()[:12]
    assert same_spec_file(env, kwargs, str(here), legacy, str(there))
    meta = RunMetadata(env, "ppo", 0, "DR", str(there), randomization_hash(env, str(there), kwargs), 100, kwargs)
    out = tmp_path / "run"
    save_run(out, dataclasses.replace(meta, randomization=str(here), randomization_hash=legacy))
    assert _prepare_dir(out, meta, resume=True) is False  # the same run, no model yet: it resumes
    there.write_text(spec.replace("1.5", "2.0"))  # other contents under the same name: refused
    other = dataclasses.replace(meta, randomization_hash=randomization_hash(env, str(there), kwargs))
    assert not same_spec_file(env, kwargs, str(here), legacy, str(there))
    with pytest.raises(RunDirError, match="randomization"):
        _prepare_dir(out, other, resume=True)
    renamed = tmp_path / "b" / "other_lab.yaml"
    renamed.write_text(spec)
    assert not same_spec_file(env, kwargs, str(here), legacy, str(renamed))


def test_an_encoder_left_without_run_json_is_not_reused(config: Path, tmp_path: Path) -> None:
    # run.json is written once the env stack (and the detectors it pre-trains) exists: an encoder.pt without it is
    # the leftover of an attempt that stopped before, perhaps with other settings
    out = tmp_path / "run"
    out.mkdir()
    (out / "encoder.pt").write_bytes(b"stale")
    _train(config, out, 64)
    assert (out / "run.json").is_file() and not (out / "encoder.pt").exists()


def test_pixel_policy_learning_curve_uses_the_training_normalization(tmp_path: Path) -> None:
    """Images + state with VecNormalize on the state: SB3 puts a VecTransposeImage between the normalization and
    the image env, where its sync_envs_normalization fails; the learning-curve callback copies the statistics
    itself. A regression test (it ran with the removed keypoint encoder before)."""
    config = tmp_path / "ppo.yml"
    config.write_text(
        """simreal/Reach-v0:
  policy: MultiInputPolicy
  n_envs: 2
  n_steps: 32
  batch_size: 32
  n_epochs: 1
  normalize: "dict(norm_obs_keys=['state'])"
  env_kwargs: {obs_mode: pixels_state, cameras: [front], image_size: 36}
"""
    )
    out = train(RunConfig(
        env_id="simreal/Reach-v0", algo="ppo", timesteps=64, seed=0, out_dir=tmp_path / "run", config_path=config,
        eval_freq=64, eval_episodes=1, progress_bar=False,
    ))  # fmt: skip
    curve = load_curve(out)
    assert curve.timesteps[-1] == 64 and len(curve.success_rate) == len(curve.timesteps)
    assert (out / "vecnormalize.pkl").is_file()
