"""``DAgger``: teacher-student imitation of the env's scripted oracle (Ross et al. 2011), as an SB3 algorithm.

The teacher is the task's privileged oracle (:data:`simreal.envs.oracles.ORACLES`): it reads the simulator's true
state. The student is an SB3 ``ActorCriticPolicy`` that sees only the observation the (randomized) env returns,
noise, latency and all. Every step the oracle labels the state the student's own actions led to; the labels are
aggregated in a dataset and the student's deterministic action (its Gaussian's mean) is regressed on them. Early
on the oracle's action is executed instead of the student's with probability ``beta`` (1 -> 0 linearly over
``expert_steps``), so the first data show the task solved and later data show the student's own mistakes
corrected: the covariate-shift fix behaviour cloning lacks. With ``rollout_noise`` > 0, Gaussian noise of that
standard deviation is added to every executed action during collection (clipped to the action bounds), while the
labels stay the oracle's clean actions: DART (Laskey et al. 2017), so that the dataset also holds the states that
actuation disturbances (noise, latency, a slower or faster control period) push the robot into, and how the oracle
recovers from them. With ``input_noise`` > 0, every regression sample's observations (not its action history) get
extra Gaussian noise whose standard deviation is drawn per sample uniformly from ``[0, input_noise]``: noise
injection, so that the student's action varies smoothly with sensor noise instead of only across the levels the
env happened to show.

It subclasses PPO so that saving, loading, ``predict``, VecNormalize, checkpoints, learning curves and evaluation
are SB3's unchanged; only rollout collection and the update differ, and the value head is unused. The aggregated
dataset keeps the newest ``buffer_size`` samples and is not saved with the model: a resumed run starts a new
dataset from its current student (still DAgger, on the student's own states). Observations are stored raw and
normalized with the current VecNormalize statistics at each update. Needs Box observations and in-process envs
(``vec_env: dummy``), because the oracle reads each env's state.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3 import PPO
from stable_baselines3.common.buffers import RolloutBuffer
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv

from simreal.agents.history import HistoryWrapper
from simreal.envs.oracles import Oracle, oracle_for


def observation_columns(env: gym.Env, width: int) -> int:
    """How many leading columns of ``env``'s flat observations (``width`` wide) are observations: all of them but
    the action history that a flat :class:`HistoryWrapper` appends."""
    while isinstance(env, gym.Wrapper):
        if isinstance(env, HistoryWrapper) and isinstance(env.observation_space, spaces.Box):
            return width - env.k * int(np.prod(env.action_space.shape))
        env = env.env
    return width


class DAgger(PPO):
    """DAgger on ``env``'s oracle. Besides PPO's policy settings (``policy_kwargs``, ``learning_rate``,
    ``n_steps`` per env and iteration, ``batch_size``): ``expert_steps`` (env steps over which the chance that the
    oracle acts falls from 1 to 0), ``gradient_steps`` (minibatch updates per iteration), ``buffer_size``
    (aggregated samples kept), ``rollout_noise`` (standard deviation of the Gaussian noise added to executed
    actions while collecting, in action units; 0 = none) and ``input_noise`` (the largest standard deviation of
    the Gaussian noise added to the stored observations at each regression step, in observation units; 0 =
    none)."""

    def __init__(
        self,
        policy: Any,
        env: Any,
        *,
        expert_steps: int = 50_000,
        gradient_steps: int = 100,
        buffer_size: int = 500_000,
        rollout_noise: float = 0.0,
        input_noise: float = 0.0,
        **kwargs: Any,
    ) -> None:
        for name, value, low in (("expert_steps", expert_steps, 0), ("gradient_steps", gradient_steps, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{name}: must be an int >= {low}, got {value!r}")
        if isinstance(buffer_size, bool) or not isinstance(buffer_size, int) or buffer_size < 1:
            raise ValueError(f"buffer_size: must be an int >= 1, got {buffer_size!r}")
        for name, value, unit in (("rollout_noise", rollout_noise, "action"), ("input_noise", input_noise, "obs")):
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            if not number or not 0 <= value <= 1:
                raise ValueError(f"{name}: must be a number in [0, 1] ({unit} units), got {value!r}")
        self.expert_steps = expert_steps
        self.gradient_steps = gradient_steps
        self.buffer_size = buffer_size
        self.rollout_noise = float(rollout_noise)
        self.input_noise = float(input_noise)
        super().__init__(policy, env, **kwargs)

    def _setup_model(self) -> None:
        super()._setup_model()
        if not isinstance(self.observation_space, spaces.Box) or not isinstance(self.action_space, spaces.Box):
            raise ValueError(
                "dagger: needs Box observation and action spaces (state observations), got "
                f"{type(self.observation_space).__name__} / {type(self.action_space).__name__}"
            )
        obs_dim = int(np.prod(self.observation_space.shape))
        act_dim = int(np.prod(self.action_space.shape))
        self._obs_data = np.zeros((0, obs_dim), dtype=np.float32)  # capacity grown on demand up to buffer_size rows
        self._act_data = np.zeros((0, act_dim), dtype=np.float32)
        self._observed_dims = obs_dim  # the leading columns that are observations (not an action history)
        self._stored = 0  # samples written so far (the ring's write position is _stored % buffer_size)
        self._mix_rng = np.random.default_rng(self.seed)

    def _excluded_save_params(self) -> list[str]:
        return [*super()._excluded_save_params(), "_obs_data", "_act_data", "_stored", "_mix_rng"]

    # ------------------------------------------------------------------------------------------- rollouts
    def expert_fraction(self) -> float:
        """The chance that the oracle's action is executed at the current step count."""
        if self.expert_steps == 0:
            return 0.0
        return max(0.0, 1.0 - self.num_timesteps / self.expert_steps)

    def _teacher(self, env: VecEnv) -> tuple[Oracle, list[Any]]:
        base = env.unwrapped
        if not isinstance(base, DummyVecEnv):
            raise ValueError(f"dagger: the oracle reads each env's state, so it needs vec_env 'dummy', got {base!r}")
        envs = list(base.envs)
        spec = envs[0].unwrapped.spec
        if spec is None:
            raise ValueError("dagger: the env was not made with gym.make, so its oracle is unknown")
        return oracle_for(spec.id), envs

    def _raw_obs(self, env: VecEnv) -> np.ndarray:
        vecnorm = self.get_vec_normalize_env()
        obs = vecnorm.get_original_obs() if vecnorm is not None else self._last_obs
        return np.asarray(obs, dtype=np.float32).reshape(env.num_envs, -1)

    def _store(self, obs: np.ndarray, actions: np.ndarray) -> None:
        n = len(obs)
        need = min(self.buffer_size, self._stored + n)
        if need > len(self._obs_data):  # grow geometrically (amortized O(1) per sample), never past buffer_size
            extra = min(self.buffer_size, max(need, 2 * len(self._obs_data), 1024)) - len(self._obs_data)
            self._obs_data = np.concatenate([self._obs_data, np.zeros((extra, obs.shape[1]), np.float32)])
            self._act_data = np.concatenate([self._act_data, np.zeros((extra, actions.shape[1]), np.float32)])
        rows = (self._stored + np.arange(n)) % self.buffer_size
        self._obs_data[rows] = obs
        self._act_data[rows] = actions
        self._stored += n

    def collect_rollouts(
        self, env: VecEnv, callback: BaseCallback, rollout_buffer: RolloutBuffer, n_rollout_steps: int
    ) -> bool:
        """Run the student (or, with chance ``expert_fraction``, the oracle), plus ``rollout_noise``, for
        ``n_rollout_steps`` steps per env and aggregate the oracle's label of every visited state."""
        assert self._last_obs is not None, "No previous observation was provided"
        oracle, envs = self._teacher(env)
        self._observed_dims = observation_columns(envs[0], self._obs_data.shape[1])
        low, high = self.action_space.low, self.action_space.high
        self.policy.set_training_mode(False)
        callback.on_rollout_start()
        for _ in range(n_rollout_steps):
            labels = np.stack([np.clip(oracle(e), low, high) for e in envs]).astype(np.float32)
            student, _ = self.policy.predict(self._last_obs, deterministic=True)  # type: ignore[arg-type]
            self._store(self._raw_obs(env), labels)
            use_expert = self._mix_rng.random(env.num_envs) < self.expert_fraction()
            actions = np.where(use_expert[:, None], labels, student)
            if self.rollout_noise > 0:
                actions = actions + self._mix_rng.normal(0.0, self.rollout_noise, size=actions.shape)
            actions = np.clip(actions, low, high).astype(np.float32)
            new_obs, _, dones, infos = env.step(actions)
            self.num_timesteps += env.num_envs
            callback.update_locals(locals())
            if not callback.on_step():
                return False
            self._update_info_buffer(infos, dones)
            self._last_obs = new_obs  # type: ignore[assignment]
            self._last_episode_starts = dones
        callback.on_rollout_end()
        return True

    # ------------------------------------------------------------------------------------------- update
    def _with_input_noise(self, obs: np.ndarray) -> np.ndarray:
        """``obs`` (a copy) with noise of a per-row std drawn from U(0, input_noise) on the observation columns."""
        n = self._observed_dims
        std = self._mix_rng.uniform(0.0, self.input_noise, size=(len(obs), 1)).astype(np.float32)
        noisy = obs.copy()
        noisy[:, :n] += std * self._mix_rng.standard_normal((len(obs), n), dtype=np.float32)
        return noisy

    def train(self) -> None:
        """``gradient_steps`` minibatches of mean-squared error between the student's mean action and the
        oracle's label, sampled uniformly from the aggregated dataset."""
        size = min(self._stored, self.buffer_size)
        if size == 0:
            return
        self.policy.set_training_mode(True)
        self._update_learning_rate(self.policy.optimizer)
        vecnorm = self.get_vec_normalize_env()
        losses = []
        for _ in range(self.gradient_steps):
            idx = self._mix_rng.integers(0, size, size=min(self.batch_size, size))
            obs = self._obs_data[idx]
            if self.input_noise > 0:
                obs = self._with_input_noise(obs)
            if vecnorm is not None:
                obs = vecnorm.normalize_obs(obs).astype(np.float32)
            obs_t = th.as_tensor(obs, device=self.device).reshape(-1, *self.observation_space.shape)
            target = th.as_tensor(self._act_data[idx], device=self.device)
            mean = self.policy.get_distribution(obs_t).mode().reshape(len(idx), -1)
            loss = th.nn.functional.mse_loss(mean, target)
            self.policy.optimizer.zero_grad()
            loss.backward()
            th.nn.utils.clip_grad_norm_(self.policy.parameters(), self.max_grad_norm)
            self.policy.optimizer.step()
            losses.append(loss.item())
        self._n_updates += self.gradient_steps
        self.logger.record("train/imitation_loss", float(np.mean(losses)))
        self.logger.record("train/expert_fraction", self.expert_fraction())
        self.logger.record("train/dataset_size", size)
