"""Pinhole maths of MuJoCo cameras (OpenCV frame: x right, y down, z forward): intrinsics from ``fovy``,
extrinsics from ``cam_xpos``/``cam_xmat`` and the 3x4 projection matrix that maps world points to pixels."""

from __future__ import annotations

import mujoco
import numpy as np

__all__ = ["OPENGL_TO_OPENCV", "intrinsics_matrix", "projection_matrix", "world_to_camera_matrix"]

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


def world_to_camera_matrix(data: mujoco.MjData, camera_id: int) -> np.ndarray:
    """4x4 world -> camera (OpenCV frame) transform of a camera (after ``mj_forward``)."""
    rotation = data.cam_xmat[camera_id].reshape(3, 3) @ OPENGL_TO_OPENCV  # columns: camera axes in world
    transform = np.eye(4)
    transform[:3, :3] = rotation.T
    transform[:3, 3] = -rotation.T @ data.cam_xpos[camera_id]
    return transform


def projection_matrix(
    model: mujoco.MjModel, data: mujoco.MjData, camera_id: int, width: int, height: int
) -> np.ndarray:
    """3x4 matrix ``P`` with ``P @ [x, y, z, 1] ~ [u, v, 1]``: pixel coordinates (``(u, v)`` = (column, row), pixel
    ``[r, c]`` centred at ``(c + 0.5, r + 0.5)``) of world points, for a ``width`` x ``height`` image."""
    intrinsics = intrinsics_matrix(float(model.cam_fovy[camera_id]), width, height)
    return intrinsics @ world_to_camera_matrix(data, camera_id)[:3]
