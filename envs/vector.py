"""``SimrealVectorEnv``: several simreal envs stepped in worker processes with shared-memory observations.

``gym.make_vec("simreal/Reach-v0", num_envs=N)`` builds it (registered as the ids' ``vector_entry_point``). Unlike
gymnasium's ``AsyncVectorEnv`` it moves actions, observations, rewards and done flags through shared memory (a step
sends one 5-byte message per worker and gets back only the infos), sends each env's dict-valued infos (the
randomization summary) only when they change, runs several envs per worker when ``num_envs`` exceeds ``workers``
(each worker steps its envs in one batch per round trip), and starts workers with ``spawn`` (an inherited GL context
hangs). Workers count finished replies in shared memory: with ``spin_us=0`` only the last one wakes the main
process (one wake-up per step however many workers there are); by default the first one wakes it and it polls for
the last, while each worker polls for its next command, so quick hand-overs wake no idle core. Mesa's llvmpipe
renders in the worker's own thread (``LP_NUM_THREADS=0``, see :mod:`simreal.envs.gl_backend`), so two workers use
two cores without oversubscription. By default (no ``workers`` or ``envs_per_worker`` given) the calling process steps
the last share of the envs itself while the workers step theirs, with one worker fewer: on two cores one worker and
the main process step one env each, where two workers would leave the main process idle at every step and still
cost it a wake-up (``step_in_main=False`` restores workers only).

Autoreset follows gymnasium's default (``NEXT_STEP``): the step after an episode ends resets that env and returns
its first observation with reward 0. Scalar infos come back as gymnasium's arrays with ``_key`` masks; dict-valued
infos (e.g. ``randomization``) as an object array holding each env's dict.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import pickle
import select
import struct
import time
import traceback
from collections.abc import Callable, Sequence
from copy import deepcopy
from typing import Any, NamedTuple, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space, create_shared_memory, read_from_shared_memory

from simreal.envs.actions import check_action

__all__ = ["SimrealVectorEnv"]

_STEP, _RESET, _CALL, _CLOSE = b"s", b"r", b"c", b"x"
SPIN_US = 200  # default spin_us with workers only (measured: benchmarks/vector_throughput.py)
SPIN_IN_MAIN_US = 2000  # default spin_us when the main process steps envs too (a worker waits about one env step)
_HEADER = struct.Struct("!i")  # multiprocessing.Connection's framing: a message is its length, then its bytes


def _split(num_envs: int, workers: int) -> list[list[int]]:
    """Env indices of each worker: contiguous, sizes differing by at most one."""
    bounds = np.linspace(0, num_envs, workers + 1).round().astype(int)
    return [list(range(bounds[w], bounds[w + 1])) for w in range(workers)]


def _worker_count(num_envs: int, workers: int | None, envs_per_worker: int | None) -> int:
    """The number of worker processes: ``workers``, or enough for ``envs_per_worker`` each, or one per usable core."""
    if workers is not None and envs_per_worker is not None:
        raise ValueError(f"workers, envs_per_worker: give at most one, got {workers!r} and {envs_per_worker!r}")
    if envs_per_worker is not None:
        if isinstance(envs_per_worker, bool) or not isinstance(envs_per_worker, int) or envs_per_worker < 1:
            raise ValueError(f"envs_per_worker: must be an int in [1, num_envs={num_envs}], got {envs_per_worker!r}")
        return -(-num_envs // envs_per_worker)
    if workers is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        return min(num_envs, cores)
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= num_envs:
        raise ValueError(f"workers: must be an int in [1, num_envs={num_envs}], got {workers!r}")
    return workers


class _Shared(NamedTuple):
    """What the main process shares with every worker."""

    observations: Any  # the batch of observations (gymnasium's shared-memory layout)
    actions: Any  # the batch of actions
    flags: Any  # reward, terminated, truncated per env (float64)
    finished: Any  # how many workers have replied to the current command (a locked shared int)
    wake: Any  # the write end of the pipe by which the last worker to reply wakes the main process
    workers: int
    spin: float  # seconds a waiting process polls before it sleeps


class SimrealVectorEnv(VectorEnv):
    """``num_envs`` copies of ``env_id`` (made with ``gym.make(env_id, **env_kwargs)``) in worker processes.

    ``workers`` (default: ``min(num_envs, usable cores)``) sets the number of processes; ``envs_per_worker`` sets
    it instead to ``ceil(num_envs / envs_per_worker)`` (give at most one). A worker with several envs steps them
    one after another in one round trip, so ``num_envs`` above the core count amortizes the per-step messaging.
    ``copy=False`` returns a view of the shared observation buffer (valid until the next step). ``spin_us`` is how
    long, in microseconds, a waiting worker or the main process polls for its next message (yielding the core
    between polls) before it sleeps: a quick hand-over then needs no wake-up of an idle core (tens of microseconds on
    virtual machines); ``spin_us=0`` sleeps at once (the CPU time it saves matters only when other work competes for
    the cores). Default: 200 with workers only; 2000 when this process steps envs too, because a worker then waits
    about one env step (this process's own) for its next command. ``step_in_main`` (default: True unless
    ``workers`` or ``envs_per_worker`` is given) steps the last of those shares in this process instead of in a
    worker: same envs, seeds and results, one process fewer (``num_envs=1`` then starts no worker at all). This
    process then holds a GL context once its envs render, so start further processes with ``spawn``, as the workers
    are.
    """

    metadata: dict[str, Any] = {"autoreset_mode": AutoresetMode.NEXT_STEP}  # noqa: RUF012

    def __init__(
        self,
        env_id: str,
        num_envs: int = 1,
        *,
        workers: int | None = None,
        envs_per_worker: int | None = None,
        copy: bool = True,
        spin_us: int | None = None,
        step_in_main: bool | None = None,
        **env_kwargs: Any,
    ) -> None:
        if isinstance(num_envs, bool) or not isinstance(num_envs, int) or num_envs < 1:
            raise ValueError(f"num_envs: must be an int >= 1, got {num_envs!r}")
        if step_in_main is None:
            step_in_main = workers is None and envs_per_worker is None
        elif not isinstance(step_in_main, bool):
            raise ValueError(f"step_in_main: must be a bool or None, got {step_in_main!r}")
        if spin_us is None:
            spin_us = SPIN_IN_MAIN_US if step_in_main else SPIN_US
        if isinstance(spin_us, bool) or not isinstance(spin_us, int) or not 0 <= spin_us <= 10_000:
            raise ValueError(f"spin_us: must be an int in [0, 10000] (microseconds), got {spin_us!r}")
        processes = _worker_count(num_envs, workers, envs_per_worker)
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
        obs_memory = create_shared_memory(self.single_observation_space, n=num_envs, ctx=ctx)
        self._observations = read_from_shared_memory(self.single_observation_space, obs_memory, n=num_envs)
        action_memory = create_shared_memory(self.single_action_space, n=num_envs, ctx=ctx)
        self._actions = read_from_shared_memory(self.single_action_space, action_memory, n=num_envs)
        flags_memory = ctx.Array("d", 3 * num_envs, lock=False)
        flags = np.frombuffer(flags_memory, dtype=np.float64).reshape(3, num_envs)
        self._rewards, self._done_flags = flags[0], flags[1:]
        self._woken, wake = ctx.Pipe(duplex=False)
        groups = _split(num_envs, processes)
        self._views = _Views(self._observations, self._actions, flags, self.single_action_space)
        self._local = _Share(env_id, env_kwargs, groups.pop()) if step_in_main else None
        # held for the env's lifetime: a freed shared block is reused by the next env's (its counter would alias)
        self._shared = _Shared(
            obs_memory, action_memory, flags_memory, ctx.Value("i", 0), wake, len(groups), spin_us * 1e-6
        )
        self._sticky: list[dict[str, Any]] = [{} for _ in range(num_envs)]  # last dict-valued infos per env
        self._groups = groups  # the workers' env indices (the main process's are self._local.indices)
        self._pipes, self._processes = [], []
        for indices in self._groups:
            parent, child = ctx.Pipe()
            process = ctx.Process(
                target=_worker,
                name=f"simreal-vector-{indices[0]}",
                args=(env_id, env_kwargs, indices, child, self._shared),
                daemon=True,
            )
            process.start()
            child.close()
            self._pipes.append(parent)
            self._processes.append(process)
        wake.close()
        self._fds = [pipe.fileno() for pipe in self._pipes]
        self._poll = select.poll()  # the wake-up, or a worker's exit (its sentinel) when it died without replying
        for fd in (self._woken.fileno(), *(process.sentinel for process in self._processes)):
            self._poll.register(fd, select.POLLIN)
        self._woken_poll = select.poll()
        self._woken_poll.register(self._woken.fileno(), select.POLLIN)
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
        self._send_all([_RESET + pickle.dumps(([seeds[i] for i in indices], options)) for indices in self._groups])
        local = self._in_main(lambda share: share.reset([seeds[i] for i in share.indices], options, self._views))
        infos = self._merge([*self._gather(), *local])
        return self._read_observations(), infos

    def step(self, actions: Any):
        actions = check_action(actions, self.action_space)  # the envs' contract for the batch, before any worker
        write = np.asarray(actions) if isinstance(self._actions, np.ndarray) else actions
        _write_batch(self.single_action_space, write, self._actions)
        self._send_all([_STEP] * len(self._fds))
        local = self._in_main(lambda share: share.step(self._views))
        infos = self._merge([*self._gather(), *local])
        terminated, truncated = self._done_flags.astype(bool)
        return self._read_observations(), self._rewards.copy(), terminated, truncated, infos

    def call(self, name: str, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
        """Call ``name`` (or read the attribute) on every env; results in env order."""
        self._send_all([_CALL + pickle.dumps((name, args, kwargs))] * len(self._fds))
        local = self._in_main(lambda share: share.call(name, args, kwargs))
        return tuple(result for results in [*self._gather(), *local] for result in results)

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
        self._woken.close()
        if self._local is not None:
            self._local.close()

    # ----------------------------------------------------------------------------------------- internals
    def _in_main(self, run: Callable[[_Share], Any]) -> list[Any]:
        """``[run(share)]`` for the envs this process steps (``[]`` if none); on an error the env is closed."""
        if self._local is None:
            return []
        try:
            return [run(self._local)]
        except BaseException:
            self.close()
            raise

    def _send_all(self, messages: list[bytes]) -> None:
        """Send each worker its message; a worker that is gone closes the env and raises."""
        for fd, process, message in zip(self._fds, self._processes, messages, strict=True):
            try:
                _send(fd, message)
            except OSError as error:
                self.close()
                raise RuntimeError(f"{process.name} (pid {process.pid}) died (exit code {process.exitcode})") from error

    def _gather(self) -> list[Any]:
        """Sleep until the last worker has replied (or one died), then read every worker's reply."""
        if not self._fds:
            return []
        woken = self._woken.fileno()
        signals = 2 if self._shared.spin and len(self._fds) > 1 else 1  # spinning: the first one done wakes it too
        received = 0
        if self._local is not None and self._shared.spin:  # this process stepped envs too: the workers are about done
            _spin(self._woken_poll, self._shared.spin)
        while received < signals:
            if received:  # the first worker is done, the others are about to be: poll before sleeping again
                _spin(self._woken_poll, self._shared.spin)
            if any(fd == woken for fd, _ in self._poll.poll()):
                received += len(os.read(woken, signals - received))
            elif not all(process.is_alive() for process in self._processes):
                break  # a worker died without replying: its pipe reports it below
        replies = []
        for fd, process in zip(self._fds, self._processes, strict=True):
            try:
                status, payload = pickle.loads(_recv(fd))
            except (EOFError, OSError) as error:  # OSError: reset by a peer that died with our message unread
                self.close()
                raise RuntimeError(f"{process.name} (pid {process.pid}) died (exit code {process.exitcode})") from error
            if status == "error":
                self.close()
                raise RuntimeError(f"{process.name} failed:\n{payload}")
            replies.append(payload)
        return replies

    def _merge(self, replies: list[list[tuple[dict[str, Any], dict[str, Any]]]]) -> dict[str, Any]:
        """Per-env (info without dict values, changed dict values) -> gymnasium's vector info layout."""
        plain = [info for reply in replies for info, _ in reply]
        infos = _batch_scalars(plain)
        if infos is None:  # keys differ between envs, or arrays/objects: gymnasium's general (slower) merge
            infos = {}
            for env, info in enumerate(plain):
                infos = self._add_info(infos, info, env)
        changes = (changed for reply in replies for _, changed in reply)
        for env, (sticky, changed) in enumerate(zip(self._sticky, changes, strict=True)):
            sticky.update(changed)
            for key, value in sticky.items():
                if key not in infos:
                    infos[key] = np.full(self.num_envs, None, dtype=object)
                    infos[f"_{key}"] = np.zeros(self.num_envs, dtype=bool)
                infos[key][env], infos[f"_{key}"][env] = value, True
        return infos

    def _read_observations(self) -> Any:
        if not self.copy:
            return self._observations
        return self._observations.copy() if isinstance(self._observations, np.ndarray) else deepcopy(self._observations)


