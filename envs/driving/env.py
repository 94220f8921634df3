"""``LaneFollowEnv``: drive a MuJoCo car along procedurally generated closed tracks.

Actions are ``[steering, throttle/brake]`` in ``[-1, 1]``. Each reset draws a track (unless ``track_seed`` is
fixed) and writes it into the one compiled model, so ``env.model`` stays the same object for the env's lifetime.
The episode terminates when the car leaves the road, flips, hits a cone or completes the target distance
(``is_success``).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from simreal.envs.base import MujocoEnv
from simreal.envs.camera import CameraModel, mounted_camera_model
from simreal.envs.driving import car, scene
from simreal.envs.driving.config import LaneFollowConfig
from simreal.envs.driving.track import HALF_WIDTH, Track, generate_track, split_seed_range

LOOKAHEAD = (0.0, 2.5, 5.0, 7.5, 10.0)  # m: curvature samples ahead of the car in the state vector
START_CLEAR = 15.0  # m of road ahead of the start kept free of cones
FLIP_COS = 0.5  # the chassis counts as flipped when its up axis is more than 60 degrees from vertical


def _wrap(angle: float) -> float:
    return float((angle + np.pi) % (2 * np.pi) - np.pi)


class LaneFollowEnv(MujocoEnv):
    """Lane following from an onboard camera (or privileged state) on seeded procedural tracks
    (``simreal/LaneFollow-v0``).

    ## Description
    A kart-sized car (about 1 m, 13 kg; steered front wheels, torque-driven rear wheels, tyre contacts) on a closed
    3 m wide road drawn from a seeded family of tracks (radius 14-20 m, bends down to 5 m radius), optionally with
    traffic cones near the road edges. Each reset draws a track and writes it into the one compiled model.

    ## Action Space
    ``Box(-1, 1, (2,), float32)``; out-of-range values are clipped, NaN/inf raise ``ValueError``. One step lasts 10
    physics steps of 5 ms (0.05 s, 20 Hz).

    | Num | Action | Min | Max | Unit |
    |-----|--------|-----|-----|------|
    | 0 | steering, positive left (bicycle-model angle, Ackermann per wheel) | -1 | 1 | 0.45 rad |
    | 1 | throttle (positive) or brake / reverse (negative) torque on each rear wheel | -1 | 1 | 3 N m |

    ## Observation Space
    ### obs_mode="state"
    ``Box(-inf, inf, (8,), float32)``:

    | Num | Observation | Unit |
    |-----|-------------|------|
    | 0 | lateral offset from the centre line, left positive | m |
    | 1 | heading error: car yaw minus the track heading, wrapped to [-pi, pi) | rad |
    | 2-6 | centre-line curvature 0, 2.5, 5, 7.5 and 10 m ahead (``LOOKAHEAD``), left turns positive | 1/m |
    | 7 | forward speed | m/s |

    ### obs_mode="pixels_state"
    ``Dict``: the image(s) as for ``pixels`` (key ``pixels`` for one camera, else the camera names); with
    ``camera_projections`` each camera's 3x4 projection matrix under ``<key>_projection``; and ``state``,
    ``Box(-inf, inf, (2,), float32)``:

    | Num | Observation | Unit |
    |-----|-------------|------|
    | 0 | forward speed | m/s |
    | 1 | steering angle (mean of the front wheels) | rad |

    ### obs_mode="pixels"
    ``Box(0, 255, (image_size, image_size, 3), uint8)``: the RGB image of ``cameras`` (default ``onboard``, on the
    bonnet looking ahead; ``chase`` follows behind); with several cameras a ``Dict`` keyed by camera name.

    ## Rewards
    The reward is the sum of the named terms, each echoed in ``info`` as ``reward_<name>``:

    - ``reward_progress``: ``progress_weight * ds``, ``ds`` the metres gained along the centre line this step.
    - ``reward_offset``: ``-offset_weight * (offset / 1.5)**2``, the lateral offset over the road's half width.
    - ``reward_jerk``: ``-jerk_weight * |a_t - a_(t-1)|**2``, the squared change of the action.

    ``info`` also has ``is_success``, ``progress`` (m), ``distance_to_target`` (m), ``lateral_offset`` (m),
    ``heading_error`` (rad), ``speed`` (m/s), ``off_road``, ``flipped``, ``collision``, ``track_seed`` and
    ``track_length`` (m).

    ## Starting State
    The track is ``track_seed``, or drawn from ``track_split``'s seeds (the first ``num_tracks`` of them when set);
    the car starts at a uniformly drawn point of the centre line, offset U(-``start_offset``, ``start_offset``) m
    sideways and turned U(-``start_heading``, ``start_heading``) rad (defaults 0.3 m and 0.1 rad); ``obstacles``
    cones stand 0.5-0.8 half-widths from the centre on random sides, none in the first 15 m ahead.

    ## Episode End
    ### Termination
    On success (``progress`` reaches ``target_distance``, default one lap), or when the car leaves the road
    (``|offset| > 1.5`` m), flips (its up axis more than 60 degrees from vertical) or hits a cone.

    ### Truncation
    After 1000 steps (the ``TimeLimit`` of the registered id), or at once when MuJoCo reports an unstable state: the
    step is rolled back and ``info["physics_error"]`` says why.

    ## Arguments
    ``gym.make(id, **kwargs)``; unknown names or out-of-range values raise ``ValueError`` naming the argument.
    ``randomization=``, ``domain=`` and ``resample=`` wrap the env in domain randomization
    (:func:`simreal.registration.make_env`); ``domain="test"`` or ``"real"`` also sets ``track_split="test"``.

    | Argument | Type | Default | Description |
    |----------|------|---------|-------------|
    | ``obs_mode`` | str | ``"state"`` | ``"state"``, ``"pixels"`` or ``"pixels_state"`` (see Observation Space) |
    | ``image_size`` | int | ``64`` | side of observation images, px, in [8, 512] |
    | ``cameras`` | tuple of str | ``()`` | pixel observation cameras (``onboard``, ``chase``); empty: ``onboard`` |
    | ``render_mode`` | str or None | ``None`` | ``"rgb_array"`` or ``"depth_array"``: ``env.render()`` of ``chase`` |
    | ``render_quality`` | str | ``"high"`` | rendering preset of ``env.render()``; observations always use ``"fast"`` |
    | ``render_size`` | int | ``256`` | side of ``env.render()`` frames, px, in [8, 512] |
    | ``camera_projections`` | bool | ``False`` | ``pixels_state`` only: add each camera's projection matrix |
    | ``track_seed`` | int or None | ``None`` | one fixed track; ``None`` draws one per reset |
    | ``track_split`` | str | ``"train"`` | ``"train"`` or ``"test"`` (held-out) track seeds |
    | ``num_tracks`` | int or None | ``None`` | use only the split's first N seeds (Procgen's ``num_levels``) |
    | ``obstacles`` | int | ``0`` | traffic cones per track, in [0, 8] |
    | ``target_distance`` | float or None | ``None`` | metres to success, in [1, 10000]; ``None``: one lap |
    | ``progress_weight`` | float | ``1.0`` | weight of ``reward_progress``, in [0, 1000] |
    | ``offset_weight`` | float | ``0.1`` | weight of ``reward_offset``, in [0, 1000] |
    | ``jerk_weight`` | float | ``0.02`` | weight of ``reward_jerk``, in [0, 1000] |
    | ``start_offset`` | float | ``0.3`` | largest lateral offset at reset, m, in [0, 1.4] |
    | ``start_heading`` | float | ``0.1`` | largest heading error at reset, rad, in [0, 0.8] |
    """

    default_camera: ClassVar[str] = "onboard"
    video_camera: ClassVar[str] = "chase"
    frame_skip: ClassVar[int] = scene.FRAME_SKIP
    config_class: ClassVar[type[LaneFollowConfig]] = LaneFollowConfig

    def __init__(self, config: LaneFollowConfig | None = None) -> None:
        config = config or LaneFollowConfig()
        model = scene.build_model()
        self._chassis = model.body("chassis").id
        self._free_qpos = int(model.jnt_qposadr[model.joint("chassis_joint").id])
        self._free_qvel = int(model.jnt_dofadr[model.joint("chassis_joint").id])
        self._steer_qpos = [int(model.jnt_qposadr[model.joint(f"steer_f{side}").id]) for side in "lr"]
        self._cone_geoms = np.array([model.geom(f"cone_{i}").id for i in range(scene.MAX_OBSTACLES)])
        self._cone_mocap = model.body_mocapid[[model.body(f"cone_{i}").id for i in range(scene.MAX_OBSTACLES)]]
        first_seed = config.track_seed if config.track_seed is not None else split_seed_range(config.track_split)[0]
        self.track: Track = generate_track(first_seed)
        self._mesh_ids = scene.apply_track(model, self.track)
        self._reset_progress(0.0)
        super().__init__(model, config, action_dim=2)

    # ----------------------------------------------------------------- episode bookkeeping
    def _reset_progress(self, s: float) -> None:
        self._s = s
        self._progress = 0.0
        self._prev_action = np.zeros(2)
        self._collided = False

    @property
    def target_distance(self) -> float:
        """Distance (m) along the centre line that completes the episode: the configured one, or one lap."""
        target = self.config.target_distance
        return float(target) if target is not None else self.track.length

    # ----------------------------------------------------------------- task hooks
    def _draw_track_seed(self) -> int:
        if self.config.track_seed is not None:
            return self.config.track_seed
        start, stop = split_seed_range(self.config.track_split, self.config.num_tracks)
        return int(self.np_random.integers(start, stop))

    def set_track(self, seed: int) -> None:
        """Lay track ``seed`` into the scene (road and markings; a no-op when it is already there)."""
        if seed == self.track.seed:
            return
        self.track = generate_track(seed)
        self._mesh_ids = scene.apply_track(self.model, self.track)
        self.refresh_meshes(self._mesh_ids)

    def _place_obstacles(self, start_s: float) -> None:
        count = self.config.obstacles
        rng = self.np_random
        span = (self.track.length - 2 * START_CLEAR) / max(count, 1)
        s = start_s + START_CLEAR + span * (np.arange(count) + rng.uniform(0.2, 0.8, size=count))
        side = rng.choice([-1.0, 1.0], size=count)
        offset = side * rng.uniform(0.5, 0.8, size=count) * HALF_WIDTH
        idx = np.round(np.mod(s, self.track.length) / self.track.spacing).astype(int) % len(self.track.s)
        positions = self.track.points[idx] + offset[:, None] * self.track.normals[idx]
        scene.place_cones(self.model, self.data, positions)

    def _reset_task(self) -> None:
        rng = self.np_random
        self.set_track(self._draw_track_seed())
        i = int(rng.integers(len(self.track.s)))  # start sample along the centre line
        s = float(self.track.s[i])
        offset = float(rng.uniform(-self.config.start_offset, self.config.start_offset))
        x, y = self.track.points[i] + offset * self.track.normals[i]
        tx, ty = self.track.tangents[i]
        yaw = float(np.arctan2(ty, tx) + rng.uniform(-self.config.start_heading, self.config.start_heading))
        q = self._free_qpos
        self.data.qpos[q : q + 7] = (x, y, car.CHASSIS_Z, np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2))
        self._place_obstacles(s)
        self._reset_progress(s)

    def _apply_action(self, action: np.ndarray) -> None:
        left, right = car.ackermann(float(action[0]) * car.MAX_STEER)
        self.data.ctrl[:] = (left, right, action[1], action[1])

    # ----------------------------------------------------------------- measurements
    def _pose(self) -> tuple[np.ndarray, float, float]:
        """Chassis position, yaw and forward speed."""
        xmat = self.data.xmat[self._chassis].reshape(3, 3)
        yaw = float(np.arctan2(xmat[1, 0], xmat[0, 0]))
        v = self.data.qvel[self._free_qvel : self._free_qvel + 3]
        return self.data.xpos[self._chassis].copy(), yaw, float(v @ xmat[:, 0])

    def _steering(self) -> float:
        return float(np.mean(self.data.qpos[self._steer_qpos]))

    def _state_vector(self) -> np.ndarray:
        pos, yaw, speed = self._pose()
        if self.config.obs_mode == "pixels_state":
            return np.array([speed, self._steering()], dtype=np.float32)
        return np.array([*self._lane_state(pos, yaw), speed], dtype=np.float32)

    def lane_state(self) -> np.ndarray:
        """The lane geometry of state observations 0-6, ``(7,)`` float32: lateral offset (m), heading error (rad)
        and the curvature ``LOOKAHEAD`` ahead (1/m); the label of a lane perception module."""
        pos, yaw, _ = self._pose()
        return np.array(self._lane_state(pos, yaw), dtype=np.float32)

    def vehicle_camera(self, camera: str | None = None) -> CameraModel:
        """The extrinsic and intrinsic calibration of ``camera`` (default: the first observation camera) at the
        observation size, in the car's ground frame: origin on the ground below the chassis centre at rest, x
        forward, y left, z up. From the camera's current mount (a camera randomization moves it; the calibration
        moves with it, as a real car's is re-measured after re-mounting) and the chassis's rest height; the
        chassis's pitch and roll while driving are not in it."""
        name = camera or self.camera_names[0]
        size = self.config.image_size
        return mounted_camera_model(self.model, name, size, size, np.array([0.0, 0.0, car.CHASSIS_Z]))

    def _lane_state(self, pos: np.ndarray, yaw: float) -> list[float]:
        s, offset, heading = self.track.project(pos[:2])
        curvature = self.track.curvature_at(s + np.asarray(LOOKAHEAD))
        return [offset, _wrap(yaw - heading), *curvature]

    def _cone_hit(self) -> bool:
        ncon = self.data.ncon
        if ncon == 0 or self.config.obstacles == 0:
            return False
        geoms = self.data.contact.geom[:ncon]
        return bool(np.isin(geoms, self._cone_geoms[: self.config.obstacles]).any())

    def _evaluate(self, action: np.ndarray) -> tuple[dict[str, float], bool, dict[str, Any]]:
        pos, yaw, speed = self._pose()
        s, offset, heading = self.track.project(pos[:2])
        length = self.track.length
        delta = (s - self._s + length / 2) % length - length / 2
        self._s = s
        self._progress += delta
        jerk = float(np.sum((action - self._prev_action) ** 2))
        self._prev_action = np.asarray(action, dtype=np.float64).copy()
        self._collided = self._collided or self._cone_hit()
        off_road = abs(offset) > HALF_WIDTH
        flipped = self.data.xmat[self._chassis][8] < FLIP_COS
        success = self._progress >= self.target_distance
        cfg = self.config
        terms = {
            "progress": cfg.progress_weight * delta,
            "offset": -cfg.offset_weight * (offset / HALF_WIDTH) ** 2,
            "jerk": -cfg.jerk_weight * jerk,
        }
        info = {
            "is_success": bool(success),
            "progress": float(self._progress),
            "distance_to_target": float(max(self.target_distance - self._progress, 0.0)),
            "lateral_offset": float(offset),
            "heading_error": _wrap(yaw - heading),
            "speed": speed,
            "off_road": bool(off_road),
            "flipped": bool(flipped),
            "collision": self._collided,
            "track_seed": self.track.seed,
            "track_length": float(length),
        }
        return terms, bool(success or off_road or flipped or self._collided), info

    def task_state(self) -> dict[str, np.ndarray]:
        """Car pose and speed, its place on the track, the centre line and the placed cones."""
        pos, yaw, speed = self._pose()
        s, offset, heading = self.track.project(pos[:2])
        cones = self.data.mocap_pos[self._cone_mocap[: self.config.obstacles], :2].copy()
        return {
            "car_pos": pos,
            "car_yaw": np.array([yaw]),
            "speed": np.array([speed]),
            "steering": np.array([self._steering()]),
            "track_s": np.array([s]),
            "lateral_offset": np.array([offset]),
            "heading_error": np.array([_wrap(yaw - heading)]),
            "progress": np.array([self._progress]),
            "track_length": np.array([self.track.length]),
            "centre_line": np.array(self.track.points),
            "curvature": np.array(self.track.curvature),
            "cone_pos": cones,
        }
