"""``load_frames``: frames from a spec string, either ``<env id>:<domain>`` (rollouts) or a folder/video path."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from simreal.data.episodes import RolloutSpec
from simreal.data.real_images import load_real_images
from simreal.data.rollouts import collect_rollout_frames

__all__ = ["ENV_SPEC", "load_frames"]

ENV_SPEC = re.compile(r"^(?P<env_id>[\w.-]+/[\w.-]+-v\d+):(?P<domain>\w+)$")


def load_frames(spec: str, n: int, image_size: int, seed: int) -> np.ndarray:
    """uint8 frames ``(n, image_size, image_size, 3)``.

    ``spec`` is ``"simreal/Push-v0:canonical"`` (oracle rollouts of that env in that domain) or an existing folder of
    images / video file (``n`` frames drawn with ``seed``). An existing path wins over the env form.
    """
    if not isinstance(spec, str) or not spec:
        raise ValueError(f"spec: expected '<env id>:<domain>' or a folder/video path, got {spec!r}")
    if Path(spec).exists():
        return load_real_images(spec, image_size, n=n, seed=seed)
    match = ENV_SPEC.match(spec)
    if match is None:
        raise ValueError(
            f"spec: {spec!r} is neither an existing folder/video nor '<env id>:<domain>' "
            "(e.g. 'simreal/Push-v0:canonical')"
        )
    return collect_rollout_frames(RolloutSpec(match["env_id"], match["domain"], image_size=image_size), n, seed)
