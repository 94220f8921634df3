"""Labelled frames for perception pre-training and the pre-training settings."""

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from simreal.agents.hyperparams import load_hyperparams
from simreal.envs.oracles import oracle_for
from simreal.perception.pretraining import (
    collect_labelled_frames,
    training_frames,
)

REACH = "simreal/Reach-v0"


def _reach_env(size: int = 16) -> gym.Env:
    return gym.make(REACH, obs_mode="pixels_state", cameras=("front", "side"), image_size=size)


def test_labelled_frames_match_the_goal_and_are_seeded() -> None:
    env = _reach_env()
    images, targets = collect_labelled_frames(env, oracle_for(REACH), 60, seed=3)
    again, same = collect_labelled_frames(env, oracle_for(REACH), 60, seed=3)
    assert set(images) == {"front", "side"} and images["front"].shape == (60, 16, 16, 3)
    assert targets.shape == (60, 3)
    np.testing.assert_array_equal(targets, same)
    np.testing.assert_array_equal(images["side"], again["side"])
    low, high = env.unwrapped.goal_low, env.unwrapped.goal_high
    assert np.all(targets >= low - 1e-6) and np.all(targets <= high + 1e-6)
    assert len(np.unique(targets[:, 0])) > 1  # episodes reset (the Reach time limit is 50 steps)
    with pytest.raises(ValueError, match="Dict observations"):
        collect_labelled_frames(gym.make(REACH), oracle_for(REACH), 4, seed=0)


def test_pretrain_settings_are_validated(tmp_path: Path) -> None:
    path = tmp_path / "ppo.yml"
    for bad, match in [("dict(frames=10)", "expected dict"), ("dict(frames=10, epochs=2)", "frames must be")]:
        path.write_text(f"{REACH}:\n  policy: MultiInputPolicy\n  pretrain_encoder: '{bad}'\n")
        with pytest.raises(ValueError, match=match):
            load_hyperparams("ppo", REACH, path)
    path.write_text(f"{REACH}:\n  policy: MultiInputPolicy\n  pretrain_encoder: 'dict(frames=64, epochs=1)'\n")
    with pytest.raises(ValueError, match="go together"):  # the detectors-inside-the-policy path is gone
        load_hyperparams("ppo", REACH, path)


def test_training_frames_add_clean_frames_only_to_randomized_runs() -> None:
    def make(domain: str | None) -> gym.Env:
        return gym.make(REACH, **({"domain": domain} if domain else {}), obs_mode="pixels_state",
                        cameras=("front", "side"), image_size=16)  # fmt: skip

    images, targets = training_frames(make, oracle_for(REACH), "train", 8, seed=5)
    assert images["front"].shape == (8, 16, 16, 3) and targets.shape == (8, 3)
    clean_images, clean_targets = collect_labelled_frames(_reach_env(), oracle_for(REACH), 2, seed=6)
    np.testing.assert_array_equal(images["side"][6:], clean_images["side"])  # the last quarter is canonical
    np.testing.assert_array_equal(targets[6:], clean_targets)
    canonical_images, _ = training_frames(make, oracle_for(REACH), "canonical", 8, seed=5)
    plain, _ = collect_labelled_frames(_reach_env(), oracle_for(REACH), 8, seed=5)
    np.testing.assert_array_equal(canonical_images["front"], plain["front"])
