"""Paired renders of the same physical state: one randomized, one canonical (the training data of RCAN, James et
al. 2019). Free in a simulator and needing no real image.

For each reset of the randomized domain (default ``train``: textures, lights, clutter, camera pose, sensor
pipeline), the same state (joint positions, block, goal; on LaneFollow the track, the car's pose and the cones) is
rendered in a canonical scene *through the same camera* (pose and field of view copied), so the pair differs in
appearance only: the translator learns to undo appearance, and geometry stays what the frame's calibration says.
The canonical side has no clutter, so a translator trained on pairs also learns to remove distractors. Each pair
carries the mask of the task content (:func:`content_geom`, from the canonical render's segmentation), so a
translator's loss can weigh the few pixels the task needs, and the task object's pixel (NaN on LaneFollow, whose
content, the lane markings, is not one object).
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

import mujoco
import numpy as np

from simreal.data.chunks import collect_chunks, concatenate
from simreal.data.episodes import MAX_ACTION_NOISE, make_data_env, stream_frames
from simreal.data.eval_domains import rollout_spec
from simreal.data.labels import geom_segmentation
from simreal.envs.arm import names
from simreal.envs.camera import camera_model
from simreal.envs.config import check_int_range, check_number_range
from simreal.envs.driving.scene import LANE_MARKING_GEOM

__all__ = [
    "MAX_FRAMES_PER_EPISODE",
    "VIEWS",
    "PairedFrames",
    "Pairing",
    "check_pair_env_kwargs",
    "content_geom",
    "paired_frames",
    "task_object_geom",
]

MAX_FRAMES_PER_EPISODE = 200  # states paired per episode (every 5th step: 1000 steps, a LaneFollow episode)
VIEWS = ("same", "canonical")  # the canonical side's camera: the randomized side's, or the canonical scene's own
RESERVED_ENV_KWARGS = frozenset({"obs_mode", "image_size", "cameras", "domain", "randomization", "resample"})


@dataclass(frozen=True)
class PairedFrames:
    """``randomized[i]`` and ``canonical[i]`` show the same state through the same camera."""

    randomized: np.ndarray  # uint8 (N, S, S, 3)
    canonical: np.ndarray  # uint8 (N, S, S, 3)
    pixels: np.ndarray  # (N, 2) the block centre's pixel coordinates (the goal marker's on Reach; NaN on LaneFollow)
    masks: np.ndarray  # bool (N, S, S): where the task content (content_geom) is in the canonical frame


def task_object_geom(model: mujoco.MjModel) -> int:
    """The geom a detector looks for in an arm scene: the block, or the goal marker when there is no block (Reach);
    -1 when the model has neither."""
    ids = (mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_GEOM, name) for name in (names.BLOCK_GEOM, names.GOAL_GEOM))
    return next((i for i in ids if i >= 0), -1)


def content_geom(model: mujoco.MjModel) -> int:
    """The geom that is the task content of a simreal scene: the arm's block (or Reach's goal marker), else the
    driving scene's lane markings, the lines a lane-following policy steers by; -1 when the model has none."""
    target = task_object_geom(model)
    return target if target >= 0 else mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_GEOM, LANE_MARKING_GEOM)


def _copy_state(source: Any, target: Any, camera: str, view: str) -> None:
    """The randomized env's physical state -> the canonical env (then forward kinematics); with ``view="same"``
    its camera ``camera`` too (pose and field of view), with ``"canonical"`` the canonical env keeps its own."""
    if hasattr(source, "track"):  # LaneFollow: the same procedurally generated road first
        target.set_track(source.track.seed)
    target.data.qpos[:] = source.data.qpos
    target.data.qvel[:] = 0.0
    target.data.mocap_pos[:] = source.data.mocap_pos
    target.data.mocap_quat[:] = source.data.mocap_quat
    if view == "same":
        cam = mujoco.mj_name2id(source.model, mujoco.mjtObj.mjOBJ_CAMERA, camera)
        target.model.cam_pos[cam] = source.model.cam_pos[cam]
        target.model.cam_quat[cam] = source.model.cam_quat[cam]
        target.model.cam_fovy[cam] = source.model.cam_fovy[cam]
    mujoco.mj_forward(target.model, target.data)


