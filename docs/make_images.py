"""Regenerate the README's pictures: each arm task (high quality), randomization galleries, driving views.

Usage: MUJOCO_GL=egl python docs/make_images.py [out_dir]   (default docs/images)
"""

from __future__ import annotations

import sys
from pathlib import Path

import gymnasium as gym
import imageio.v3 as iio
import numpy as np

import simreal  # noqa: F401  (GL backend, ids)
from simreal.atomic import atomic_write
from simreal.envs.driving.snapshots import save_snapshots
from simreal.envs.oracles import oracle_for
from simreal.randomization.gallery import gallery

ARM_IDS = ("simreal/Reach-v0", "simreal/Push-v0", "simreal/PickPlace-v0")


def _write_png(path: Path, image: np.ndarray) -> None:
    atomic_write(path, lambda tmp: iio.imwrite(tmp, image, extension=".png"))


def arm_snapshot(env_id: str, steps: int = 12) -> np.ndarray:
    """A high-quality frame a few oracle steps into an episode."""
    env = gym.make(env_id, render_mode="rgb_array", render_size=320, render_quality="high")
    env.reset(seed=3)
    oracle = oracle_for(env_id)
    for _ in range(steps):
        env.step(oracle(env))
    frame = env.render()
    env.close()
    return frame


def main(out_dir: str = "docs/images") -> None:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for env_id in ARM_IDS:
        name = env_id.split("/")[1].split("-")[0].lower()
        _write_png(out / f"{name}.png", arm_snapshot(env_id))
    gallery("simreal/Push-v0", "full", 16, out / "gallery_push_full.png", seed=0, image_size=96)
    gallery("simreal/LaneFollow-v0", "full", 16, out / "gallery_lanefollow_full.png", seed=0, image_size=96)
    for domain in ("canonical", "test", "real"):
        gallery("simreal/Push-v0", None, 8, out / f"domain_push_{domain}.png", seed=0, domain=domain, image_size=96)
    save_snapshots(out)


if __name__ == "__main__":
    main(*sys.argv[1:])
