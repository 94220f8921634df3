"""Calibrated lane detection for driving pixel policies: the lane centre's pixels, lifted to the road by the camera.

:class:`~simreal.perception.lane_perception.LaneRegressor` maps the image straight to metres (offset, heading,
curvature). Those numbers depend on where the camera is: a camera mounted a few centimetres higher, tilted 3 degrees
or zoomed differently shows the same road at other pixels, and the regressor, which has to infer the mount from
the scene, reads another geometry. The lanefollow_pixels report's real:0 ablation found the camera mount to be
all of the regressor's loss there. Lane detectors in driving stacks therefore work in the image and leave the metres to
the calibration (inverse perspective mapping; row anchors as in Qin et al. 2020, "Ultra Fast Lane Detection"):

1. :class:`LaneRowDetector` predicts, for ``ANCHORS`` fixed image rows, the column where the road's centre line
   crosses the row and whether that crossing is inside the image (a free label in simulation: the centre line
   projected through the rendered camera, :func:`lane_row_targets`). What the image shows, not where the camera
   is.
2. :func:`lift_lane_rows` intersects each (column, row) ray with the road plane using the car's calibrated camera
   (the driving env's ``vehicle_camera()``: intrinsics and mount, what a real car's calibration gives), fits the
   centre line ``y = c0 + c1 x + c2 x^2`` in the car's ground frame (weighted: rows seen in the image and near
   ones count more) and reads its lateral position ``LOOK_X`` ahead: ``lane_points`` (metres, left positive).
3. :class:`CalibratedLanePerception` (a VecEnv wrapper) replaces the image with ``lane_points``; it asks each env
   for its calibration at every reset (a camera randomization re-mounts the camera per episode).

The detector still has to have seen the road from the mounts it will meet: trained on the driving ``train``
domain's +-2 degrees it is off by 7-12 px on the reality proxies, trained across a lab's range of mounts
(``configs/randomization/driving_train_wide_camera.yaml``) by 1-2 px.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper
from stable_baselines3.common.vec_env.base_vec_env import VecEnvObs, VecEnvStepReturn
from torch import nn

from simreal.envs.camera import CameraModel, camera_model
from simreal.envs.driving.mesh import ROAD_Z
from simreal.perception.checkpoint import load_weights
from simreal.perception.images import augment_appearance, images_to_tensor
from simreal.perception.lane_perception import LANE_COLLECTION, fresh_fit, image_key_of, lane_cnn, mirror_lanes
from simreal.perception.pretraining import training_frames
from simreal.perception.training import FitSettings, run_epochs
from simreal.perception.triangulation import pixels_to_plane

__all__ = [
    "ANCHOR_ROWS",
    "LANE_POINTS_KEY",
    "LOOK_X",
    "CalibratedLanePerception",
    "LaneRowDetector",
    "anchor_rows",
    "lane_points_truth",
    "lane_row_targets",
    "lift_lane_rows",
    "load_calibrated_lane_perception",
    "pretrain_lane_detector",
    "train_lane_detector",
]

LANE_POINTS_KEY = "lane_points"
# Anchor rows as fractions of the image height (pixel-row centres 28.5, 30.5, ..., 58.5 of a 64 px image): from
# just below the nominal onboard camera's horizon (row ~26, the road ~5 m ahead) to ~0.5 m ahead of the bonnet
ANCHOR_ROWS = (np.arange(28, 60, 2) + 0.5) / 64
LOOK_X = (1.0, 2.0, 3.0, 4.0, 5.0)  # m ahead of the car's ground origin where lane_points reads the centre line
MAX_RANGE = 10.0  # m: lifted points further ahead (a row at or above the horizon) are left out of the fit
LATERAL_LIMIT = 5.0  # m: lane_points are clipped to +-LATERAL_LIMIT (a lane centre further off is lost anyway)
LABEL_RANGE = (-2.0, 25.0)  # m along the centre line from the car where the labels look for row crossings
LABEL_STEP = 0.1  # m between centre-line samples of a label
OUTSIDE_WEIGHT = 0.2  # fit weight of a crossing the detector says is outside the image, relative to one inside
CURVATURE_RIDGE = 1e-2  # ridge on the fit's quadratic term (x in metres): a short visible stretch stays near straight


def anchor_rows(image_size: int) -> np.ndarray:
    """The anchor rows' continuous pixel coordinates ``v`` for a square image of side ``image_size``."""
    return ANCHOR_ROWS * image_size


