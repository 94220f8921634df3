"""The image encoder of a saved SB3 policy as a function of translator-range images: the features the policy
itself computes from the same frame, frozen; a policy without a camera image is refused."""

from __future__ import annotations

import gymnasium as gym
import pytest
import torch
from stable_baselines3 import PPO

from simreal.agents.policy_encoder import policy_image_encoder
from simreal.perception.images import images_to_tensor


def test_encoder_matches_the_policys_own_image_features(tmp_path) -> None:
    torch.manual_seed(0)
    env = gym.make("simreal/LaneFollow-v0", obs_mode="pixels_state", image_size=64)
    model = PPO("MultiInputPolicy", env, n_steps=16, batch_size=16, seed=0, device="cpu")
    model.save(tmp_path / "model.zip")
    obs, _ = env.reset(seed=3)
    env.close()
    frame = obs["pixels"]
    tensors, _ = model.policy.obs_to_tensor({k: v[None] for k, v in obs.items()})
    pixels = tensors["pixels"].float() / 255.0  # what SB3's preprocessing gives the CNN
    with torch.no_grad():
        expected = model.policy.features_extractor.extractors["pixels"](pixels)
    encode = policy_image_encoder(tmp_path / "model.zip")
    features = encode(images_to_tensor(frame))
    assert features.shape == expected.shape == (1, 256)
    torch.testing.assert_close(features, expected, atol=1e-5, rtol=1e-4)
    translated = images_to_tensor(frame).requires_grad_(True)
    encode(translated).sum().backward()  # gradients reach the image (the translator's output)
    assert translated.grad is not None and translated.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.policy.parameters())  # the encoder is frozen (its own copy)


def test_a_policy_without_a_camera_image_has_no_encoder(tmp_path) -> None:
    env = gym.make("simreal/Reach-v0")  # state observations: a Box of 13
    PPO("MlpPolicy", env, n_steps=16, batch_size=16, device="cpu").save(tmp_path / "state.zip")
    env.close()
    with pytest.raises(ValueError, match=r"policy image encoder: the policy sees no image \(Box"):
        policy_image_encoder(tmp_path / "state.zip")
    with pytest.raises(ValueError, match=r"algo: must be one of \['dagger', 'ppo', 'sac', 'sac_her'\], got 'a2c'"):
        policy_image_encoder(tmp_path / "state.zip", algo="a2c")
