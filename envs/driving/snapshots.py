"""Save high-quality onboard and chase frames of LaneFollow for the README.

Run ``python -m simreal.envs.driving.snapshots [out_dir]`` (default ``docs/images``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import imageio.v3 as iio
import mujoco
import numpy as np

from simreal.atomic import atomic_write
from simreal.envs.driving import scene
from simreal.envs.driving.config import LaneFollowConfig
from simreal.envs.driving.env import LaneFollowEnv
from simreal.envs.driving.oracle import pure_pursuit_action
from simreal.envs.rendering import SceneRenderer

SNAPSHOT_SIZE = 512
TRACK_SEED = 1
DRIVE_STEPS = 60  # oracle steps before the picture, so the car is moving along the road
CONES_AHEAD = ((4.5, 0.9), (9.0, -0.9))  # (m ahead, lateral offset) of the cones put in view


def _write_png(path: Path, image: np.ndarray) -> None:
    atomic_write(path, lambda tmp: iio.imwrite(tmp, image, extension=".png"))


def save_snapshots(out_dir: str | os.PathLike[str], size: int = SNAPSHOT_SIZE) -> list[Path]:
    """Write ``lanefollow_onboard.png`` and ``lanefollow_chase.png`` (``size`` pixels, high quality)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    env = LaneFollowEnv(LaneFollowConfig(track_seed=TRACK_SEED, obstacles=len(CONES_AHEAD)))
    renderer = SceneRenderer(env.model, size, size, "high")
    try:
        env.reset(seed=0)
        for _ in range(DRIVE_STEPS):
            env.step(pure_pursuit_action(env))
        s = float(env.task_state()["track_s"][0])
        track = env.track
        ahead = [
            track.point_at(s + d) + o * track.normals[round((s + d) / track.spacing) % len(track.s)]
            for d, o in CONES_AHEAD
        ]
        scene.place_cones(env.model, env.data, np.array(ahead))
        mujoco.mj_forward(env.model, env.data)
        paths = []
        for camera in ("onboard", "chase"):
            path = out / f"lanefollow_{camera}.png"
            _write_png(path, renderer.render(env.data, camera))
            paths.append(path)
        return paths
    finally:
        renderer.close()
        env.close()


if __name__ == "__main__":
    for written in save_snapshots(sys.argv[1] if len(sys.argv) > 1 else "docs/images"):
        print(written)
