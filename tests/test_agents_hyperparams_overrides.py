"""Experiment-level ``hyperparams:`` overrides merged on the rl-zoo3 base configs (agents.hyperparams)."""

from pathlib import Path

import pytest
import stable_baselines3
import yaml
from torch import nn

from simreal.agents.algos import ALGOS
from simreal.agents.dagger import DAgger
from simreal.agents.hyperparams import (
    CONFIG_DIR,
    SIMREAL_KEYS,
    ZOO_KEYS,
    _init_params,
    load_hyperparams,
    merge_overrides,
    parse_python_literal,
    to_python_literal,
)

EXPERIMENTS = CONFIG_DIR / "experiments"
BASE = {
    "policy": "CnnPolicy",
    "n_epochs": 4,
    "learning_rate": 3e-4,
    "policy_kwargs": "dict(log_std_init=-1.0, features_extractor_kwargs=dict(features_dim=128))",
    "env_kwargs": {"obs_mode": "pixels"},
}

# The resolved entries of the two Reach experiments as they were before the overrides existed (reach_pixels used
# configs/ppo_pixels_goal_perception.yml, now configs/ppo_pixels.yml + the experiment's hyperparams:).
REACH_PIXELS_BEFORE = {
    "policy": "MultiInputPolicy",
    "n_envs": 8,
    "n_steps": 128,
    "batch_size": 256,
    "n_epochs": 10,
    "gamma": 0.95,
    "gae_lambda": 0.95,
    "learning_rate": 0.001,
    "ent_coef": 0.0,
    "normalize": "dict(norm_obs_keys=['state', 'goal_estimate'])",
    "pretrain_encoder": "dict(frames=16000, epochs=4)",
    "goal_perception": "dict(layers=2)",
    "policy_kwargs": "dict(log_std_init=-1.0, net_arch=[128, 128])",
    "env_kwargs": {
        "obs_mode": "pixels_state",
        "cameras": ["top", "side"],
        "image_size": 64,
        "camera_projections": True,
        "reward_type": "dense",
    },
}
REACH_STATE_BEFORE = {
    "n_timesteps": 65536,
    "policy": "MlpPolicy",
    "env_wrapper": [{"simreal.agents.history.HistoryWrapper": {"k": 4}}],
    "n_envs": 8,
    "n_steps": 128,
    "batch_size": 256,
    "n_epochs": 10,
    "gamma": 0.95,
    "gae_lambda": 0.95,
    "learning_rate": 0.001,
    "ent_coef": 0.0,
    "normalize": True,
    "policy_kwargs": "dict(net_arch=dict(pi=[128, 128], vf=[128, 128]), log_std_init=-1.0)",
    "env_kwargs": {"obs_mode": "state", "reward_type": "dense"},
}


def test_scalars_replace_and_mappings_merge_into_literal_strings() -> None:
    merged = merge_overrides(BASE, {"n_epochs": 10, "policy_kwargs": {"net_arch": [64, 64]}}, "ppo")
    assert merged["n_epochs"] == 10 and merged["learning_rate"] == 3e-4
    assert isinstance(merged["policy_kwargs"], str)  # stays rl-zoo3's format (run dirs save the merged entry)
    assert parse_python_literal(merged["policy_kwargs"], "k") == {
        "log_std_init": -1.0,
        "features_extractor_kwargs": {"features_dim": 128},
        "net_arch": [64, 64],
    }
    deeper = merge_overrides(BASE, {"policy_kwargs": {"features_extractor_kwargs": {"features_dim": 32}}}, "ppo")
    assert parse_python_literal(deeper["policy_kwargs"], "k")["features_extractor_kwargs"] == {"features_dim": 32}
    assert BASE["n_epochs"] == 4 and "net_arch" not in BASE["policy_kwargs"]  # the base is not mutated


def test_null_deletes_and_a_string_replaces_whole() -> None:
    merged = merge_overrides(BASE, {"policy_kwargs": {"features_extractor_kwargs": None}, "learning_rate": None}, "ppo")
    assert parse_python_literal(merged["policy_kwargs"], "k") == {"log_std_init": -1.0}
    assert "learning_rate" not in merged
    replaced = merge_overrides(BASE, {"policy_kwargs": "dict(net_arch=[8])"}, "ppo")
    assert replaced["policy_kwargs"] == "dict(net_arch=[8])"


