"""Golden control perturbations: long state rollouts of the ``train`` domain (action noise, fractional latency,
control-period jitter, observation noise) under fixed seeds, pinned step by step: the actions the env executes, the
physics steps per control step, observations and rewards. Guards the wrapper's per-step code against changes in
any number (the hashes were taken on the code before its per-step work was optimised, issue #18)."""

from __future__ import annotations

import hashlib

import gymnasium as gym
import numpy as np
import pytest

import simreal  # noqa: F401  (registers the ids)
from simreal.randomization import DomainRandomization, domain_spec

GOLDEN = {
    ("episode", 0): "f03e2efbded225e1",
    ("episode", 1): "36de446295f17047",
    (7, 0): "02b0a52c46a5b521",
    (7, 1): "58d2ae8fe611d808",
}


def rollout_digest(resample: str | int, seed: int, steps: int = 120) -> str:
    env = gym.make("simreal/Reach-v0", obs_mode="state").unwrapped
    executed: list[tuple[bytes, int]] = []
    step_checked = env.step_checked

    def recording(action: np.ndarray):  # type: ignore[no-untyped-def]
        executed.append((np.asarray(action).tobytes(), env.frame_skip))
        return step_checked(action)

    env.step_checked = recording  # type: ignore[method-assign]
    wrapped = DomainRandomization(env, domain_spec("train", "arm"), resample=resample)
    digest = hashlib.sha256()
    obs, _ = wrapped.reset(seed=seed)
    digest.update(obs.tobytes())
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        obs, reward, terminated, truncated, info = wrapped.step(rng.uniform(-1, 1, 4).astype(np.float32))
        digest.update(
            obs.tobytes() + repr(float(reward)).encode() + repr(info["randomization"]["control_step"]).encode()
        )
        if terminated or truncated:
            obs, _ = wrapped.reset()
            digest.update(obs.tobytes())
    for action, substeps in executed:
        digest.update(action + str(substeps).encode())
    return digest.hexdigest()[:16]


@pytest.mark.parametrize(("resample", "seed"), sorted(GOLDEN, key=str))
def test_control_rollouts_are_unchanged(resample: str | int, seed: int) -> None:
    assert rollout_digest(resample, seed) == GOLDEN[(resample, seed)]
