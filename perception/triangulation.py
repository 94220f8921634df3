"""Lifting detected pixels to the world with calibrated cameras: onto a known plane, or triangulated from several.

Camera conventions (OpenCV frame, ``(u, v) = (column, row)`` pixel coordinates) are those of
:mod:`simreal.envs.camera`, which also gives each frame's intrinsics and extrinsics
(:func:`~simreal.envs.camera.camera_model`).
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["pixels_to_plane", "triangulate"]


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


def triangulate(pixels: torch.Tensor, projections: torch.Tensor) -> torch.Tensor:
    """World points ``(N, 3)`` from pixels ``(N, C, 2)`` in ``C >= 2`` cameras with projections ``(N, C, 3, 4)``:
    the least-squares solution of ``u P3 - P1 = 0``, ``v P3 - P2 = 0`` with the point's last coordinate 1."""
    rows = torch.cat(
        [
            pixels[..., :1] * projections[:, :, 2] - projections[:, :, 0],
            pixels[..., 1:] * projections[:, :, 2] - projections[:, :, 1],
        ],
        dim=1,
    )  # (N, 2C, 4)
    return torch.linalg.lstsq(rows[..., :3], -rows[..., 3:]).solution[..., 0]
