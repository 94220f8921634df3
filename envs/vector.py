"""``SimrealVectorEnv``: several simreal envs stepped in worker processes with shared-memory observations.

``gym.make_vec("simreal/Reach-v0", num_envs=N)`` builds it (registered as the ids' ``vector_entry_point``). Unlike
gymnasium's ``AsyncVectorEnv`` it moves actions, observations, rewards and done flags through shared memory (a step
sends one byte per worker and gets back only the infos), sends each env's dict-valued infos (the randomization
summary) only when they change, runs several envs per worker when ``num_envs`` exceeds ``workers``, and starts
workers with ``spawn`` (an inherited GL context hangs). Mesa's llvmpipe renders in the worker's own thread
(``LP_NUM_THREADS=0``, see :mod:`simreal.envs.gl_backend`), so two workers use two cores without oversubscription.

Autoreset follows gymnasium's default (``NEXT_STEP``): the step after an episode ends resets that env and returns
its first observation with reward 0. Scalar infos come back as gymnasium's arrays with ``_key`` masks; dict-valued
infos (e.g. ``randomization``) as an object array holding each env's dict.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import pickle
import traceback
from collections.abc import Sequence
from copy import deepcopy
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space, create_shared_memory, read_from_shared_memory, write_to_shared_memory

from simreal.envs.actions import check_action

__all__ = ["SimrealVectorEnv"]

_STEP, _RESET, _CALL, _CLOSE = b"s", b"r", b"c", b"x"


def _split(num_envs: int, workers: int) -> list[list[int]]:
    """Env indices of each worker: contiguous, sizes differing by at most one."""
    bounds = np.linspace(0, num_envs, workers + 1).round().astype(int)
    return [list(range(bounds[w], bounds[w + 1])) for w in range(workers)]


class SimrealVectorEnv(VectorEnv):
    """``num_envs`` copies of ``env_id`` (made with ``gym.make(env_id, **env_kwargs)``) in ``workers`` processes.

    ``workers`` defaults to ``min(num_envs, usable cores)``; ``copy=False`` returns a view of the shared
    observation buffer (valid until the next step).
    """

    metadata: dict[str, Any] = {"autoreset_mode": AutoresetMode.NEXT_STEP}  # noqa: RUF012

    def __init__(
        self, env_id: str, num_envs: int = 1, *, workers: int | None = None, copy: bool = True, **env_kwargs: Any
    ) -> None:
        if isinstance(num_envs, bool) or not isinstance(num_envs, int) or num_envs < 1:
            raise ValueError(f"num_envs: must be an int >= 1, got {num_envs!r}")
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        workers = min(num_envs, cores) if workers is None else workers
        if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= num_envs:
            raise ValueError(f"workers: must be an int in [1, num_envs={num_envs}], got {workers!r}")
        probe = gym.make(env_id, **env_kwargs)  # validates the arguments here; creates no GL context
        try:
            self.single_observation_space = probe.observation_space
            self.single_action_space = probe.action_space
            self.metadata = {**probe.metadata, "autoreset_mode": AutoresetMode.NEXT_STEP}
            self.render_mode = probe.render_mode
        finally:
            probe.close()
        self.env_id, self.num_envs, self.copy = env_id, num_envs, copy
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        ctx = mp.get_context("spawn")
        self._obs_memory = create_shared_memory(self.single_observation_space, n=num_envs, ctx=ctx)
        self._observations = read_from_shared_memory(self.single_observation_space, self._obs_memory, n=num_envs)
        self._action_memory = create_shared_memory(self.single_action_space, n=num_envs, ctx=ctx)
        self._actions = read_from_shared_memory(self.single_action_space, self._action_memory, n=num_envs)
        self._flags_memory = ctx.Array("d", 3 * num_envs, lock=False)  # reward, terminated, truncated
        flags = np.frombuffer(self._flags_memory, dtype=np.float64).reshape(3, num_envs)
        self._rewards, self._done_flags = flags[0], flags[1:]
        self._sticky: list[dict[str, Any]] = [{} for _ in range(num_envs)]  # last dict-valued infos per env
        self._groups = _split(num_envs, workers)
        self._pipes, self._processes = [], []
        for indices in self._groups:
            parent, child = ctx.Pipe()
            process = ctx.Process(
                target=_worker,
                name=f"simreal-vector-{indices[0]}",
                args=(env_id, env_kwargs, indices, num_envs, child, self._obs_memory, self._action_memory),
                kwargs={"flags_memory": self._flags_memory},
                daemon=True,
            )
            process.start()
            child.close()
            self._pipes.append(parent)
            self._processes.append(process)
        self._closed = False
        for _ in self._gather():  # each worker reports its envs were built
            pass

    # ----------------------------------------------------------------------------------------- gym api
    def reset(self, *, seed: int | Sequence[int | None] | None = None, options: dict[str, Any] | None = None):
        seeds: list[int | None]
        if seed is None or isinstance(seed, int):
            seeds = [None if seed is None else seed + i for i in range(self.num_envs)]
        else:
            seeds = list(seed)
            if len(seeds) != self.num_envs:
                raise ValueError(f"seed: needs {self.num_envs} seeds, got {len(seeds)}")
        for pipe, indices in zip(self._pipes, self._groups, strict=True):
            pipe.send_bytes(_RESET + pickle.dumps(([seeds[i] for i in indices], options)))
        infos = self._merge(self._gather())
        return self._read_observations(), infos

    def step(self, actions: Any):
        actions = check_action(actions, self.action_space)  # the envs' contract for the batch, before any worker
        write = np.asarray(actions) if isinstance(self._actions, np.ndarray) else actions
        _write_batch(self.single_action_space, write, self._actions)
        for pipe in self._pipes:
            pipe.send_bytes(_STEP)
        infos = self._merge(self._gather())
        terminated, truncated = self._done_flags.astype(bool)
        return self._read_observations(), self._rewards.copy(), terminated, truncated, infos

    def call(self, name: str, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
        """Call ``name`` (or read the attribute) on every env; results in env order."""
        for pipe in self._pipes:
            pipe.send_bytes(_CALL + pickle.dumps((name, args, kwargs)))
        return tuple(result for results in self._gather() for result in results)

    def get_attr(self, name: str) -> tuple[Any, ...]:
        return self.call(name)

    def render(self) -> tuple[Any, ...] | None:
        return None if self.render_mode is None else self.call("render")

    def close_extras(self, **kwargs: Any) -> None:
        if getattr(self, "_closed", True):
            return
        self._closed = True
        for pipe in self._pipes:
            try:
                pipe.send_bytes(_CLOSE)
            except OSError:
                pass
        for process in self._processes:
            process.join(timeout=10)
            if process.is_alive():
                process.terminate()
        for pipe in self._pipes:
            pipe.close()

    # ----------------------------------------------------------------------------------------- internals
    def _gather(self) -> list[Any]:
        replies = []
        for pipe, process in zip(self._pipes, self._processes, strict=True):
            try:
                status, payload = pickle.loads(pipe.recv_bytes())
            except EOFError as error:
                self.close()
                raise RuntimeError(f"{process.name} (pid {process.pid}) died (exit code {process.exitcode})") from error
            if status == "error":
                self.close()
                raise RuntimeError(f"{process.name} failed:\n{payload}")
            replies.append(payload)
        return replies

    def _merge(self, replies: list[list[tuple[dict[str, Any], dict[str, Any]]]]) -> dict[str, Any]:
        """Per-env (info without dict values, changed dict values) -> gymnasium's vector info layout."""
        infos: dict[str, Any] = {}
        env = 0
        for reply in replies:
            for info, changed in reply:
                self._sticky[env].update(changed)
                infos = self._add_info(infos, info, env)
                for key, value in self._sticky[env].items():
                    if key not in infos:
                        infos[key] = np.full(self.num_envs, None, dtype=object)
                        infos[f"_{key}"] = np.zeros(self.num_envs, dtype=bool)
                    infos[key][env], infos[f"_{key}"][env] = value, True
                env += 1
        return infos

    def _read_observations(self) -> Any:
        return deepcopy(self._observations) if self.copy else self._observations