def _batch_scalars(infos: list[dict[str, Any]]) -> dict[str, Any] | None:
    """gymnasium's vector infos for per-env infos that all have the same keys and Python/numpy scalar values (what
    ``VectorEnv._add_info`` builds, with each key's dtype the type of env 0's value), else None."""
    first = infos[0]
    if any(info.keys() != first.keys() for info in infos[1:]):
        return None
    if not all(type(value) in (bool, int, float) or isinstance(value, np.number) for value in first.values()):
        return None
    batched: dict[str, Any] = {}
    for key, value in first.items():
        batched[key] = np.array([info[key] for info in infos], dtype=type(value))
        batched[f"_{key}"] = np.ones(len(infos), dtype=bool)
    return batched


def _send(fd: int, payload: bytes) -> None:
    """Write one message in ``multiprocessing.Connection``'s framing (readable by ``Connection.recv_bytes``)."""
    data = memoryview(_HEADER.pack(len(payload)) + payload)
    while data:
        data = data[os.write(fd, data) :]


def _recv(fd: int) -> bytes:
    """Read one message written by :func:`_send` (or ``Connection.send_bytes``); EOFError when the writer is gone."""
    first = os.read(fd, 65536)
    if len(first) >= _HEADER.size and len(first) == _HEADER.size + _HEADER.unpack_from(first)[0]:
        return first[_HEADER.size :]  # the whole message in one read: the usual case
    data = bytearray(first)
    if not first:
        raise EOFError
    size = _HEADER.size + _HEADER.unpack_from(data)[0] if len(data) >= _HEADER.size else None
    while size is None or len(data) < size:
        chunk = os.read(fd, 65536 if size is None else size - len(data))
        if not chunk:
            raise EOFError
        data += chunk
        if size is None and len(data) >= _HEADER.size:
            size = _HEADER.size + _HEADER.unpack_from(data)[0]
    return bytes(data[_HEADER.size :])


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