def test_keys_the_base_lacks_are_checked_against_the_algorithm_and_simreal() -> None:
    merged = merge_overrides(BASE, {"target_kl": 0.02, "pretrain_encoder": {"frames": 64, "epochs": 1}}, "ppo")
    assert merged["target_kl"] == 0.02 and merged["pretrain_encoder"] == {"frames": 64, "epochs": 1}
    sac = merge_overrides({"policy": "MlpPolicy"}, {"tau": 0.01, "normalize": {"norm_reward": False}}, "sac_her")
    assert sac == {"policy": "MlpPolicy", "tau": 0.01, "normalize": {"norm_reward": False}}
    # policy_kwargs keys are those of the merged policy's class
    multi = merge_overrides(BASE, {"policy": "MultiInputPolicy", "policy_kwargs": {"ortho_init": False}}, "ppo")
    assert parse_python_literal(multi["policy_kwargs"], "k")["ortho_init"] is False


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"n_epoch": 3}, r"hyperparams\.n_epoch: unknown key; allowed: \[.*'n_epochs'"),
        ({"tau": 0.01}, r"hyperparams\.tau: unknown key"),  # a SAC parameter given to PPO
        ({"seed": 1}, r"hyperparams\.seed: unknown key"),  # set by simreal train, not by a config
        ({"policy_kwargs": {"net_arc": [8]}}, r"hyperparams\.policy_kwargs\.net_arc: unknown key; .*'net_arch'"),
        (
            {"policy_kwargs": {"features_extractor_kwargs": {"dim": 8}}},
            r"hyperparams\.policy_kwargs\.features_extractor_kwargs\.dim: unknown key; allowed: \['features_dim'\]",
        ),
        ({"pretrain_encoder": {"frame": 64}}, r"hyperparams\.pretrain_encoder\.frame: unknown key"),
        ({"env_kwargs": {"image_size": 32}}, r"hyperparams\.env_kwargs: set environment options in the experiment"),
    ],
)
def test_unknown_keys_raise_naming_the_key(overrides: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        merge_overrides(BASE, overrides, "ppo")


def test_overrides_must_be_a_mapping() -> None:
    with pytest.raises(ValueError, match="hyperparams must be a mapping"):
        merge_overrides(BASE, [("n_epochs", 3)], "ppo")  # type: ignore[arg-type]


def _base_entries() -> list[tuple[str, str, dict]]:
    out = []
    for path in sorted(CONFIG_DIR.glob("*.yml")):
        for env_id, entry in yaml.safe_load(path.read_text()).items():
            out.append((path.name, env_id, entry))
    return out


@pytest.mark.parametrize(("name", "env_id", "entry"), _base_entries(), ids=lambda v: v if isinstance(v, str) else "")
def test_literal_strings_round_trip(name: str, env_id: str, entry: dict) -> None:
    for key, value in entry.items():
        if isinstance(value, str) and value.startswith("dict("):
            parsed = parse_python_literal(value, f"{name}[{env_id}].{key}")
            assert parse_python_literal(to_python_literal(parsed), key) == parsed
    assert to_python_literal({"a": nn.ReLU, "b": (1,), "c": {1: None}}) == "dict(a=nn.ReLU, b=(1,), c={1: None})"


@pytest.mark.parametrize(("name", "env_id", "entry"), _base_entries(), ids=lambda v: v if isinstance(v, str) else "")
def test_base_configs_stay_rl_zoo3_configs(name: str, env_id: str, entry: dict) -> None:
    """rl-zoo3 pops its own keys and passes the rest to the SB3 class (dagger.yml: simreal's DAgger, a PPO): a base
    config holds nothing else (the simreal-only settings live in experiments' hyperparams:)."""
    algo = ALGOS[name.removesuffix(".yml").removesuffix("_pixels")]
    assert algo is getattr(stable_baselines3, name.split("_")[0].split(".")[0].upper(), DAgger)
    allowed = {*ZOO_KEYS, "env_kwargs", *_init_params(algo)} - {"env"}
    assert set(entry) <= allowed, f"{name}[{env_id}]: {sorted(set(entry) - allowed)}"
    assert not set(entry) & set(SIMREAL_KEYS)


def _experiment(name: str) -> dict:
    return yaml.safe_load((EXPERIMENTS / f"{name}.yaml").read_text())


@pytest.mark.parametrize(
    ("name", "before"), [("reach_pixels", REACH_PIXELS_BEFORE), ("reach_state", REACH_STATE_BEFORE)]
)
def test_experiments_resolve_to_the_hyperparameters_they_had(name: str, before: dict) -> None:
    exp = _experiment(name)
    path = CONFIG_DIR.parent / exp["config_path"]
    hp = load_hyperparams(exp["algo"], exp["env_id"], path, exp["env_kwargs"], exp.get("hyperparams"))
    assert {k: v for k, v in hp.entry.items() if k != "n_timesteps"} == {
        k: v for k, v in before.items() if k != "n_timesteps"
    }
    assert exp["timesteps"] is not None  # the experiment's budget, not the config's n_timesteps, is trained
    assert "env_kwargs" not in (exp.get("hyperparams") or {})


def test_reach_pixels_base_is_the_plain_pixel_config() -> None:
    exp = _experiment("reach_pixels")
    assert Path(exp["config_path"]).name == "ppo_pixels.yml"
    assert not (CONFIG_DIR / "ppo_pixels_goal_perception.yml").exists()


def test_experiment_loader_keeps_overrides_and_rejects_bad_ones_at_load(tmp_path: Path) -> None:
    from simreal.experiments.policy_matrix_config import ExperimentConfig

    cfg = ExperimentConfig.load(EXPERIMENTS / "reach_pixels.yaml")
    assert cfg.hyperparams["goal_perception"] == "dict(layers=2)"
    text = (EXPERIMENTS / "reach_pixels.yaml").read_text().replace("n_epochs: 10", "n_epoch: 10")
    (tmp_path / "bad.yaml").write_text(text)
    with pytest.raises(ValueError, match=r"hyperparams\.n_epoch: unknown key"):
        ExperimentConfig.load(tmp_path / "bad.yaml")


def test_every_registered_id_has_a_default_ppo_entry() -> None:
    """``simreal train ENV_ID ppo`` without a config reads configs/ppo.yml: a new task needs its entry there."""
    from simreal.registration import ENVS

    assert set(yaml.safe_load((CONFIG_DIR / "ppo.yml").read_text())) == set(ENVS)
