"""Pinhole camera maths for MuJoCo cameras: intrinsics from ``fovy``, extrinsics from ``cam_xpos``/``cam_xmat``.

Conventions (documented in ``FORMAT.md``): OpenCV camera frame (x right, y down, z forward); pixel coordinates are
continuous, ``(u, v) = (column, row)``, with the centre of pixel ``[row, col]`` at ``(col + 0.5, row + 0.5)``;
depth is the z-distance along the optical axis in metres, as MuJoCo's depth renderer gives it.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

from simreal.envs.camera import OPENGL_TO_OPENCV, intrinsics_matrix, world_to_camera_matrix

__all__ = ["OPENGL_TO_OPENCV", "CameraModel", "camera_model", "intrinsics_matrix", "pixels_to_plane"]


@dataclass(frozen=True)
class CameraModel:
    """A posed pinhole camera: ``intrinsics`` (3x3) and ``world_to_camera`` (4x4, OpenCV frame)."""

    name: str
    width: int
    height: int
    fovy_deg: float
    intrinsics: np.ndarray
    world_to_camera: np.ndarray

    @property
    def position(self) -> np.ndarray:
        """Camera centre in world coordinates."""
        rotation, translation = self.world_to_camera[:3, :3], self.world_to_camera[:3, 3]
        return -rotation.T @ translation

    def to_camera(self, points: np.ndarray) -> np.ndarray:
        """World points ``(N, 3)`` -> camera-frame points ``(N, 3)``."""
        points = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        return points @ self.world_to_camera[:3, :3].T + self.world_to_camera[:3, 3]

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """World points ``(N, 3)`` -> pixel coordinates ``(N, 2)`` and depths ``(N,)`` (m, <= 0 behind the camera)."""
        camera_points = self.to_camera(points)
        depth = camera_points[:, 2]
        safe = np.where(np.abs(depth) < 1e-9, 1e-9, depth)
        pixels = (camera_points / safe[:, None]) @ self.intrinsics.T
        return pixels[:, :2], depth

    def pixel_rays(self, pixels: np.ndarray) -> np.ndarray:
        """Directions in world coordinates (not normalised; camera-frame z = 1) through pixel coordinates ``(N, 2)``."""
        pixels = np.asarray(pixels, dtype=np.float64).reshape(-1, 2)
        homogeneous = np.concatenate([pixels, np.ones((len(pixels), 1))], axis=1)
        camera_dirs = homogeneous @ np.linalg.inv(self.intrinsics).T
        return camera_dirs @ self.world_to_camera[:3, :3]

    def unproject(self, pixels: np.ndarray, depth: np.ndarray) -> np.ndarray:
        """Pixel coordinates ``(N, 2)`` with depths ``(N,)`` -> world points ``(N, 3)``."""
        rays = self.pixel_rays(pixels)
        return self.position + rays * np.asarray(depth, dtype=np.float64).reshape(-1, 1)

    def to_json(self) -> dict:
        """JSON-able summary (lists of floats)."""
        return {
            "name": self.name,
            "width": self.width,
            "height": self.height,
            "fovy_deg": self.fovy_deg,
            "intrinsics": self.intrinsics.tolist(),
            "world_to_camera": self.world_to_camera.tolist(),
            "position": self.position.tolist(),
        }


def camera_model(model: mujoco.MjModel, data: mujoco.MjData, camera: str, width: int, height: int) -> CameraModel:
    """The pose (from ``data.cam_xpos``/``cam_xmat``, so call after ``mj_forward``) and intrinsics of ``camera``."""
    camera_id = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_CAMERA, camera)
    if camera_id < 0:
        known = [model.camera(i).name for i in range(model.ncam)]
        raise ValueError(f"camera: unknown camera {camera!r}; allowed: {known}")
    fovy = float(model.cam_fovy[camera_id])
    world_to_camera = world_to_camera_matrix(data, camera_id)
    return CameraModel(camera, width, height, fovy, intrinsics_matrix(fovy, width, height), world_to_camera)


def pixels_to_plane(
    pixels: np.ndarray,
    intrinsics: np.ndarray,
    world_to_camera: np.ndarray,
    height: float | np.ndarray,
    strict: bool = True,
) -> np.ndarray:
    """Where the ray through each pixel meets the horizontal plane ``z = height``: world points ``(N, 3)``.

    One camera per pixel: ``pixels`` ``(N, 2)``, ``intrinsics`` ``(N, 3, 3)``, ``world_to_camera`` ``(N, 4, 4)``,
    ``height`` a scalar or ``(N,)``. A ray parallel to the plane or meeting it behind the camera raises
    ``ValueError`` when ``strict``, else gives a row of NaN.
    """
    pixels = np.asarray(pixels, dtype=np.float64).reshape(-1, 2)
    intrinsics = np.asarray(intrinsics, dtype=np.float64).reshape(-1, 3, 3)
    world_to_camera = np.asarray(world_to_camera, dtype=np.float64).reshape(-1, 4, 4)
    if not len(pixels) == len(intrinsics) == len(world_to_camera):
        raise ValueError(
            f"pixels, intrinsics, world_to_camera: need one camera per pixel, got {len(pixels)}, "
            f"{len(intrinsics)} and {len(world_to_camera)}"
        )
    homogeneous = np.concatenate([pixels, np.ones((len(pixels), 1))], axis=1)
    camera_dirs = np.einsum("nij,nj->ni", np.linalg.inv(intrinsics), homogeneous)
    rotation, translation = world_to_camera[:, :3, :3], world_to_camera[:, :3, 3]
    origins = -np.einsum("nji,nj->ni", rotation, translation)
    directions = np.einsum("nji,nj->ni", rotation, camera_dirs)
    with np.errstate(divide="ignore", invalid="ignore"):
        distance = (np.broadcast_to(np.asarray(height, dtype=np.float64), len(pixels)) - origins[:, 2]) / directions[
            :, 2
        ]
    missed = ~np.isfinite(distance) | (distance <= 0)
    if strict and missed.any():
        raise ValueError("pixels: a ray is parallel to the plane or meets it behind the camera")
    return origins + np.where(missed, np.nan, distance)[:, None] * directions