def _store(buffer: Any, index: int, value: Any) -> None:
    """Copy one env's observation into its slot of the shared batch (arrays, or dicts/tuples of them)."""
    if isinstance(buffer, np.ndarray):
        buffer[index] = value
    elif isinstance(buffer, dict):
        for key, part in buffer.items():
            _store(part, index, value[key])
    else:
        for part, item in zip(buffer, value, strict=True):
            _store(part, index, item)


def _split_info(info: dict[str, Any], sent: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(info without dict values, the dict values that differ from what was last sent for this env)."""
    plain = {k: v for k, v in info.items() if not isinstance(v, dict)}
    changed = {k: v for k, v in info.items() if isinstance(v, dict) and sent.get(k) != v}
    sent.update(changed)
    return plain, changed


def _spin(poller: Any, seconds: float) -> None:
    """Poll without sleeping until ``poller`` has input or ``seconds`` passed, yielding the core between polls."""
    deadline = time.perf_counter() + seconds
    while not poller.poll(0) and time.perf_counter() < deadline:
        os.sched_yield()


def _reply(fd: int, shared: _Shared, status: str, payload: Any) -> None:
    """Send this worker's reply; the last worker to reply to a command wakes the main process (and, when spinning,
    the first)."""
    _send(fd, pickle.dumps((status, payload)))
    with shared.finished.get_lock():
        shared.finished.value += 1
        done = shared.finished.value
        if done == shared.workers:
            shared.finished.value = 0
    if done == shared.workers or (shared.spin and done == 1):
        os.write(shared.wake.fileno(), b"w")


class _Views(NamedTuple):
    """A process's views of the shared batches."""

    observations: Any
    actions: Any
    flags: np.ndarray  # reward, terminated, truncated (rows) per env (columns)
    action_space: gym.Space


