"""Pinhole maths of MuJoCo cameras: intrinsics from ``fovy``, extrinsics from ``cam_xpos``/``cam_xmat``, the 3x4
projection matrix that maps world points to pixels, a posed :class:`CameraModel`, and ``look_at_xyaxes`` for
placing scene cameras.

Conventions (documented in ``data/FORMAT.md``): OpenCV camera frame (x right, y down, z forward); pixel coordinates
are continuous, ``(u, v) = (column, row)``, with the centre of pixel ``[row, col]`` at ``(col + 0.5, row + 0.5)``;
depth is the z-distance along the optical axis in metres, as MuJoCo's depth renderer gives it. Lifting pixels back
to the world (plane intersection, triangulation) is perception: :mod:`simreal.perception.triangulation`.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

__all__ = [
    "OPENGL_TO_OPENCV",
    "CameraModel",
    "camera_model",
    "intrinsics_matrix",
    "look_at_xyaxes",
    "mounted_camera_model",
    "projection_matrix",
    "world_to_camera_matrix",
]

# MuJoCo cameras look along -z with y up (OpenGL); flipping y and z gives the OpenCV frame.
OPENGL_TO_OPENCV = np.diag([1.0, -1.0, -1.0])


def intrinsics_matrix(fovy_deg: float, width: int, height: int) -> np.ndarray:
    """3x3 pinhole matrix of a MuJoCo camera: vertical field of view ``fovy_deg``, square pixels, centred axis."""
    if not 0.0 < fovy_deg < 180.0:
        raise ValueError(f"fovy_deg must be in (0, 180) degrees, got {fovy_deg}")
    if width < 1 or height < 1:
        raise ValueError(f"width and height must be >= 1 pixel, got {width}x{height}")
    focal = 0.5 * height / np.tan(np.deg2rad(fovy_deg) / 2.0)
    return np.array([[focal, 0.0, width / 2.0], [0.0, focal, height / 2.0], [0.0, 0.0, 1.0]])


def _to_camera(orientation: np.ndarray, position: np.ndarray) -> np.ndarray:
    """4x4 transform into the OpenCV camera frame of a MuJoCo camera with ``orientation`` (3x3, columns: its
    OpenGL axes in the reference frame) at ``position`` (3,)."""
    rotation = orientation @ OPENGL_TO_OPENCV  # columns: camera axes in the reference frame
    transform = np.eye(4)
    transform[:3, :3] = rotation.T
    transform[:3, 3] = -rotation.T @ position
    return transform


def world_to_camera_matrix(data: mujoco.MjData, camera_id: int) -> np.ndarray:
    """4x4 world -> camera (OpenCV frame) transform of a camera (after ``mj_forward``)."""
    return _to_camera(data.cam_xmat[camera_id].reshape(3, 3), data.cam_xpos[camera_id])


def projection_matrix(
    model: mujoco.MjModel, data: mujoco.MjData, camera_id: int, width: int, height: int
) -> np.ndarray:
    """3x4 matrix ``P`` with ``P @ [x, y, z, 1] ~ [u, v, 1]``: pixel coordinates (``(u, v)`` = (column, row), pixel
    ``[r, c]`` centred at ``(c + 0.5, r + 0.5)``) of world points, for a ``width`` x ``height`` image."""
    intrinsics = intrinsics_matrix(float(model.cam_fovy[camera_id]), width, height)
    return intrinsics @ world_to_camera_matrix(data, camera_id)[:3]


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


def mounted_camera_model(
    model: mujoco.MjModel, camera: str, width: int, height: int, body_origin: np.ndarray
) -> CameraModel:
    """``camera`` relative to the body it is mounted on, as an extrinsic calibration gives it: the model's current
    mount (``cam_pos``, ``cam_quat``, ``cam_fovy``: a camera randomization changes them) in a frame where the body's
    origin is at ``body_origin`` (3,) and its axes are the frame's; ``world_to_camera`` maps that frame's points to
    the camera. The body's motion (``data``) plays no part."""
    camera_id = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_CAMERA, camera)
    if camera_id < 0:
        raise ValueError(
            f"camera: unknown camera {camera!r}; allowed: {[model.camera(i).name for i in range(model.ncam)]}"
        )
    mount = np.empty(9)
    mujoco.mju_quat2Mat(mount, model.cam_quat[camera_id])
    transform = _to_camera(mount.reshape(3, 3), model.cam_pos[camera_id] + np.asarray(body_origin, dtype=np.float64))
    fovy = float(model.cam_fovy[camera_id])
    return CameraModel(camera, width, height, fovy, intrinsics_matrix(fovy, width, height), transform)


def look_at_xyaxes(position: tuple[float, float, float], target: tuple[float, float, float]) -> str:
    """MJCF ``xyaxes`` string for a camera at ``position`` looking at ``target`` with world z up."""
    forward = np.subtract(target, position, dtype=float)
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, (0.0, 0.0, 1.0))
    right /= np.linalg.norm(right)
    up = np.cross(right, forward)
    return " ".join(f"{v:.5f}" for v in (*right, *up))
