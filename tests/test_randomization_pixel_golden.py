"""Golden pixel rollouts of ``gym.make(..., randomization="full")``: every observation (camera pipeline with JPEG,
noisy state), reward, termination flag and info (``randomization`` with the per-step ``control_step`` draws) of
long 64 px rollouts under fixed seeds, across resets and mid-episode resamples, so that more than one batch of
noise rows and noise-window offsets is used.

Guards the per-step work of ``DomainRandomization`` and ``SensorPipeline`` (issue #18's overhead cuts) against any
change of a number; the hashes were taken on the code before those cuts. Rendering makes them depend on the GL
backend (Mesa llvmpipe here), as ``test_randomization_golden.py``'s pixel rollouts do.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import simreal  # noqa: F401  (registers the ids)

GOLDEN = {
    ("simreal/Reach-v0", "pixels", "episode"): "6ab49211c8e2c60d",
    ("simreal/Push-v0", "pixels", "episode"): "522eaa84e5276b8b",
    ("simreal/Reach-v0", "pixels_state", 9): "d8a9b45bb564fb42",
}


def _info_json(info: dict[str, Any]) -> bytes:
    return json.dumps(info, sort_keys=True, default=repr).encode()


def rollout_digest(env_id: str, obs_mode: str, resample: str | int, steps: int = 150) -> str:
    """sha256 of a rollout of ``steps`` steps with seeds 0 then 1 (reset every 60 steps)."""
    env = gym.make(env_id, obs_mode=obs_mode, image_size=64, randomization="full", resample=resample)
    digest = hashlib.sha256()

    def update(obs: Any, info: dict[str, Any]) -> None:
        for key in sorted(obs) if isinstance(obs, dict) else [None]:
            array = np.ascontiguousarray(obs if key is None else obs[key])
            digest.update(f"{key}{array.dtype}{array.shape}".encode() + array.tobytes())
        digest.update(_info_json(info))

    rng = np.random.default_rng(3)
    for seed in (0, 1):
        obs, info = env.reset(seed=seed)
        update(obs, info)
        for t in range(steps):
            obs, reward, terminated, truncated, info = env.step(rng.uniform(-1, 1, 4).astype(np.float32))
            update(obs, info)
            digest.update(f"{float(reward)!r}{terminated}{truncated}".encode())
            if terminated or truncated or t % 60 == 59:
                obs, info = env.reset()
                update(obs, info)
    env.close()
    return digest.hexdigest()[:16]


@pytest.mark.parametrize(("env_id", "obs_mode", "resample"), list(GOLDEN), ids=lambda v: str(v).split("/")[-1])
def test_full_pixel_rollouts_are_unchanged(env_id: str, obs_mode: str, resample: str | int) -> None:
    assert rollout_digest(env_id, obs_mode, resample) == GOLDEN[(env_id, obs_mode, resample)]


if __name__ == "__main__":  # print the current digests (to pin an intended behaviour change only)
    for key in GOLDEN:
        print(key, rollout_digest(*key))