class _Share:
    """The envs one process steps (a worker's, or the main process's): each reads its action from the shared batch
    and writes its observation, reward and done flags there; gymnasium's next-step autoreset."""

    def __init__(self, env_id: str, env_kwargs: dict[str, Any], indices: list[int]) -> None:
        self.indices = indices
        self.envs: list[gym.Env] = []
        try:
            self.envs.extend(gym.make(env_id, **env_kwargs) for _ in indices)
        except BaseException:
            self.close()
            raise
        self._sent: list[dict[str, Any]] = [{} for _ in indices]  # dict-valued infos last sent, per env
        self._needs_reset = [False] * len(indices)

    def reset(self, seeds: list[int | None], options: dict[str, Any] | None, views: _Views) -> list[Any]:
        """Reset every env with its seed; per env (info without dict values, changed dict values)."""
        return [self._advance(slot, views, (seed, options)) for slot, seed in enumerate(seeds)]

    def step(self, views: _Views) -> list[Any]:
        """Step every env with its action (or reset it if its episode ended at the last step)."""
        return [self._advance(slot, views, None) for slot in range(len(self.envs))]

    def call(self, name: str, args: tuple, kwargs: dict[str, Any]) -> list[Any]:
        results = []
        for env in self.envs:
            attribute = env.get_wrapper_attr(name)
            results.append(attribute(*args, **kwargs) if callable(attribute) else attribute)
        return results

    def close(self) -> None:
        for env in self.envs:
            env.close()

    def _advance(self, slot: int, views: _Views, reset: tuple[int | None, dict[str, Any] | None] | None) -> Any:
        index, env = self.indices[slot], self.envs[slot]
        reward: SupportsFloat
        if reset is not None or self._needs_reset[slot]:
            seed, options = reset if reset is not None else (None, None)
            obs, info = env.reset(seed=seed, options=options)
            reward, terminated, truncated = 0.0, False, False
        else:
            obs, reward, terminated, truncated, info = env.step(_action(views.action_space, views.actions, index))
        self._needs_reset[slot] = bool(terminated or truncated)
        _store(views.observations, index, obs)
        views.flags[:, index] = (float(reward), float(terminated), float(truncated))
        return _split_info(info, self._sent[slot])


