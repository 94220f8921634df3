"""The oracle with action noise (DART-style rollouts that also visit off-path states): checked, seeded, clipped,
recorded in a dataset's manifest only when on."""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from simreal.data.config import DatasetConfig
from simreal.data.episodes import RolloutSpec, make_policy
from simreal.data.generate import generate_dataset
from simreal.envs.oracles import oracle_for


@pytest.mark.parametrize("noise", [-0.1, 2.5, True, "0.3"])
def test_action_noise_out_of_range_names_the_field(noise: object) -> None:
    with pytest.raises(ValueError, match=r"action_noise must be a number in \[0.0, 2.0\]"):
        RolloutSpec("simreal/LaneFollow-v0", action_noise=noise)  # type: ignore[arg-type]


def test_only_the_oracle_takes_action_noise() -> None:
    with pytest.raises(ValueError, match=r"action_noise: only the oracle's actions take noise, got policy 'random'"):
        RolloutSpec("simreal/LaneFollow-v0", policy="random", action_noise=0.3)
    assert RolloutSpec("simreal/LaneFollow-v0", policy="random").action_noise == 0.0


def test_noisy_oracle_adds_seeded_gaussian_noise_inside_the_action_space() -> None:
    env = gym.make("simreal/LaneFollow-v0")
    env.reset(seed=0)
    try:
        oracle = oracle_for("simreal/LaneFollow-v0")(env)
        noisy = [make_policy("simreal/LaneFollow-v0", "oracle", np.random.default_rng(5), 0.5)(env) for _ in range(2)]
        np.testing.assert_array_equal(noisy[0], noisy[1])  # same generator seed, same draw
        draw = 0.5 * np.random.default_rng(5).standard_normal(2)
        np.testing.assert_allclose(noisy[0], np.clip(oracle + draw, -1.0, 1.0), atol=1e-6)
        assert not np.allclose(noisy[0], oracle)
        loud = make_policy("simreal/LaneFollow-v0", "oracle", np.random.default_rng(0), 2.0)
        actions = np.array([loud(env) for _ in range(50)])
        assert actions.min() >= -1.0 and actions.max() <= 1.0 and (np.abs(actions) == 1.0).any()  # clipped
    finally:
        env.close()


def test_manifest_records_action_noise_only_when_on_and_resume_checks_it(tmp_path: Path) -> None:
    settings = {"env_id": "simreal/LaneFollow-v0", "image_size": 32, "n": 2, "shard_size": 2, "workers": 0}
    plain = generate_dataset(DatasetConfig(**settings, out_dir=tmp_path / "plain"), progress=False)
    assert "action_noise" not in plain  # datasets from before the field keep their manifests (and resume)
    noisy = DatasetConfig(**settings, out_dir=tmp_path / "noisy", frames_per_episode=2, action_noise=0.6)
    generate_dataset(noisy, progress=False)
    assert json.loads((tmp_path / "noisy" / "manifest.json").read_text())["action_noise"] == 0.6
    other = DatasetConfig(**settings, out_dir=tmp_path / "noisy", frames_per_episode=2, action_noise=0.3)
    with pytest.raises(ValueError, match=r"action_noise: .* made with action_noise=0\.6, not 0\.3"):
        generate_dataset(other, progress=False)
