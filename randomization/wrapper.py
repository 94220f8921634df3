"""``DomainRandomization``: a Gymnasium wrapper that samples a spec, writes it into the MuJoCo model,
re-uploads changed textures, runs the sensor pipeline on image observations and perturbs actions and state
observations."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import Any, SupportsFloat

import gymnasium as gym
import mujoco
import numpy as np

from simreal.envs.actions import check_action, recheck_action
from simreal.randomization.apply import Defaults, apply, restore
from simreal.randomization.ctor_args import SeedArg, seed_arg, seed_json, spec_arg, spec_json
from simreal.randomization.noise import NoiseRows
from simreal.randomization.params import InfoSummary, Params
from simreal.randomization.sample import Sampler
from simreal.randomization.sensor import SensorPipeline
from simreal.randomization.spec import RandomizationSpec

Resample = str | int
_SALT = 0x51D0_4A11  # separates the randomization stream from the env's own stream for the same seed
STATE_KEYS = ("state", "observation")
_UINT8 = np.dtype(np.uint8)


def _check_resample(resample: Resample) -> Resample:
    if isinstance(resample, bool) or not (
        resample in ("episode", "step") or (isinstance(resample, int) and resample >= 1)
    ):
        raise ValueError(f"resample: must be 'episode', 'step' or an int >= 1 (steps), got {resample!r}")
    return resample


class DomainRandomization(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Randomize ``env`` with ``spec``, resampling every ``"episode"``, every ``"step"`` or every N steps.

    Every reset draws new params (before the inner reset, so the first observation shows them); they cover
    the first N steps, then a fresh draw happens every N steps (``"step"`` is N = 1).

    Randomness comes from a generator derived from the reset seed (same reset seed -> same params and pixels);
    ``seed`` (int or ``SeedSequence``) seeds the stream used when ``reset`` gets no seed. ``info`` carries
    ``randomization`` (JSON-able summary of the current params; ``control_step``: this step's action repeat and
    control-period scale, drawn every step from ``Sampler.per_step``) and ``spec_hash``.

    ``spec`` and ``seed`` may also be given in their JSON forms (``spec.to_dict()``; a seed sequence as
    ``{"entropy", "spawn_key"}``), which is what ``env.spec`` records, so the spec round-trips through JSON.
    Pickling or deep-copying the wrapper copies its whole state (generator, current params, latency queue).
    With ``control.action_repeat`` a step's reward is the sum of the inner rewards, except for goal envs (with
    ``compute_reward``): there it is the last one, so that it equals ``compute_reward`` of the returned goals.
    """

    def __init__(
        self,
        env: gym.Env,
        spec: RandomizationSpec | Mapping[str, Any],
        resample: Resample = "episode",
        seed: SeedArg = None,
    ) -> None:
        spec = spec_arg(spec)
        self._seed_seq = seed_arg(seed)
        gym.utils.RecordConstructorArgs.__init__(self, spec=spec_json(spec), resample=resample, seed=seed_json(seed))
        gym.Wrapper.__init__(self, env)
        self._base: Any = env.unwrapped  # a simreal MujocoEnv: model, refresh_textures
        self._goal_env = callable(getattr(self._base, "compute_reward", None))
        self._direct = (  # the env right inside takes checked actions (a simreal env) and a Box: see _inner_step
            callable(getattr(self.env, "step_checked", None)) and isinstance(self.env.action_space, gym.spaces.Box)
        )
        self.resample = _check_resample(resample)
        self._rng = np.random.default_rng(self._seed_seq)
        self._defaults = Defaults({}, {})
        self._scratch: mujoco.MjData | None = None
        self._set_spec(spec)
        self._params: Params | None = None
        self._summary = InfoSummary()
        self._sensor = SensorPipeline({})
        self._control: dict[str, float] = {}
        self._sensor_muted = self._control_muted = False  # an ablated group: drawn and run, output dropped
        self._action_noise: NoiseRows | None = None
        self._action_bounds: tuple[np.ndarray, np.ndarray] = (np.zeros(0), np.zeros(0))  # Box low, high
        self._latency = 0  # whole control steps of actuation delay
        self._latency_frac = 0.0  # sub-step part: weight of the action one step older
        self._blend: tuple[np.dtype, np.generic, np.generic] | None = None  # see _delayed
        self._obs_std = 0.0
        self._obs_noise: dict[tuple[int, ...], NoiseRows] = {}  # per state shape
        self._bounds: dict[int, tuple[np.ndarray, np.ndarray] | None] = {}  # id(Box) -> clip bounds
        self._queue: deque[np.ndarray] = deque()
        self._steps = 0

    def __getstate__(self) -> dict[str, Any]:
        """Pickle / deepcopy: everything but the clip-bound cache, whose ``id(space)`` keys a copy does not keep."""
        state = self.__dict__.copy()
        state["_bounds"] = {}
        state["_scratch"] = None  # work space only; re-allocated on the next resample
        return state

    # ----------------------------------------------------------------------------------------- spec
    @property
    def spec_hash(self) -> str:
        return self._sampler.spec_hash

    @property
    def params(self) -> Params | None:
        """The params currently applied (None before the first reset)."""
        return self._params

    @property
    def randomization_spec(self) -> RandomizationSpec:
        return self._sampler.spec

    def set_spec(self, spec: RandomizationSpec) -> None:
        """Switch to ``spec`` (e.g. new ADR ranges); takes effect at the next resample."""
        self._set_spec(spec)

    def _set_spec(self, spec: RandomizationSpec) -> None:
        model = self._base.model
        sampler = Sampler(spec, model)
        changed = restore(model, self._defaults, scratch=self._scratch_data())  # pristine before snapshotting more
        self._refresh(changed)
        self._sampler = sampler
        self._defaults = Defaults.capture(model, sampler.fields, sampler.texture_ids)
        control = spec.control
        if (control.action_noise is not None) and not isinstance(self.env.action_space, gym.spaces.Box):
            raise ValueError("control.action_noise: needs a Box action space")

    # ----------------------------------------------------------------------------------------- gym api
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict]:
        if seed is not None:
            entropy = [int(seed), _SALT]
            self._rng = np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=self._seed_seq.spawn_key))
        self.resample_now()
        self._steps = 0
        self._queue.clear()
        obs, info = self.env.reset(seed=seed, options=options)
        return self._observe(obs), self._info(info)

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict]:
        # the env's action contract, before anything is queued, perturbed or resampled
        action = check_action(action, self.env.action_space)
        if self._steps > 0 and (
            self.resample == "step" or (isinstance(self.resample, int) and self._steps % self.resample == 0)
        ):
            self.resample_now()
        applied = self._control_action(action)
        drawn = self._sampler.per_step(self._rng)
        self._summary["control_step"] = drawn
        repeat = int(drawn.get("action_repeat", 1))
        total = 0.0
        base = self._base
        substeps = base.frame_skip  # physics steps per control step
        # a repeated step's inner observations are dropped, so only the last is rendered (a simreal env right
        # inside: the same frames, rendered from the same state); an early end renders the state it ended in
        rendering = self._direct and bool(getattr(base, "render_observations", False))
        last = repeat - 1
        try:
            if "period_jitter" in drawn:  # control-period jitter: this step lasts period x the nominal time
                base.frame_skip = max(1, round(substeps * drawn["period_jitter"]))
            for index in range(repeat):
                if rendering:
                    base.render_observations = index == last
                obs, reward, terminated, truncated, info = self._inner_step(applied, action)
                # a goal env's reward must stay compute_reward(achieved_goal, desired_goal) of the returned
                # observation (HER relabels with it), so a repeated step gives the last reward, not the sum
                total = float(reward) if self._goal_env else total + float(reward)
                if terminated or truncated:
                    break
        finally:
            base.frame_skip = substeps
            if rendering:
                base.render_observations = True
        if rendering and index < last:  # ended inside the repeat, on a step that was not rendered
            obs = base.observe()
        self._steps += 1
        return self._observe(obs), total, terminated, truncated, self._info(info)

    def _inner_step(self, applied: Any, checked: Any) -> tuple[Any, SupportsFloat, bool, bool, dict]:
        """The inner env's step; an env with ``step_checked`` (a simreal env right inside) gets the action as its
        own check would return it (checked above, perturbed within the bounds), so it is not checked twice."""
        if not self._direct:
            return self.env.step(applied)
        prepared = applied.copy() if applied is checked else recheck_action(applied, self.env.action_space)
        inner: Any = self.env
        return inner.step_checked(prepared)

    def close(self) -> None:
        restore(self._base.model, self._defaults, scratch=self._scratch_data())
        super().close()

    # ----------------------------------------------------------------------------------------- internals
    def _scratch_data(self) -> mujoco.MjData:
        """Work space for re-deriving model constants (allocated once: an ``MjData`` costs ~1 ms)."""
        scratch = self._scratch
        if scratch is None:
            scratch = self._scratch = mujoco.MjData(self._base.model)
        return scratch

    def _refresh(self, texture_ids: list[int]) -> None:
        if texture_ids:
            self._base.refresh_textures(texture_ids)

    def resample_now(self) -> None:
        """Draw new params from the current stream and write them into the model now.

        A spec's ``without`` (an ablation) leaves its model factors unapplied; a muted sensor or control group
        still runs on the drawn settings, taking the same random numbers per step, but its output is dropped
        (the raw frame, the policy's action, the clean state): the run stays paired with the spec without it."""
        params, muted = self._sampler.draw(self._rng)
        changed = apply(self._base.model, self._defaults, params, scratch=self._scratch_data())
        self._refresh(changed)
        self._params = params
        self._summary = InfoSummary({**params.summary(), "control_step": {}})
        self._sensor_muted, self._control_muted = bool(muted.sensor), bool(muted.control)
        self._sensor = SensorPipeline(params.sensor_dict() or muted.sensor_dict(), seed=params.seed)
        self._control = params.control_dict() or muted.control_dict()
        self._set_control()

    def _set_control(self) -> None:
        """Per-params constants of the control perturbations (so a step only draws and adds)."""
        noise = self._control.get("action_noise", 0.0)
        space = self.env.action_space
        self._action_noise = None
        if noise > 0 and isinstance(space, gym.spaces.Box):
            std = noise * (space.high - space.low) / 2.0
            self._action_noise = NoiseRows(std, space.shape, self._batch_rows())
            self._action_bounds = (space.low, space.high)
        latency = max(0.0, self._control.get("action_latency", 0.0))
        self._latency = int(np.floor(latency + 1e-9))
        self._latency_frac = 0.0 if latency - self._latency < 1e-9 else latency - self._latency
        self._blend = None
        self._queue = deque(self._queue, maxlen=self._latency + 2)  # the actions _delayed reads; keeps the newest
        self._obs_std = self._control.get("obs_noise", 0.0)
        self._obs_noise = {}

    def _batch_rows(self) -> int:
        """Noise rows to draw at once: never more than the steps the current params stay in use."""
        if self.resample == "step":
            return 1
        return min(NoiseRows.BATCH, self.resample) if isinstance(self.resample, int) else NoiseRows.BATCH

    def _info(self, info: dict) -> dict:
        info = dict(info)
        info["randomization"] = self._summary.fresh()
        info["spec_hash"] = self.spec_hash
        return info

    def _control_action(self, action: Any) -> Any:
        if self._action_noise is None and self._latency <= 0 and self._latency_frac <= 0:
            return action
        act = np.asarray(action)
        if self._action_noise is not None:
            low, high = self._action_bounds
            noisy = np.add(self._action_noise.next(self._rng), act)
            np.maximum(noisy, low, out=noisy)
            act = np.minimum(noisy, high, out=noisy)
            if act.dtype != low.dtype:
                act = act.astype(low.dtype)
        if self._latency > 0 or self._latency_frac > 0:
            act = self._delayed(act)
        return action if self._control_muted else act

    def _delayed(self, act: np.ndarray) -> np.ndarray:
        """The action issued ``latency`` steps ago; a fractional latency f blends it with the one before
        ((1 - f) a[t-L] + f a[t-L-1]). Before the first commands arrive the oldest issued action holds."""
        queue = self._queue  # at most latency + 2 actions (maxlen), all arrays from _control_action
        queue.append(act)
        newer = queue[max(0, len(queue) - 1 - self._latency)]
        frac = self._latency_frac
        if frac <= 0:
            return newer
        older = queue[max(0, len(queue) - 2 - self._latency)]
        blend = self._blend
        if blend is None or blend[0] != act.dtype:  # the weights as NumPy casts Python floats for act (NEP 50)
            weight = np.result_type(act.dtype, 1.0).type
            blend = self._blend = (act.dtype, weight(1.0 - frac), weight(frac))
        mixed = np.multiply(newer, blend[1])
        mixed += np.multiply(older, blend[2])
        return mixed.astype(act.dtype, copy=False)

    def _observe(self, obs: Any) -> Any:
        if not self._sensor.active and self._obs_std <= 0:
            return obs
        return self._map(obs, self.observation_space, is_state=True)

    def _map(self, obs: Any, space: gym.Space, is_state: bool) -> Any:
        if isinstance(obs, dict):
            return {
                k: self._map(v, space[k] if isinstance(space, gym.spaces.Dict) else space, k in STATE_KEYS)
                for k, v in obs.items()
            }
        if isinstance(obs, np.ndarray) and obs.dtype == _UINT8 and obs.ndim == 3 and obs.shape[-1] == 3:
            if not self._sensor.active:
                return obs
            frame = self._sensor(obs, self._rng)
            return obs if self._sensor_muted else frame
        std = self._obs_std
        if is_state and std > 0 and isinstance(obs, np.ndarray) and obs.dtype.kind == "f":
            rows = self._obs_noise.get(obs.shape)
            if rows is None:
                rows = self._obs_noise[obs.shape] = NoiseRows(std, obs.shape, self._batch_rows())
            noisy = np.add(rows.next(self._rng), obs, dtype=obs.dtype)
            bounds = self._clip_bounds(space)
            if bounds is not None:
                np.maximum(noisy, bounds[0], out=noisy)
                np.minimum(noisy, bounds[1], out=noisy)
            return obs if self._control_muted else noisy
        return obs

    def _clip_bounds(self, space: gym.Space) -> tuple[np.ndarray, np.ndarray] | None:
        """(low, high) of a Box bounded on some side, else None; cached per space."""
        key = id(space)
        if key not in self._bounds:
            bounds = None
            if isinstance(space, gym.spaces.Box) and (space.bounded_below.any() or space.bounded_above.any()):
                bounds = (space.low, space.high)
            self._bounds[key] = bounds
        return self._bounds[key]
