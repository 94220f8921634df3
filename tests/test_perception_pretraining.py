"""Keypoint extractor, encoder pre-training and the pre-trained pixel config."""

from collections.abc import Callable
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

from simreal.agents.hyperparams import load_hyperparams
from simreal.agents.train import ENCODER, train
from simreal.envs.oracles import oracle_for
from simreal.perception.extractors import KeypointExtractor
from simreal.perception.pretraining import (
    collect_labelled_frames,
    load_encoder,
    pretrain_encoder,
    save_encoder,
    training_frames,
)

REACH = "simreal/Reach-v0"


def _space(size: int = 16, cameras: tuple[str, ...] = ("front", "side"), state: int = 7) -> gym.spaces.Dict:
    images = {c: gym.spaces.Box(0, 255, (3, size, size), np.uint8) for c in cameras}
    return gym.spaces.Dict({**images, "state": gym.spaces.Box(-np.inf, np.inf, (state,), np.float32)})


def _reach_env(size: int = 16) -> gym.Env:
    return gym.make(REACH, obs_mode="pixels_state", cameras=("front", "side"), image_size=size)


def test_extractor_features_are_keypoints_plus_state() -> None:
    assert KeypointExtractor(_space(), keypoints=4, targets=3).features_dim == 3 + 7
    extractor = KeypointExtractor(_space(), keypoints=4)
    assert extractor.features_dim == 2 * 2 * 4 + 7
    obs = {"front": torch.rand(5, 3, 16, 16), "side": torch.rand(5, 3, 16, 16), "state": torch.randn(5, 7)}
    features = extractor(obs)
    assert features.shape == (5, 23)
    assert torch.all(features[:, :16].abs() <= 1.0)  # keypoints are image coordinates in [-1, 1]
    torch.testing.assert_close(features[:, 16:], obs["state"])


def test_extractor_rejects_spaces_without_square_images() -> None:
    with pytest.raises(ValueError, match="no image"):
        KeypointExtractor(gym.spaces.Box(-1, 1, (4,), np.float32))
    with pytest.raises(ValueError, match="square"):
        KeypointExtractor(gym.spaces.Dict({"front": gym.spaces.Box(0, 255, (3, 16, 20), np.uint8)}))


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


def test_pretraining_fits_the_goal_and_round_trips(tmp_path: Path) -> None:
    torch.manual_seed(0)
    images, targets = collect_labelled_frames(_reach_env(32), oracle_for(REACH), 1000, seed=0)
    extractor = KeypointExtractor(_space(32), keypoints=8, targets=3)
    spread = float(np.sqrt(np.mean(targets.std(axis=0) ** 2)))
    rmse = pretrain_encoder(extractor, images, targets, epochs=20, seed=0)
    assert rmse < 0.6 * spread  # it learned something about where the goal is
    path = save_encoder(extractor, tmp_path / "enc.pt", {"rmse_m": rmse})
    fresh = KeypointExtractor(_space(32), keypoints=8, targets=3)
    assert load_encoder(fresh, path) == {"rmse_m": rmse}
    assert not any(p.requires_grad for p in fresh.parameters())
    tensors = {k: torch.from_numpy(v[:200]).permute(0, 3, 1, 2).float() / 255 for k, v in images.items()}
    estimate = fresh.estimate(tensors)
    error = np.sqrt(np.mean(np.sum((estimate.numpy() - targets[:200]) ** 2, axis=1) / 3))
    assert error < 0.6 * spread  # the head predicts metres (its target scaling was saved)
    obs = {"front": torch.rand(2, 3, 32, 32), "side": torch.rand(2, 3, 32, 32), "state": torch.zeros(2, 7)}
    torch.testing.assert_close(fresh(obs), extractor(obs))
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a readable encoder"):
        load_encoder(fresh, tmp_path / "bad.pt")
    with pytest.raises(ValueError, match="another architecture"):
        load_encoder(KeypointExtractor(_space(32), keypoints=4, targets=3), path)
    with pytest.raises(ValueError, match="head predicts 3 coordinates"):
        pretrain_encoder(fresh, images, targets[:, :2], epochs=1, seed=0)


def test_pretrain_settings_are_validated(tmp_path: Path) -> None:
    path = tmp_path / "ppo.yml"
    for bad, match in [("dict(frames=10)", "expected dict"), ("dict(frames=10, epochs=2)", "frames must be")]:
        path.write_text(f"{REACH}:\n  policy: MultiInputPolicy\n  pretrain_encoder: '{bad}'\n")
        with pytest.raises(ValueError, match=match):
            load_hyperparams("ppo", REACH, path)


def test_train_pretrains_once_and_freezes_the_encoder(
    tmp_path: Path, tiny_pretrained_pixel_config: Callable[..., Path]
) -> None:
    config = tiny_pretrained_pixel_config("KeypointExtractor", "keypoints=4, targets=3")
    out = train(  # evaluation syncs VecNormalize stats through SB3's VecTransposeImage (a regression test)
        REACH, "ppo", None, 64, 0, tmp_path / "run", config_path=config, eval_freq=64, eval_episodes=1,
        progress_bar=False,
    )  # fmt: skip
    encoder = torch.load(out / ENCODER, weights_only=True)
    assert encoder["info"]["frames"] == 64
    from stable_baselines3 import PPO

    model = PPO.load(out / "model.zip", device="cpu")
    weights = model.policy.features_extractor.state_dict()
    for key, value in encoder["weights"].items():  # PPO's updates left the frozen encoder untouched
        torch.testing.assert_close(weights[key], value)


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
