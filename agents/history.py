"""``HistoryWrapper``: the last ``k`` observations and actions next to the current observation.

A policy that sees only the current state cannot tell how many of its commands are still in flight (actuation
latency) or how sluggish the arm is (gains, damping, friction); its own recent commands and the responses to
them tell it both. The wrapper works on flat ``Box`` observations and on ``Dict`` observations (``state``,
``pixels_state``): there it stacks only the flat float vectors (e.g. ``state``) and leaves images current, and
adds the action history under :data:`ACTION_KEY`.

Layout of a stacked vector: ``[o_t, o_{t-1}, ..., o_{t-k}]`` (newest first); of the actions:
``[a_{t-1}, ..., a_{t-k}]``. At reset the observation history repeats the first observation and the action
history is zero (no command issued yet).
"""

from __future__ import annotations

from collections import deque
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from simreal.envs.actions import check_action

ACTION_KEY = "action_history"
MAX_K = 32


def _is_vector(space: gym.Space) -> bool:
    return isinstance(space, spaces.Box) and len(space.shape) == 1 and np.issubdtype(space.dtype, np.floating)


def _stacked_box(space: spaces.Box, copies: int) -> spaces.Box:
    return spaces.Box(np.tile(space.low, copies), np.tile(space.high, copies), dtype=space.dtype)


class HistoryWrapper(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Append the last ``k`` observations and actions to each observation (see the module docstring)."""

    def __init__(self, env: gym.Env, k: int = 4) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, k=k)
        gym.Wrapper.__init__(self, env)
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
            raise ValueError(f"k: must be an int in [1, {MAX_K}] (steps of history), got {k!r}")
        action_space = env.action_space
        if not _is_vector(action_space):
            raise TypeError(f"HistoryWrapper needs a 1-D float Box action space, got {action_space}")
        self.k = k
        obs_space = env.observation_space
        actions = _stacked_box(action_space, k)
        actions = spaces.Box(np.minimum(actions.low, 0), np.maximum(actions.high, 0), dtype=actions.dtype)
        if isinstance(obs_space, spaces.Dict):
            if ACTION_KEY in obs_space.spaces:
                raise ValueError(f"observation key {ACTION_KEY!r} already exists; wrap only once")
            self._keys = tuple(key for key, sub in obs_space.spaces.items() if _is_vector(sub))
            if not self._keys:
                raise TypeError(f"HistoryWrapper: no flat float vector to stack in {obs_space}")
            stacked = {
                key: _stacked_box(sub, k + 1) if key in self._keys else sub for key, sub in obs_space.spaces.items()
            }
            self.observation_space = spaces.Dict({**stacked, ACTION_KEY: actions})
        elif _is_vector(obs_space):
            self._keys = ()
            low = np.concatenate([np.tile(obs_space.low, k + 1), actions.low])
            high = np.concatenate([np.tile(obs_space.high, k + 1), actions.high])
            self.observation_space = spaces.Box(low, high, dtype=obs_space.dtype)
        else:
            raise TypeError(f"HistoryWrapper needs a 1-D float Box or a Dict observation space, got {obs_space}")
        self._zero_action = np.zeros(action_space.shape, dtype=action_space.dtype)
        self._actions: deque[np.ndarray] = deque(maxlen=k)
        self._observations: dict[str | None, deque[np.ndarray]] = {}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict]:
        obs, info = self.env.reset(seed=seed, options=options)
        self._actions = deque([self._zero_action] * self.k, maxlen=self.k)
        self._observations = {
            key: deque([np.array(value, copy=True)] * (self.k + 1), maxlen=self.k + 1)
            for key, value in self._vectors(obs).items()
        }
        return self._stack(obs), info

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict]:
        if not self._observations:
            raise RuntimeError("HistoryWrapper: call reset() before step()")
        applied = check_action(action, self.env.action_space)  # the env's contract; the history holds clipped values
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._actions.appendleft(applied.astype(self._zero_action.dtype))
        for key, value in self._vectors(obs).items():
            self._observations[key].appendleft(np.array(value, copy=True))
        return self._stack(obs), reward, terminated, truncated, info

    def _vectors(self, obs: Any) -> dict[str | None, np.ndarray]:
        if self._keys:
            return {key: np.asarray(obs[key]) for key in self._keys}
        return {None: np.asarray(obs)}

    def _stack(self, obs: Any) -> Any:
        actions = np.concatenate(list(self._actions))
        if not self._keys:
            return np.concatenate([*self._observations[None], actions]).astype(self.observation_space.dtype)
        out = dict(obs)
        for key in self._keys:
            out[key] = np.concatenate(list(self._observations[key]))
        out[ACTION_KEY] = actions
        return out