def _worker(env_id: str, env_kwargs: dict[str, Any], indices: list[int], pipe: Any, shared: _Shared) -> None:
    """Build this worker's envs, then serve step/reset/call/close requests until closed."""
    fd = pipe.fileno()
    try:
        import simreal  # noqa: F401  (registers the ids and sets the GL defaults before any context exists)

        share = _Share(env_id, env_kwargs, indices)
        num_envs = len(shared.flags) // 3
        obs_space, act_space = share.envs[0].observation_space, share.envs[0].action_space
        views = _Views(
            read_from_shared_memory(obs_space, shared.observations, n=num_envs),
            read_from_shared_memory(act_space, shared.actions, n=num_envs),
            np.frombuffer(shared.flags, dtype=np.float64).reshape(3, num_envs),
            act_space,
        )
    except BaseException:  # report construction errors to the parent instead of dying silently
        _reply(fd, shared, "error", traceback.format_exc())
        return
    _reply(fd, shared, "ok", None)
    commands = select.poll()
    commands.register(fd, select.POLLIN)
    try:
        while True:
            if shared.spin:
                _spin(commands, shared.spin)
            message = _recv(fd)
            command, payload = message[:1], message[1:]
            if command == _CLOSE:
                break
            if command == _CALL:
                _reply(fd, shared, "ok", share.call(*pickle.loads(payload)))
            elif command == _RESET:
                seeds, options = pickle.loads(payload)
                _reply(fd, shared, "ok", share.reset(seeds, options, views))
            else:
                _reply(fd, shared, "ok", share.step(views))
    except BaseException:
        _reply(fd, shared, "error", traceback.format_exc())
    finally:
        share.close()
