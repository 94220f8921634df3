"""The MuJoCo env base class: observation modes, cameras, rendering, action checks and physics-error handling.

Task classes supply the model, the task logic (reset, action -> controls, reward terms) and the state vector; this
class turns them into a Gymnasium env. Renderers are created lazily (fork-safe).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence
from typing import Any, ClassVar

import gymnasium as gym
import mujoco
import numpy as np
from gymnasium import spaces
from gymnasium.envs.registration import EnvSpec

from simreal.envs.actions import check_action
from simreal.envs.camera import projection_matrix
from simreal.envs.config import EnvConfig, config_from_kwargs
from simreal.envs.rendering import FrameKind, SceneRenderer

Observation = np.ndarray | dict[str, np.ndarray]

# Warnings that mean the simulation state can no longer be trusted.
_FATAL_WARNINGS = (
    mujoco.mjtWarning.mjWARN_BADQACC,
    mujoco.mjtWarning.mjWARN_BADQPOS,
    mujoco.mjtWarning.mjWARN_BADQVEL,
    mujoco.mjtWarning.mjWARN_BADCTRL,
)
_FATAL_INDEX = np.array([int(w) for w in _FATAL_WARNINGS])


def _json_kwarg(value: Any) -> Any:
    if callable(getattr(value, "to_dict", None)):
        return value.to_dict()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value


class MujocoEnv(gym.Env[Observation, np.ndarray]):
    """Base class of every simreal env.

    Actions live in ``[-1, 1]``; out-of-range values are clipped (documented behaviour), NaN/inf raise ValueError.
    If MuJoCo reports an unstable state (bad qacc, NaN), the state is rolled back to before the step and the
    episode is truncated with ``info["physics_error"]``.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["rgb_array", "depth_array"], "render_fps": 25}
    default_camera: ClassVar[str]
    video_camera: ClassVar[str]
    frame_skip: ClassVar[int]
    config_class: ClassVar[type[EnvConfig]] = EnvConfig
    _spec: EnvSpec | None = None

    @property  # type: ignore[override]
    def spec(self) -> EnvSpec | None:
        """The Gymnasium spec (set by ``gym.make``). Its kwargs are kept as JSON data, so that
        ``gym.make(EnvSpec.from_json(env.spec.to_json()))`` rebuilds the env: an object with ``to_dict()`` (a
        ``RandomizationSpec`` given as ``randomization=``) is stored as that dict, a path as a string."""
        return self._spec

    @spec.setter
    def spec(self, value: EnvSpec | None) -> None:
        if value is not None:
            value = copy.copy(value)
            value.kwargs = {key: _json_kwarg(item) for key, item in value.kwargs.items()}
        self._spec = value

    @classmethod
    def from_kwargs(cls, env_id: str, **kwargs: Any) -> MujocoEnv:
        """Build the env from ``gym.make`` keyword arguments (unknown names or values raise ValueError)."""
        return cls(config_from_kwargs(cls.config_class, kwargs, env_id))

    def __init__(self, model: mujoco.MjModel, config: EnvConfig, action_dim: int) -> None:
        self.config = config
        self.model = model
        self.data = mujoco.MjData(model)
        self.render_mode = config.render_mode
        self.camera_names: tuple[str, ...] = tuple(config.cameras) or (self.default_camera,)
        known = [model.camera(i).name for i in range(model.ncam)]
        for name in self.camera_names:
            if name not in known:
                raise ValueError(f"cameras: unknown camera {name!r}; allowed: {known}")
        self.metadata = {**self.metadata, "render_fps": round(1.0 / (model.opt.timestep * self.frame_skip))}
        self._renderers: dict[tuple[int, str], SceneRenderer] = {}
        self.render_observations = True  # False: steps and resets leave the images out (see ``_observation``)
        self._pixel_keys = ("pixels",) if len(self.camera_names) == 1 else self.camera_names
        self._camera_ids = {
            name: mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_CAMERA, name) for name in self.camera_names
        }
        self.action_space = spaces.Box(-1.0, 1.0, shape=(action_dim,), dtype=np.float32)
        self.observation_space = self._observation_space()

    # ----------------------------------------------------------------- hooks for tasks
    def _reset_task(self) -> None:
        """Place objects and goals using ``self.np_random``; called after ``mj_resetData``."""
        raise NotImplementedError

    def _apply_action(self, action: np.ndarray) -> None:
        """Turn a clipped action into ``data.ctrl``."""
        raise NotImplementedError

    def _state_vector(self) -> np.ndarray:
        """The float32 state observation."""
        raise NotImplementedError

    def _evaluate(self, action: np.ndarray) -> tuple[dict[str, float], bool, dict[str, Any]]:
        """Named reward terms, whether the episode terminated, and task info (must contain ``is_success``)."""
        raise NotImplementedError

    def task_state(self) -> dict[str, np.ndarray]:
        """Privileged task quantities (positions, goals) used by oracles and dataset labels."""
        raise NotImplementedError

    # ----------------------------------------------------------------- spaces and observations
    def _state_space(self) -> spaces.Box:
        size = self._state_vector_size()
        return spaces.Box(-np.inf, np.inf, shape=(size,), dtype=np.float32)

    def _state_vector_size(self) -> int:
        mujoco.mj_forward(self.model, self.data)
        return int(self._state_vector().shape[0])

    def _image_space(self) -> spaces.Box:
        size = self.config.image_size
        return spaces.Box(0, 255, shape=(size, size, 3), dtype=np.uint8)

    def _observation_space(self) -> spaces.Space:
        mode = self.config.obs_mode
        if mode == "state":
            return self._state_space()
        images = {key: self._image_space() for key in self._pixel_keys}
        if mode == "pixels":
            return images["pixels"] if len(images) == 1 and "pixels" in images else spaces.Dict(images)
        projections = {
            f"{key}_projection": spaces.Box(-np.inf, np.inf, shape=(3, 4), dtype=np.float32)
            for key in (self._pixel_keys if self.config.camera_projections else ())
        }
        return spaces.Dict({**images, **projections, "state": self._state_space()})

    def _images(self) -> dict[str, np.ndarray]:
        return {
            key: self.render_frame(camera, "rgb")
            for key, camera in zip(self._pixel_keys, self.camera_names, strict=True)
        }

    def _observation(self) -> Observation | None:
        """The observation; with ``render_observations`` False (for callers that read the state, e.g. data
        pipelines rendering only the frames they keep), ``pixels`` gives None and ``pixels_state`` its entries
        without the images: no frame is rendered."""
        mode = self.config.obs_mode
        if mode == "state":
            return self._state_vector()
        if not self.render_observations:
            return None if mode == "pixels" else {**self._projections(), "state": self._state_vector()}
        images = self._images()
        if mode == "pixels":
            return images["pixels"] if self._pixel_keys == ("pixels",) else images
        return {**images, **self._projections(), "state": self._state_vector()}

    def observe(self) -> Observation | None:
        """The observation of the current state, as a step or reset would return it now (``render_observations``
        applies): for wrappers that stepped with rendering off and need the frame after all."""
        return self._observation()

    def _projections(self) -> dict[str, np.ndarray]:
        """Each camera's current 3x4 projection matrix at the observation size (the calibration a real camera
        would come with), when ``camera_projections``."""
        if not self.config.camera_projections:
            return {}
        size = self.config.image_size
        return {
            f"{key}_projection": projection_matrix(self.model, self.data, self._camera_ids[camera], size, size).astype(
                np.float32
            )
            for key, camera in zip(self._pixel_keys, self.camera_names, strict=True)
        }

    # ----------------------------------------------------------------- gymnasium API
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        mujoco.mj_resetData(self.model, self.data)
        self._reset_task()
        mujoco.mj_forward(self.model, self.data)
        _, _, info = self._evaluate(np.zeros(self.action_space.shape, dtype=np.float32))
        return self._observation(), info

    def step(self, action: np.ndarray):
        return self.step_checked(self._check_action(action))

    def step_checked(self, action: np.ndarray):
        """``step`` for an action that already meets the contract, as ``check_action`` returns it (a new finite
        float64 array of the action shape within the bounds): wrappers that check actions themselves
        (``DomainRandomization``) call it so that an action is not checked twice."""
        saved = (self.data.time, self.data.qpos.copy(), self.data.qvel.copy(), self.data.act.copy())
        self._apply_action(action)
        mujoco.mj_step(self.model, self.data, nstep=self.frame_skip)
        error = self._physics_error()
        if error:
            self._restore(saved)
        terms, terminated, info = self._evaluate(action)
        reward = float(sum(terms.values()))
        info.update({f"reward_{name}": float(value) for name, value in terms.items()})
        truncated = False
        if error:
            info["physics_error"] = error
            truncated = True
        return self._observation(), reward, bool(terminated), truncated, info

    def _check_action(self, action: np.ndarray) -> np.ndarray:
        return check_action(action, self.action_space)

    def _physics_error(self) -> str:
        data = self.data
        counts = data.warning.number  # every warning's count in one array (item access costs ~0.7 us each)
        if counts[_FATAL_INDEX].any():
            warning = next(w for w in _FATAL_WARNINGS if counts[int(w)] > 0)  # the first in _FATAL_WARNINGS order
            return f"MuJoCo warning {mujoco.mjtWarning(warning).name} at t={data.time:.3f}s"
        if not (np.isfinite(data.qpos).all() and np.isfinite(data.qvel).all()):
            return f"non-finite state at t={data.time:.3f}s"
        return ""

    def _restore(self, saved: tuple[float, np.ndarray, np.ndarray, np.ndarray]) -> None:
        """Roll back to the state before the failed step (or the initial state if that one was not finite)."""
        time, qpos, qvel, act = saved
        if np.all(np.isfinite(qpos)) and np.all(np.isfinite(qvel)) and np.all(np.abs(qvel) < 1e6):
            self.data.time, self.data.qpos[:], self.data.qvel[:], self.data.act[:] = time, qpos, qvel, act
        else:
            mujoco.mj_resetData(self.model, self.data)
        self.data.qacc_warmstart[:] = 0.0
        for warning in _FATAL_WARNINGS:
            self.data.warning[warning].number = 0
        mujoco.mj_forward(self.model, self.data)

    # ----------------------------------------------------------------- rendering
    def _renderer(self, size: int, quality: str) -> SceneRenderer:
        key = (size, quality)
        if key not in self._renderers:
            self._renderers[key] = SceneRenderer(self.model, size, size, quality)
        return self._renderers[key]

    def render_frame(self, camera: str, kind: FrameKind = "rgb", size: int | None = None) -> np.ndarray:
        """Render a named camera with the fast preset: RGB uint8, depth (m) float32 or segmentation int32."""
        renderer = self._renderer(size or self.config.image_size, "fast")
        return renderer.render(self.data, camera, kind)

    def render_depth_segmentation(self, camera: str, size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Depth (m, float32 (H, W)) and per-pixel geom id (int32 (H, W), -1 elsewhere) from one fast-preset pass."""
        renderer = self._renderer(size or self.config.image_size, "fast")
        return renderer.render_depth_segmentation(self.data, camera)

    def render(self) -> np.ndarray | None:
        """RGB or depth frame of the video camera at ``render_size`` with ``render_quality``."""
        if self.render_mode is None:
            return None
        renderer = self._renderer(self.config.render_size, self.config.render_quality)
        kind: FrameKind = "rgb" if self.render_mode == "rgb_array" else "depth"
        return renderer.render(self.data, self.video_camera, kind)

    def refresh_textures(self, texture_ids: Sequence[int]) -> None:
        """Upload changed ``model.tex_data`` of these textures to every live renderer."""
        for renderer in self._renderers.values():
            renderer.upload_textures(texture_ids)

    def refresh_meshes(self, mesh_ids: Sequence[int]) -> None:
        """Upload changed mesh vertices of these meshes to every live renderer."""
        for renderer in self._renderers.values():
            renderer.upload_meshes(mesh_ids)

    def close(self) -> None:
        for renderer in self._renderers.values():
            renderer.close()
        self._renderers.clear()
