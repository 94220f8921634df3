"""A policy-matrix method's ``transfer:``: a checkpoint path or a translator the experiment trains (schema, errors,
and a tiny RCAN trained once and reused)."""

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from simreal.experiments.policy_matrix_config import ExperimentConfig
from simreal.experiments.translators import CycleGANTranslator, RCANTranslator, parse_transfer, train_translator
from simreal.transfer.wrapper import ImageTranslator

BASE = {"name": "t", "env_id": "simreal/Reach-v0", "algo": "ppo", "seeds": [0]}


def test_methods_parse_a_translator_mapping() -> None:
    cfg = ExperimentConfig.from_dict(
        {**BASE, "methods": [{"name": "x", "randomization": "canonical", "transfer": {"rcan": {"steps": 7}}}]}
    )
    assert cfg.methods[0].transfer == RCANTranslator(pairs=2000, steps=7, domain="train", seed=0)
    assert parse_transfer({"cyclegan": None}, "t") == CycleGANTranslator()
    assert parse_transfer(None, "t") is None


@pytest.mark.parametrize(
    ("transfer", "match"),
    [
        ({"rcan": {"stepz": 1}}, r"methods\[0\]\.transfer\.rcan: unknown keys \['stepz'\]"),
        ({"rcan": {"steps": 0}}, r"rcan\.steps must be an int >= 1"),
        ({"pix2pix": {}}, r"methods\[0\]\.transfer: a checkpoint path or a mapping with one key of"),
        ({"rcan": {}, "cyclegan": {}}, "one key"),
        ("/nope.pt", "checkpoint /nope.pt does not exist"),
    ],
)
def test_bad_transfer_names_the_field(transfer: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ExperimentConfig.from_dict({**BASE, "methods": [{"name": "x", "transfer": transfer}]})


def test_rcan_needs_a_task_it_can_pair() -> None:
    with pytest.raises(ValueError, match=r"methods\[0\]\.transfer: rcan .* needs one of"):
        ExperimentConfig.from_dict(
            {**BASE, "env_id": "CartPole-v1", "methods": [{"name": "x", "transfer": {"rcan": {}}}]}
        )
    lane = {**BASE, "env_id": "simreal/LaneFollow-v0", "methods": [{"name": "x", "transfer": {"rcan": {}}}]}
    assert isinstance(ExperimentConfig.from_dict(lane).methods[0].transfer, RCANTranslator)


@pytest.mark.parametrize(
    ("env_kwargs", "match"),
    [
        ({"start_ofset": 1.0}, r"unknown argument\(s\) \['start_ofset'\]"),
        ({"start_offset": 2.0}, r"start_offset must be a number in \[0.0, 1.4\], got 2.0"),
    ],
)
def test_rcan_env_kwargs_are_checked_by_the_env_before_any_training(env_kwargs: dict, match: str) -> None:
    transfer = {"rcan": {"env_kwargs": env_kwargs}}
    lane = {**BASE, "env_id": "simreal/LaneFollow-v0", "methods": [{"name": "x", "transfer": transfer}]}
    with pytest.raises(ValueError, match=r"methods\[0\]\.transfer\.rcan\.env_kwargs: .*" + match):
        ExperimentConfig.from_dict(lane)
    wide = {**lane, "methods": [{"name": "x", "transfer": {"rcan": {"env_kwargs": {"start_offset": 1.2}}}}]}
    assert ExperimentConfig.from_dict(wide).methods[0].transfer.env_kwargs == {"start_offset": 1.2}


def test_rcan_on_reach_cameras_is_trained_once_and_translates(tmp_path: Path, capsys) -> None:
    kwargs = {"obs_mode": "pixels_state", "cameras": ["top", "side"], "image_size": 32}
    path = train_translator(RCANTranslator(pairs=4, steps=2), "simreal/Reach-v0", kwargs, tmp_path)
    assert "translator step 2/2, loss" in capsys.readouterr().err  # progress with an ETA
    stamp = Path(path).stat().st_mtime_ns
    assert train_translator(RCANTranslator(pairs=4, steps=2), "simreal/Reach-v0", kwargs, tmp_path) == path
    assert Path(path).stat().st_mtime_ns == stamp  # reused, not retrained
    other = train_translator(RCANTranslator(pairs=4, steps=3), "simreal/Reach-v0", kwargs, tmp_path)
    assert other != path  # other settings, another translator
    out = ImageTranslator(path).translate_batch(np.zeros((2, 32, 32, 3), np.uint8))
    assert out.shape == (2, 32, 32, 3) and out.dtype == np.uint8


@pytest.mark.slow  # ~50 s on the shared 2-core machine: a pixel policy, a CycleGAN and 4 LaneFollow episodes
def test_policy_matrix_trains_the_translator_and_evaluates_behind_it(tmp_path: Path) -> None:
    from simreal.agents.results import load_results
    from simreal.experiments.policy_matrix import run_experiment

    cfg = ExperimentConfig.from_dict(
        {
            "name": "lf",
            "env_id": "simreal/LaneFollow-v0",
            "algo": "ppo",
            "config_path": str(Path(__file__).resolve().parents[1] / "configs" / "ppo_pixels.yml"),
            "hyperparams": {"policy": "MultiInputPolicy", "n_steps": 64, "batch_size": 64, "n_epochs": 1, "n_envs": 2},
            "env_kwargs": {"obs_mode": "pixels_state", "image_size": 64},
            "timesteps": 128,
            "seeds": [0],
            "methods": [
                {"name": "no-DR", "randomization": "canonical"},
                {
                    "name": "no-DR + translator",
                    "randomization": "canonical",
                    "transfer": {"cyclegan": {"frames": 8, "steps": 2}},
                },
                {  # RCAN as James et al.: the policy trains on translated randomized frames
                    "name": "RCAN",
                    "randomization": "train",
                    "transfer": {"rcan": {"pairs": 4, "steps": 2}},
                    "transfer_in_training": True,
                },
            ],
            "domains": ["canonical", "real:0"],
            "episodes": 1,
            "eval_freq": 0,
            "gif_frames": 0,
            "workers": 1,
            "out_dir": str(tmp_path / "runs"),
            "report_dir": str(tmp_path / "report"),
        }
    )
    run_experiment(cfg)
    settings = {
        p.with_suffix(".pt"): json.loads(p.read_text()) for p in (tmp_path / "runs" / "translators").glob("*.json")
    }
    (checkpoint,) = [p for p, s in settings.items() if s["kind"] == "CycleGANTranslator"]
    (rcan,) = [p for p, s in settings.items() if s["kind"] == "RCANTranslator"]
    behind = load_results(tmp_path / "runs" / "eval" / "no-DR + translator" / "seed_0")
    plain = load_results(tmp_path / "runs" / "eval" / "no-DR" / "seed_0")
    assert [d.transfer for d in behind.domains] == [str(checkpoint)] * 2
    assert [d.transfer for d in plain.domains] == [None, None]
    trained = sorted(p.name for p in (tmp_path / "runs" / "train").iterdir())
    assert trained[0] == "canonical" and trained[1].startswith("train-") and len(trained) == 2  # no-DR shared
    # the RCAN policy trained behind its translator and is evaluated behind it through its own env_wrapper, once
    hyperparams = yaml.safe_load((tmp_path / "runs" / "train" / trained[1] / "seed_0" / "hyperparams.yml").read_text())
    wrappers = str(hyperparams)
    assert "CycleGANObservation" in wrappers and str(rcan) in wrappers
    in_loop = load_results(tmp_path / "runs" / "eval" / "RCAN" / "seed_0")
    assert [d.transfer for d in in_loop.domains] == [None, None]


def test_transfer_in_training_needs_a_translator_independent_of_the_policies() -> None:
    for transfer in (None, {"rcan": {"policy_weight": 1.0}}):
        method = {"name": "x", "randomization": "train", "transfer": transfer, "transfer_in_training": True}
        with pytest.raises(ValueError, match=r"methods\[0\]\.transfer_in_training: needs a transfer that does not"):
            ExperimentConfig.from_dict({**BASE, "methods": [method]})
    bad = {"name": "x", "transfer": {"rcan": {}}, "transfer_in_training": "yes"}
    with pytest.raises(ValueError, match="transfer_in_training: must be true or false, got 'yes'"):
        ExperimentConfig.from_dict({**BASE, "methods": [bad]})


def test_calibrated_view_is_a_driving_method_option() -> None:
    method = {"name": "x", "randomization": "canonical", "transfer": {"rcan": {}}, "calibrated_view": True}
    lane = ExperimentConfig.from_dict({**BASE, "env_id": "simreal/LaneFollow-v0", "methods": [method]})
    assert lane.methods[0].calibrated_view is True
    with pytest.raises(ValueError, match=r"methods\[0\]\.calibrated_view: needs a driving task .* got 'simreal/Reach"):
        ExperimentConfig.from_dict({**BASE, "methods": [method]})
    bad = {**method, "calibrated_view": "yes"}
    with pytest.raises(ValueError, match=r"methods\[0\]\.calibrated_view: must be true or false, got 'yes'"):
        ExperimentConfig.from_dict({**BASE, "env_id": "simreal/LaneFollow-v0", "methods": [bad]})


def test_rcan_settings_are_checked_and_later_ones_named_only_off_their_defaults() -> None:
    from simreal.experiments.translators import _settings, uses_policies

    with pytest.raises(ValueError, match=r"rcan\.view must be one of \['same', 'canonical'\], got 'top'"):
        RCANTranslator(view="top")
    with pytest.raises(ValueError, match=r"rcan\.policy_weight must be a number in \[0, 1000\], got -1"):
        RCANTranslator(policy_weight=-1)
    kwargs = {"image_size": 64}
    assert "view" not in _settings(RCANTranslator(), "simreal/LaneFollow-v0", kwargs)  # defaults: the old names
    assert _settings(RCANTranslator(view="canonical"), "simreal/LaneFollow-v0", kwargs)["view"] == "canonical"
    assert uses_policies(RCANTranslator(policy_weight=0.5)) and not uses_policies(RCANTranslator())
    with pytest.raises(ValueError, match=r"rcan\.downsample must be one of \[1, 2, 3\], got 0"):
        RCANTranslator(downsample=0)
    assert "downsample" not in _settings(RCANTranslator(downsample=2), "simreal/LaneFollow-v0", kwargs)
    assert _settings(RCANTranslator(downsample=1), "simreal/LaneFollow-v0", kwargs)["downsample"] == 1
    with pytest.raises(ValueError, match=r"rcan\.frames_per_episode must be an integer in \[1, 200\], got 0"):
        RCANTranslator(frames_per_episode=0)
    assert "frames_per_episode" not in _settings(RCANTranslator(), "simreal/LaneFollow-v0", kwargs)
    assert "action_noise" not in _settings(RCANTranslator(), "simreal/LaneFollow-v0", kwargs)
    assert _settings(RCANTranslator(action_noise=0.6), "simreal/LaneFollow-v0", kwargs)["action_noise"] == 0.6
    with pytest.raises(ValueError, match=r"rcan\.action_noise must be a number in \[0.0, 2.0\], got -1"):
        RCANTranslator(action_noise=-1)
    assert _settings(RCANTranslator(frames_per_episode=5), "simreal/LaneFollow-v0", kwargs)["frames_per_episode"] == 5
    assert "env_kwargs" not in _settings(RCANTranslator(), "simreal/LaneFollow-v0", kwargs)
    wide = RCANTranslator(env_kwargs={"start_offset": 1.2})
    assert _settings(wide, "simreal/LaneFollow-v0", kwargs)["env_kwargs"] == {"start_offset": 1.2}
    with pytest.raises(ValueError, match=r"rcan\.env_kwargs: \['obs_mode'\] are set by the pairing itself"):
        RCANTranslator(env_kwargs={"obs_mode": "state"})
    assert not uses_policies("/a/checkpoint.pt")


def test_policy_consistent_rcan_is_trained_against_the_given_policies(tmp_path: Path) -> None:
    import gymnasium as gym
    from stable_baselines3 import PPO

    kwargs = {"obs_mode": "pixels_state", "image_size": 64}
    translator = RCANTranslator(pairs=2, steps=1, view="canonical", policy_weight=1.0)
    with pytest.raises(ValueError, match="needs the method's trained policies"):
        train_translator(translator, "simreal/LaneFollow-v0", kwargs, tmp_path)
    env = gym.make("simreal/LaneFollow-v0", **kwargs)
    for seed in (0, 1):
        PPO("MultiInputPolicy", env, n_steps=16, batch_size=16, seed=seed, device="cpu").save(tmp_path / f"{seed}.zip")
    env.close()
    first = train_translator(translator, "simreal/LaneFollow-v0", kwargs, tmp_path, [tmp_path / "0.zip"])
    other = train_translator(translator, "simreal/LaneFollow-v0", kwargs, tmp_path, [tmp_path / "1.zip"])
    assert first != other  # other policies, another translator
    assert json.loads(Path(first).with_suffix(".json").read_text())["policies"] != []
