"""The image encoder of a trained SB3 policy, as a frozen function of images: what a policy-consistent translator
(:func:`simreal.transfer.rcan.train_rcan` with ``feature_networks``) must keep unchanged."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from gymnasium import spaces
from stable_baselines3.common.preprocessing import is_image_space
from torch import nn

from simreal.agents.run_config import ALGOS
from simreal.agents.run_files import load_policy

__all__ = ["policy_image_encoder"]


def _image_extractor(policy: Any, observation_space: spaces.Space[Any]) -> nn.Module:
    """The module that encodes the policy's one camera image (its actor's, when actor and critic differ)."""
    extractor: Any = getattr(policy, "pi_features_extractor", None)
    if extractor is None:  # SAC: the actor owns its extractor
        extractor = policy.actor.features_extractor
    if isinstance(observation_space, spaces.Dict):
        keys = [k for k, s in observation_space.spaces.items() if is_image_space(s)]
        if len(keys) != 1:
            raise ValueError(f"policy image encoder: needs exactly one image in the observations, got {keys}")
        extractor = extractor.extractors[keys[0]]
    elif not is_image_space(observation_space):
        raise ValueError(f"policy image encoder: the policy sees no image ({observation_space})")
    if not isinstance(extractor, nn.Module):
        raise ValueError(f"policy image encoder: expected a torch module, got {type(extractor).__name__}")
    return extractor


def policy_image_encoder(model_zip: str | Path, algo: str = "ppo") -> Callable[[torch.Tensor], torch.Tensor]:
    """The frozen image encoder of the ``algo`` policy saved at ``model_zip``, taking ``[-1, 1]`` NCHW images (a
    translator's output) and returning the features the policy computes from that image. ``ValueError`` when the
    policy sees no camera image or more than one (e.g. a policy on point-detector estimates has no encoder)."""
    if algo not in ALGOS:
        raise ValueError(f"algo: must be one of {sorted(ALGOS)}, got {algo!r}")
    model = load_policy(Path(model_zip), ALGOS[algo], device="cpu")
    encoder = _image_extractor(model.policy, model.policy.observation_space).eval().requires_grad_(False)
    scale = model.policy.normalize_images  # SB3 divides uint8 images by 255 when it normalizes them

    def encode(images: torch.Tensor) -> torch.Tensor:
        pixels = (images + 1.0) / 2.0 if scale else (images + 1.0) * 127.5
        features: torch.Tensor = encoder(pixels)
        return features

    return encode
