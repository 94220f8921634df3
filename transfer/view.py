"""Calibrated view: a driving camera's frame re-projected from the mount it was taken with to the canonical mount.

A policy trained in the canonical scene knows one camera mount. A real car's camera sits centimetres and degrees
off it, and a translator trained on pairs through the same camera (:class:`~simreal.transfer.paired.Pairing`,
``view="same"``) changes the look only, so the policy would still see the road from the wrong place. The mount is
known (an extrinsic calibration: ``vehicle_camera()`` of a driving env, the model's current mount as a re-measured
calibration gives it) and the road is a plane, so the view can be corrected exactly where it matters: each pixel
of the canonical camera below its horizon sees a point of the road plane, which the actual camera's calibration
projects into the actual frame (a plane homography); a pixel above the horizon sees a direction, mapped by the two
cameras' relative rotation (the homography at infinity; the two agree on the horizon). Objects that stand on the
road (cones) lean; pixels the actual camera does not see take the nearest edge pixel. Bilinear sampling.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from simreal.envs.camera import CameraModel
from simreal.envs.driving.mesh import ROAD_Z

__all__ = ["CALIBRATED_VIEW_TASKS", "BilinearSampler", "CalibratedView", "plane_homography", "remap", "view_map"]

CALIBRATED_VIEW_TASKS = ("simreal/LaneFollow-v0",)  # the tasks whose env has a calibrated vehicle camera

MIN_DEPTH = 0.05  # m: a road point nearer the canonical camera (or behind it) is treated as sky


def plane_homography(camera: CameraModel, plane_z: float) -> np.ndarray:
    """3x3 ``H`` with ``H @ [x, y, 1] ~ [u, v, 1]``: the pixel of the point ``(x, y, plane_z)`` of ``camera``'s
    reference frame."""
    projection = camera.intrinsics @ camera.world_to_camera[:3]
    return np.column_stack([projection[:, 0], projection[:, 1], projection[:, 2] * plane_z + projection[:, 3]])


def view_map(source: CameraModel, target: CameraModel, plane_z: float = ROAD_Z) -> np.ndarray:
    """``(target.height, target.width, 2)`` float64: for each pixel centre of ``target`` the continuous pixel
    coordinates ``(u, v)`` of ``source`` that see the same point of the plane ``z = plane_z`` (below ``target``'s
    horizon) or the same direction (above it). Both cameras in one reference frame (e.g. the car's ground frame)."""
    u, v = np.meshgrid(np.arange(target.width) + 0.5, np.arange(target.height) + 0.5)
    pixels = np.stack([u.ravel(), v.ravel(), np.ones(u.size)])
    plane = np.linalg.solve(plane_homography(target, plane_z), pixels)  # homogeneous plane points
    with np.errstate(divide="ignore", invalid="ignore"):
        points = np.column_stack([plane[0] / plane[2], plane[1] / plane[2], np.full(u.size, plane_z)])
    finite = np.isfinite(points).all(axis=1)
    depth = np.where(finite, target.to_camera(np.where(finite[:, None], points, 0.0))[:, 2], -1.0)
    on_plane = depth > MIN_DEPTH
    rotation = source.world_to_camera[:3, :3] @ target.world_to_camera[:3, :3].T
    at_infinity = source.intrinsics @ rotation @ np.linalg.inv(target.intrinsics)
    mapped = np.where(on_plane, plane_homography(source, plane_z) @ plane, at_infinity @ pixels)
    return (mapped[:2] / mapped[2]).T.reshape(target.height, target.width, 2)


@dataclass(frozen=True)
class BilinearSampler:
    """Bilinear sampling of (H, W, C) uint8 images at fixed continuous pixel ``coordinates`` (h, w, 2) ``(u, v)``
    (pixel ``[r, c]`` centred at ``(c + 0.5, r + 0.5)``), clamped to the image's edge: the corner indices and
    weights worked out once (:meth:`at`), so a map used for a whole episode costs only the gathers per frame."""

    coordinates: np.ndarray
    corners: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # flat indices of the 4 neighbours, (h, w)
    weights: tuple[np.ndarray, np.ndarray]  # fx, fy, (h, w, 1)

    @classmethod
    def at(cls, coordinates: np.ndarray, height: int, width: int) -> BilinearSampler:
        """The sampler of ``coordinates`` for images of ``height`` x ``width``."""
        x = np.clip(coordinates[..., 0] - 0.5, 0.0, width - 1.0)
        y = np.clip(coordinates[..., 1] - 0.5, 0.0, height - 1.0)
        x0, y0 = np.floor(x).astype(np.intp), np.floor(y).astype(np.intp)
        x1, y1 = np.minimum(x0 + 1, width - 1), np.minimum(y0 + 1, height - 1)
        corners = (y0 * width + x0, y0 * width + x1, y1 * width + x0, y1 * width + x1)
        return cls(coordinates, corners, ((x - x0)[..., None], (y - y0)[..., None]))

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """``image`` sampled at the coordinates; (h, w, C) uint8."""
        pixels = image.reshape(-1, image.shape[-1]).astype(np.float32)
        top_left, top_right, bottom_left, bottom_right = (pixels[index] for index in self.corners)
        fx, fy = self.weights
        top = top_left * (1 - fx) + top_right * fx
        bottom = bottom_left * (1 - fx) + bottom_right * fx
        return np.rint(top * (1 - fy) + bottom * fy).clip(0, 255).astype(np.uint8)


def remap(image: np.ndarray, coordinates: np.ndarray) -> np.ndarray:
    """``image`` (H, W, C) uint8 sampled bilinearly at continuous pixel ``coordinates`` (h, w, 2) ``(u, v)``
    (:class:`BilinearSampler`), clamped to the image's edge; (h, w, C) uint8."""
    return BilinearSampler.at(coordinates, *image.shape[:2])(image)


class CalibratedView(gym.ObservationWrapper, gym.utils.RecordConstructorArgs):
    """A driving env's image observation re-projected to the canonical camera mount through the mount's
    calibration (:func:`view_map`), re-computed whenever the mount changes (a randomization's reset). Put it
    outside a translator (:class:`~simreal.transfer.wrapper.CycleGANObservation`) so that the translator sees the
    camera's own frame. One image observation (``pixels`` or ``pixels_state``, one camera)."""

    def __init__(self, env: gym.Env[Any, Any]) -> None:
        gym.utils.RecordConstructorArgs.__init__(self)
        gym.ObservationWrapper.__init__(self, env)
        base: Any = env.unwrapped
        if not hasattr(base, "vehicle_camera"):
            raise ValueError(f"CalibratedView needs a driving env (vehicle_camera), got {type(base).__name__}")
        if len(base.camera_names) != 1 or base.config.obs_mode == "state":
            raise ValueError(
                f"CalibratedView needs one camera image, got obs_mode {base.config.obs_mode!r}, cameras "
                f"{list(base.camera_names)}"
            )
        nominal = type(base)(base.config)  # the canonical mount: a fresh model, before any randomization
        self._canonical = nominal.vehicle_camera()
        nominal.close()
        self._mount: bytes = b""
        self._sampler: BilinearSampler | None = None

    def _current_sampler(self) -> BilinearSampler:
        base: Any = self.env.unwrapped
        camera = base.model.camera(base.camera_names[0]).id
        mount = b"".join(a[camera].tobytes() for a in (base.model.cam_pos, base.model.cam_quat, base.model.cam_fovy))
        if self._sampler is None or mount != self._mount:
            size = base.config.image_size
            self._mount = mount
            self._sampler = BilinearSampler.at(view_map(base.vehicle_camera(), self._canonical), size, size)
        return self._sampler

    def observation(self, observation: Any) -> Any:
        """The observation with its image seen from the canonical mount."""
        if isinstance(observation, dict):
            return {**observation, "pixels": self._current_sampler()(observation["pixels"])}
        return self._current_sampler()(observation)