def lane_row_targets(env: gym.Env) -> np.ndarray:
    """The label of one driving frame, ``(2 * ANCHORS,)`` float32: for each anchor row the column ``u`` (pixels)
    where the centre line's projection first crosses it going ahead (NaN where it does not within
    ``LABEL_RANGE``), then 1.0 where that column is inside the image, else 0.0. Projected through the camera as
    rendered (its pose in the world this step)."""
    unwrapped = env.unwrapped
    track = getattr(unwrapped, "track", None)
    if track is None or not hasattr(unwrapped, "vehicle_camera"):
        raise ValueError(f"lane detection needs a driving env with a track, got {type(unwrapped).__name__}")
    size = unwrapped.config.image_size  # type: ignore[attr-defined]
    camera = camera_model(unwrapped.model, unwrapped.data, unwrapped.camera_names[0], size, size)  # type: ignore[attr-defined]
    s = float(unwrapped.task_state()["track_s"][0])  # type: ignore[attr-defined]
    ahead = track.point_at(s + np.arange(*LABEL_RANGE, LABEL_STEP))
    pixels, depth = camera.project(np.column_stack([ahead, np.full(len(ahead), ROAD_Z)]))
    columns = _row_crossings(pixels, depth > 0.05, anchor_rows(size))
    inside = ((columns >= 0) & (columns <= size)).astype(np.float32)
    return np.concatenate([columns, inside]).astype(np.float32)