def _pairs_chunk(
    env_id: str,
    pairing: Pairing,
    camera: str | None,
    image_size: int,
    count: int,
    seed_sequence: np.random.SeedSequence,
) -> PairedFrames:
    domain, view = pairing.domain, pairing.view
    spec = rollout_spec(env_id, domain, camera, image_size, pairing.frames_per_episode, pairing.action_noise)
    randomized_env = make_data_env(spec, env_kwargs=pairing.env_kwargs)
    canonical_env = make_data_env(rollout_spec(env_id, "canonical", camera, 64))
    camera = camera or randomized_env.unwrapped.camera_names[0]
    randomized, canonical = (np.empty((count, image_size, image_size, 3), dtype=np.uint8) for _ in range(2))
    pixels = np.empty((count, 2))
    masks = np.empty((count, image_size, image_size), dtype=bool)
    source: Any = randomized_env.unwrapped
    target: Any = canonical_env.unwrapped
    # the task content (ids differ between the scenes: the randomized one has clutter); a body of its own, or the
    # world (LaneFollow's markings: no object pixel)
    target_body = int(source.model.geom_bodyid[content_geom(source.model)])
    target_geom = content_geom(target.model)
    try:
        canonical_env.reset(seed=0)
        frames = stream_frames(randomized_env, spec, seed_sequence)
        for i in range(count):
            randomized[i] = next(frames).rgb
            _copy_state(source, target, camera, view)
            canonical[i] = target.render_frame(camera, "rgb", image_size)
            masks[i] = geom_segmentation(target.render_frame(camera, "segmentation", image_size)) == target_geom
            seen = camera_model(target.model, target.data, camera, image_size, image_size)  # the canonical frame's
            pixels[i] = seen.project(source.data.xpos[target_body][None])[0][0] if target_body > 0 else np.nan
    finally:
        randomized_env.close()
        canonical_env.close()
    return PairedFrames(randomized, canonical, pixels, masks)


@dataclass(frozen=True)
class Pairing:
    """What a pair shows: the randomized side's ``domain`` (a named domain or a spec path) and the canonical side's
    camera, ``view``: ``"same"`` renders it through the randomized side's camera pose and field of view (the pair
    differs in appearance only), ``"canonical"`` through the canonical camera (a translator trained on it also
    undoes a moved camera: for a model that sees images from the canonical mount only, e.g. a canonical-trained
    policy). ``frames_per_episode``: states per episode, the reset state and then every 5th step of the oracle's
    rollout (1: reset states only; more: also the states a driving policy meets at speed, the chassis pitched and
    rolled by acceleration and turns); ``action_noise``: the std of the Gaussian on the oracle's actions
    (``RolloutSpec.action_noise``), so the rollout also drifts off the path as a learned policy does;
    ``env_kwargs``: options of the randomized side's env (the canonical side copies its state), e.g. LaneFollow's
    ``start_offset`` and ``start_heading`` for the off-centre views a drifting policy meets: without them a
    translator has seen the road edge only where a centred car sees it, and paints road over the grass beside it."""

    domain: str = "train"
    view: str = "same"
    frames_per_episode: int = 1
    action_noise: float = 0.0
    env_kwargs: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_pair_env_kwargs(self.env_kwargs, "env_kwargs")
        if self.view not in VIEWS:
            raise ValueError(f"view: must be one of {list(VIEWS)}, got {self.view!r}")
        check_int_range("frames_per_episode", self.frames_per_episode, 1, MAX_FRAMES_PER_EPISODE)
        check_number_range("action_noise", self.action_noise, 0.0, MAX_ACTION_NOISE)


def check_pair_env_kwargs(env_kwargs: object, where: str) -> None:
    """``ValueError`` naming ``where`` unless ``env_kwargs`` is a mapping without the options a pairing sets itself
    (observation mode, image size, cameras, domain); the env checks the names and values of the rest."""
    if not isinstance(env_kwargs, Mapping):
        raise ValueError(f"{where} must be a mapping of env options, got {env_kwargs!r}")
    reserved = sorted(set(env_kwargs) & RESERVED_ENV_KWARGS)
    if reserved:
        raise ValueError(f"{where}: {reserved} are set by the pairing itself, got {dict(env_kwargs)}")


def paired_frames(
    env_id: str,
    camera: str | None,
    n: int,
    image_size: int,
    seed_sequence: np.random.SeedSequence,
    pairing: Pairing = Pairing(),
    workers: int = 0,
    executor: str | Executor = "local",
) -> PairedFrames:
    """``n`` reset states of ``env_id`` (an arm env with a block or goal marker, or LaneFollow) rendered in
    ``pairing.domain`` and canonically (None ``camera``: the env's default camera; the canonical side through
    ``pairing.view``'s camera); chunks seeded by ``seed_sequence.spawn`` (results independent of
    ``workers``/``executor``)."""
    args = (env_id, pairing, camera, image_size)
    return concatenate(collect_chunks(_pairs_chunk, n, seed_sequence, args, executor, workers))
