"""Frames of policy or oracle rollouts in a named domain, e.g. the sim side of a CycleGAN."""

from __future__ import annotations

import numpy as np

from simreal.data.episodes import RolloutSpec, make_data_env, stream_frames
from simreal.envs.config import check_int_range

__all__ = ["collect_rollout_frames"]


def collect_rollout_frames(spec: RolloutSpec, n: int, seed: int) -> np.ndarray:
    """``n`` RGB observations (uint8 (n, S, S, 3), S = ``spec.image_size``) of seeded episodes: the reset frame,
    then every ``spec.stride`` steps, at most ``spec.frames_per_episode`` per episode. Deterministic in ``seed``."""
    check_int_range("n", n, 1, 10**8)
    check_int_range("seed", seed, 0, 2**63 - 1)
    env = make_data_env(spec)
    frames = np.empty((n, spec.image_size, spec.image_size, 3), dtype=np.uint8)
    try:
        stream = stream_frames(env, spec, np.random.SeedSequence(seed))
        for i in range(n):
            frames[i] = next(stream).rgb
    finally:
        env.close()
    return frames