def _write_batch(space: gym.Space, actions: Any, buffer: Any) -> None:
    """Copy a batch of actions into the shared action buffer (arrays, or dicts/tuples of them)."""
    if isinstance(buffer, np.ndarray):
        np.copyto(buffer, np.asarray(actions, dtype=buffer.dtype).reshape(buffer.shape))
    elif isinstance(buffer, dict):
        for key in buffer:
            _write_batch(space[key], actions[key], buffer[key])  # type: ignore[index]
    else:
        for i, part in enumerate(buffer):
            _write_batch(space[i], actions[i], part)  # type: ignore[index]


def _action(space: gym.Space, buffer: Any, index: int) -> Any:
    if isinstance(buffer, np.ndarray):
        return buffer[index].copy()
    if isinstance(buffer, dict):
        return {key: _action(space[key], value, index) for key, value in buffer.items()}  # type: ignore[index]
    return tuple(_action(space[i], part, index) for i, part in enumerate(buffer))  # type: ignore[index]


def _split_info(info: dict[str, Any], sent: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(info without dict values, the dict values that differ from what was last sent for this env)."""
    plain = {k: v for k, v in info.items() if not isinstance(v, dict)}
    changed = {k: v for k, v in info.items() if isinstance(v, dict) and sent.get(k) != v}
    sent.update(changed)
    return plain, changed


def _worker(
    env_id: str,
    env_kwargs: dict[str, Any],
    indices: list[int],
    num_envs: int,
    pipe: Any,
    obs_memory: Any,
    action_memory: Any,
    *,
    flags_memory: Any,
) -> None:
    """Build this worker's envs, then serve step/reset/call/close requests until closed."""
    try:
        import simreal  # noqa: F401  (registers the ids and sets the GL defaults before any context exists)

        envs = [gym.make(env_id, **env_kwargs) for _ in indices]
        obs_space, act_space = envs[0].observation_space, envs[0].action_space
        actions = read_from_shared_memory(act_space, action_memory, n=num_envs)
        flags = np.frombuffer(flags_memory, dtype=np.float64).reshape(3, num_envs)
        sent: list[dict[str, Any]] = [{} for _ in indices]
        needs_reset = [False] * len(indices)
        pipe.send_bytes(pickle.dumps(("ok", None)))
    except BaseException:  # report construction errors to the parent instead of dying silently
        pipe.send_bytes(pickle.dumps(("error", traceback.format_exc())))
        return
    try:
        while True:
            message = pipe.recv_bytes()
            command, payload = message[:1], message[1:]
            if command == _CLOSE:
                break
            if command == _CALL:
                name, args, kwargs = pickle.loads(payload)
                results = []
                for env in envs:
                    attribute = env.get_wrapper_attr(name)
                    results.append(attribute(*args, **kwargs) if callable(attribute) else attribute)
                pipe.send_bytes(pickle.dumps(("ok", results)))
                continue
            replies = []
            if command == _RESET:
                seeds, options = pickle.loads(payload)
            for slot, (index, env) in enumerate(zip(indices, envs, strict=True)):
                if command == _RESET or needs_reset[slot]:
                    seed = seeds[slot] if command == _RESET else None
                    obs, info = env.reset(seed=seed, options=options if command == _RESET else None)
                    reward, terminated, truncated = 0.0, False, False
                else:
                    obs, reward, terminated, truncated, info = env.step(_action(act_space, actions, index))
                needs_reset[slot] = bool(terminated or truncated)
                write_to_shared_memory(obs_space, index, obs, obs_memory)
                flags[:, index] = (float(reward), float(terminated), float(truncated))
                replies.append(_split_info(info, sent[slot]))
            pipe.send_bytes(pickle.dumps(("ok", replies)))
    except BaseException:
        pipe.send_bytes(pickle.dumps(("error", traceback.format_exc())))
    finally:
        for env in envs:
            env.close()
