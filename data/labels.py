"""Per-frame labels from any simreal env and camera: RGB, depth, per-object segmentation, object poses, 2D boxes,
projected keypoints, camera intrinsics/extrinsics, randomization params, spec hash and seed.

Objects are geoms: every named, visible, non-plane geom of the model unless ``objects`` names them (glob patterns).
The segmentation map holds the geom id of each pixel (-1: background or non-geom).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import mujoco
import numpy as np

from simreal.data.camera import CameraModel, camera_model

__all__ = ["CORNER_SIGNS", "Frame", "box_keypoints", "frame_labels", "label_geoms", "mask_bbox", "object_labels"]

# The 8 box corners as signs of the half extents; keypoint 0 is the centre, keypoints 1..8 follow this order.
_GEOM_TYPE = int(mujoco.mjtObj.mjOBJ_GEOM)  # a plain int: comparing arrays with the enum is ~100x slower
CORNER_SIGNS = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], dtype=np.float64)


@dataclass(frozen=True)
class Frame:
    """One labelled frame: images plus a JSON-able ``meta`` dict (camera, objects, task state, provenance)."""

    rgb: np.ndarray  # uint8 (H, W, 3), the observation (sensor effects included when randomized)
    depth: np.ndarray  # float32 (H, W), metres along the optical axis
    segmentation: np.ndarray  # int32 (H, W), geom id or -1
    meta: dict[str, Any]


def _visible(model: mujoco.MjModel, geom: int) -> bool:
    material = int(model.geom_matid[geom])
    alpha = model.mat_rgba[material, 3] if material >= 0 else model.geom_rgba[geom, 3]
    return bool(alpha > 0) and int(model.geom_group[geom]) <= 2  # groups 0-2 render by default


def label_geoms(model: mujoco.MjModel, objects: Sequence[str] | None = None) -> list[int]:
    """Geom ids to label: those matching ``objects`` (glob patterns), else every named visible non-plane geom."""
    chosen = []
    for geom in range(model.ngeom):
        name = model.geom(geom).name
        if not name or int(model.geom_type[geom]) == mujoco.mjtGeom.mjGEOM_PLANE:
            continue
        if objects is None:
            if _visible(model, geom):
                chosen.append(geom)
        elif any(fnmatch.fnmatchcase(name, pattern) for pattern in objects):
            chosen.append(geom)
    return chosen


def box_keypoints(model: mujoco.MjModel, data: mujoco.MjData, geom: int) -> np.ndarray:
    """World coordinates ``(9, 3)`` of a geom's centre and the 8 corners of its oriented bounding box."""
    rotation = data.geom_xmat[geom].reshape(3, 3)
    centre, half = model.geom_aabb[geom, :3], model.geom_aabb[geom, 3:]
    local = np.vstack([centre, centre + CORNER_SIGNS * half])
    local[0] = 0.0  # keypoint 0 is the geom frame origin (the object centre)
    return data.geom_xpos[geom] + local @ rotation.T


def mask_bbox(mask: np.ndarray) -> list[int] | None:
    """Tight box ``[x0, y0, x1, y1]`` (pixels, x1/y1 exclusive) of a boolean mask, or None when it is empty."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return None
    return [int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1]


def object_labels(
    model: mujoco.MjModel, data: mujoco.MjData, camera: CameraModel, segmentation: np.ndarray, geoms: Sequence[int]
) -> dict[str, dict[str, Any]]:
    """Pose, keypoints, projected and visible boxes and pixel count of each geom, keyed by geom name."""
    labels = {}
    for geom in geoms:
        points = box_keypoints(model, data, geom)
        pixels, depth = camera.project(points)
        quaternion = np.zeros(4)
        mujoco.mju_mat2Quat(quaternion, data.geom_xmat[geom])
        mask = segmentation == geom
        corners = pixels[1:]
        labels[model.geom(geom).name] = {
            "geom_id": int(geom),
            "position": points[0].tolist(),
            "quaternion_wxyz": quaternion.tolist(),
            "keypoints_2d": pixels.tolist(),
            "keypoints_depth": depth.tolist(),
            "bbox": mask_bbox(mask),
            "bbox_projected": [*corners.min(axis=0).tolist(), *corners.max(axis=0).tolist()],
            "visible_pixels": int(mask.sum()),
        }
    return labels


def geom_segmentation(raw: np.ndarray) -> np.ndarray:
    """MuJoCo's ``[object id, object type]`` segmentation -> int32 geom id per pixel (-1 elsewhere)."""
    is_geom = raw[..., 1] == _GEOM_TYPE
    return np.where(is_geom, raw[..., 0], -1).astype(np.int32)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def frame_labels(
    env: gym.Env,
    camera: str,
    size: int,
    rgb: np.ndarray | None = None,
    info: dict[str, Any] | None = None,
    seed: int | None = None,
    step: int | None = None,
    objects: Sequence[str] | None = None,
) -> Frame:
    """Label the env's current state as seen by ``camera`` at ``size`` x ``size`` pixels.

    ``rgb`` is the observation to store (rendered here when None); ``info`` supplies the randomization params and
    spec hash (from :class:`~simreal.randomization.DomainRandomization`); ``seed``/``step`` record the provenance.
    """
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"size must be an int >= 1 pixel, got {size!r}")
    base: Any = env.unwrapped
    model, data = base.model, base.data
    if rgb is None:
        rgb = base.render_frame(camera, "rgb", size)
    if rgb.shape != (size, size, 3) or rgb.dtype != np.uint8:
        raise ValueError(f"rgb must be uint8 of shape {(size, size, 3)}, got {rgb.dtype} {rgb.shape}")
    depth = base.render_frame(camera, "depth", size).astype(np.float32, copy=False)
    segmentation = geom_segmentation(base.render_frame(camera, "segmentation", size))
    cam = camera_model(model, data, camera, size, size)
    info = info or {}
    meta = {
        "env_id": env.spec.id if env.spec is not None else type(base).__name__,
        "seed": seed,
        "step": step,
        "camera": cam.to_json(),
        "objects": object_labels(model, data, cam, segmentation, label_geoms(model, objects)),
        "task_state": _jsonable(base.task_state()),
        "spec_hash": info.get("spec_hash"),
        "randomization": _jsonable(info.get("randomization")),
    }
    return Frame(rgb=rgb, depth=depth, segmentation=segmentation, meta=meta)