def _row_crossings(pixels: np.ndarray, usable: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """For each row ``v``, the ``u`` where the polyline ``pixels`` (N, 2) first crosses it (linear between
    samples; both ends ``usable``), NaN where it never does."""
    v = pixels[:, 1]
    columns = np.full(len(rows), np.nan)
    pair = usable[:-1] & usable[1:]
    for k, row in enumerate(rows):
        crossing = np.flatnonzero(pair & ((v[:-1] - row) * (v[1:] - row) <= 0) & (v[:-1] != v[1:]))
        if len(crossing):
            i = crossing[0]
            t = (row - v[i]) / (v[i + 1] - v[i])
            columns[k] = pixels[i, 0] + t * (pixels[i + 1, 0] - pixels[i, 0])
    return columns


def lane_points_truth(env: gym.Env) -> np.ndarray:
    """The true ``lane_points`` ``(len(LOOK_X),)`` of a driving env's current state: the centre line's lateral
    position (m, left positive) in the car's ground frame where it first reaches each ``LOOK_X`` ahead."""
    state = env.unwrapped.task_state()  # type: ignore[attr-defined]
    track = env.unwrapped.track  # type: ignore[attr-defined]
    ahead = track.point_at(float(state["track_s"][0]) + np.arange(*LABEL_RANGE, LABEL_STEP)) - state["car_pos"][:2]
    yaw = float(state["car_yaw"][0])
    x = ahead @ np.array([np.cos(yaw), np.sin(yaw)])
    y = ahead @ np.array([-np.sin(yaw), np.cos(yaw)])
    swapped = _row_crossings(np.column_stack([y, x]), np.ones(len(x), bool), np.asarray(LOOK_X))
    return swapped.astype(np.float32)


class LaneRowDetector(nn.Module):
    """Image ``[-1, 1]`` (N, 3, S, S) -> per anchor row the centre line's column (standardised: ``u / S - 0.5``)
    and an inside-the-image logit, (N, 2 * ANCHORS): the lane regressor's convolutional trunk
    (:func:`~simreal.perception.lane_perception.lane_cnn`) with another read-out.

    ``observation_space``: the policy env's Dict space with exactly one image key."""

    def __init__(self, observation_space: gym.Space, channels: int = 32) -> None:
        super().__init__()
        self.image_key, size = image_key_of(observation_space, "LaneRowDetector")
        self.config = {"image_size": size, "channels": channels}
        self.net = lane_cnn(size, channels, 2 * len(ANCHOR_ROWS))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images)

    @torch.no_grad()
    def detect_frames(self, images: np.ndarray, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
        """Per anchor row the column ``u`` (pixels) and the probability that it is inside the image, each
        ``(N, ANCHORS)``, from uint8 HWC images."""
        outputs = torch.cat(
            [
                self(images_to_tensor(images[start : start + batch_size], channels_last=True))
                for start in range(0, len(images), batch_size)
            ]
        ).numpy()
        anchors, size = len(ANCHOR_ROWS), self.config["image_size"]
        return (outputs[:, :anchors] + 0.5) * size, 1.0 / (1.0 + np.exp(-outputs[:, anchors:]))


def lift_lane_rows(columns: np.ndarray, inside: np.ndarray, cameras: list[CameraModel]) -> np.ndarray:
    """``lane_points`` ``(N, len(LOOK_X))`` float32 from detected anchor-row ``columns`` and their inside
    probabilities (N, ANCHORS) with each frame's calibrated camera (its ``vehicle_camera()``).

    Each (column, row) is lifted onto the road plane; a weighted least-squares quadratic (weight
    ``(OUTSIDE_WEIGHT + (1 - OUTSIDE_WEIGHT) * inside) / x^2``, the lateral error of a pixel grows with the
    distance; points behind the car, beyond ``MAX_RANGE`` or above the horizon left out; a small ridge on the
    curvature) is read at ``LOOK_X`` and clipped to ``+-LATERAL_LIMIT`` m. A frame with fewer than two usable rows
    gives zeros (straight ahead)."""
    n, anchors = columns.shape
    if inside.shape != columns.shape or len(cameras) != n:
        raise ValueError(f"columns {columns.shape}, inside {inside.shape} and {len(cameras)} cameras do not match")
    if n == 0:
        return np.zeros((0, len(LOOK_X)), np.float32)
    rows = np.broadcast_to(anchor_rows(cameras[0].height), (n, anchors))
    pixels = np.stack([columns, rows], axis=-1).reshape(-1, 2)
    intrinsics = np.repeat(np.stack([c.intrinsics for c in cameras]), anchors, axis=0)
    extrinsics = np.repeat(np.stack([c.world_to_camera for c in cameras]), anchors, axis=0)
    points = pixels_to_plane(pixels, intrinsics, extrinsics, ROAD_Z, strict=False).reshape(n, anchors, 3)
    x, y = points[..., 0], points[..., 1]
    usable = np.isfinite(x) & (x > 0.05) & (x <= MAX_RANGE)
    weight = np.where(usable, (OUTSIDE_WEIGHT + (1 - OUTSIDE_WEIGHT) * inside) / np.where(usable, x, 1.0) ** 2, 0.0)
    x, y = np.where(usable, x, 0.0), np.where(usable, y, 0.0)
    design = np.stack([np.ones_like(x), x, x**2], axis=-1)  # (N, A, 3)
    normal = np.einsum("na,nai,naj->nij", weight, design, design)
    normal[:, 2, 2] += CURVATURE_RIDGE * weight.sum(axis=1)
    normal += 1e-9 * np.eye(3)
    coefficients = np.linalg.solve(normal, np.einsum("na,nai,na->ni", weight, design, y)[..., None])[..., 0]
    look = np.asarray(LOOK_X)
    lateral = coefficients[:, :1] + coefficients[:, 1:2] * look + coefficients[:, 2:] * look**2
    lateral = np.where((usable.sum(axis=1) >= 2)[:, None], lateral, 0.0)
    return np.clip(lateral, -LATERAL_LIMIT, LATERAL_LIMIT).astype(np.float32)


def train_lane_detector(model: LaneRowDetector, images: np.ndarray, targets: np.ndarray, fit: FitSettings) -> float:
    """Fit ``model`` (weights initialised afresh from ``fit.seed``) to uint8 ``images`` (N, S, S, 3) and their
    :func:`lane_row_targets` (N, 2 * ANCHORS): smooth-L1 on the standardised columns of the crossings within half
    an image of its sides, binary cross-entropy on inside-the-image; the lane regressor's augmentation (mirror,
    which maps ``u`` to ``S - u``, and appearance). Returns the median column error (pixels) over the training
    frames' crossings inside the image."""
    anchors = len(ANCHOR_ROWS)
    if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
        raise ValueError(f"images must be uint8 (N, S, S, 3), got {images.dtype} {images.shape}")
    if targets.shape != (len(images), 2 * anchors):
        raise ValueError(f"targets must have shape {(len(images), 2 * anchors)}, got {targets.shape}")
    size = images.shape[1]
    generator, schedule = fresh_fit(model, fit, len(images))
    standard = targets[:, :anchors] / size - 0.5
    known = np.isfinite(standard) & (np.abs(standard) <= 1.0)
    inputs = images_to_tensor(images, channels_last=True)
    columns = torch.from_numpy(np.where(known, standard, 0.0).astype(np.float32))
    mask = torch.from_numpy(known.astype(np.float32))
    inside = torch.from_numpy(targets[:, anchors:].astype(np.float32))

    def batch_loss(batch: torch.Tensor) -> torch.Tensor:
        batch_images, batch_columns = inputs[batch], columns[batch]
        if fit.augment:
            batch_images, batch_columns = mirror_lanes(batch_images, batch_columns, generator)
            batch_images = augment_appearance(batch_images, generator).clamp_(-1.0, 1.0)
        out = model(batch_images)
        position = nn.functional.smooth_l1_loss(out[:, :anchors], batch_columns, reduction="none", beta=0.05)
        position = (position * mask[batch]).sum() / mask[batch].sum().clamp(min=1.0)
        return position + 0.1 * nn.functional.binary_cross_entropy_with_logits(out[:, anchors:], inside[batch])

    run_epochs(model, batch_loss, len(images), fit.epochs, fit.batch_size, schedule, generator, fit.on_epoch)
    detected, _ = model.detect_frames(images)
    seen = targets[:, anchors:] > 0.5
    return float(np.median(np.abs(detected - targets[:, :anchors])[seen])) if seen.any() else float("nan")


# Labelled frames: the lane regressor's collection (50-frame episodes under the noisy oracle) with row labels
LANE_ROW_COLLECTION = dataclasses.replace(LANE_COLLECTION, targets=lane_row_targets)


def pretrain_lane_detector(
    model: LaneRowDetector,
    make_env: Callable[[str | None], gym.Env],
    oracle: Callable[[Any], np.ndarray],
    randomization: str | None,
    frames: int,
    fit: FitSettings,
) -> dict[str, float]:
    """Train ``model`` on ``frames`` labelled frames of the training domain ``randomization`` (as
    :func:`~simreal.perception.lane_perception.pretrain_lane_regressor`); returns the training-set median column
    error (pixels)."""
    images, targets = training_frames(make_env, oracle, randomization, frames, fit.seed, LANE_ROW_COLLECTION)
    return {"median_column_error_px": train_lane_detector(model, images[model.image_key], targets, fit)}


class CalibratedLanePerception(VecEnvWrapper):
    """Replace the camera image by ``lane_points`` ``(len(LOOK_X),)``: the frozen detector's anchor-row columns
    lifted with each env's calibrated camera (``vehicle_camera()``, asked again whenever an env resets). Other keys
    (the state, an action history) pass through; a finished episode's ``terminal_observation`` is lifted with
    that episode's calibration."""

    def __init__(self, venv: VecEnv, detector: LaneRowDetector) -> None:
        space = venv.observation_space
        if not isinstance(space, gym.spaces.Dict) or detector.image_key not in space.spaces:
            raise ValueError(f"CalibratedLanePerception: the observations lack the image key {detector.image_key!r}")
        self._kept = [k for k in space.spaces if k != detector.image_key]
        points = gym.spaces.Box(-LATERAL_LIMIT, LATERAL_LIMIT, (len(LOOK_X),), np.float32)
        super().__init__(
            venv, observation_space=gym.spaces.Dict({LANE_POINTS_KEY: points, **{k: space[k] for k in self._kept}})
        )
        self.detector = detector.eval().requires_grad_(False)
        self.cameras: list[CameraModel] = []

    def _observation(self, observations: dict[str, np.ndarray], cameras: list[CameraModel]) -> dict[str, np.ndarray]:
        columns, inside = self.detector.detect_frames(np.asarray(observations[self.detector.image_key]))
        return {LANE_POINTS_KEY: lift_lane_rows(columns, inside, cameras), **{k: observations[k] for k in self._kept}}

    def reset(self) -> VecEnvObs:
        observations = self.venv.reset()
        assert isinstance(observations, dict)
        self.cameras = self.venv.env_method("vehicle_camera")
        return self._observation(observations, self.cameras)

    def step_wait(self) -> VecEnvStepReturn:
        observations, rewards, dones, infos = self.venv.step_wait()
        assert isinstance(observations, dict)
        for i in np.flatnonzero(dones):
            terminal = infos[i].get("terminal_observation")
            if terminal is not None:
                batch = self._observation({k: np.asarray(v)[None] for k, v in terminal.items()}, [self.cameras[i]])
                infos[i] = {**infos[i], "terminal_observation": {k: v[0] for k, v in batch.items()}}
            self.cameras[i] = self.venv.env_method("vehicle_camera", indices=[int(i)])[0]
        return self._observation(observations, self.cameras), rewards, dones, infos


def load_calibrated_lane_perception(
    venv: VecEnv, encoder: str | Path, settings: dict[str, Any]
) -> CalibratedLanePerception:
    """Wrap ``venv`` with the detector saved in ``encoder`` (``settings``: its ``channels``)."""
    detector = LaneRowDetector(venv.observation_space, **settings)
    load_weights(detector, encoder, freeze=True)
    return CalibratedLanePerception(venv, detector)
