"""``gym.make_vec`` on simreal ids: the shared-memory vector env steps like the same envs stepped one by one."""

from __future__ import annotations

import os
import signal

import gymnasium as gym
import numpy as np
import pytest

import simreal  # noqa: F401  (registers the ids)
from simreal.envs.vector import SimrealVectorEnv

KWARGS = {"obs_mode": "pixels", "image_size": 16, "domain": "train", "max_episode_steps": 4}


@pytest.fixture(scope="module")
def vector_env():
    env = gym.make_vec("simreal/Reach-v0", num_envs=3, **KWARGS)  # on 2 cores: a worker runs two, this process one
    yield env
    env.close()


def test_make_vec_builds_the_shared_memory_env(vector_env):
    assert isinstance(vector_env.unwrapped, SimrealVectorEnv)
    assert vector_env.observation_space.shape == (3, 16, 16, 3)
    assert vector_env.unwrapped.spec.id == "simreal/Reach-v0"
    env = vector_env.unwrapped  # by default this process steps the last share, the workers the others
    processes = min(3, len(os.sched_getaffinity(0)))
    assert env._local is not None and len(env._processes) == len(env._groups) == processes - 1
    assert sorted(i for group in [*env._groups, env._local.indices] for i in group) == [0, 1, 2]
    assert env._local.indices[-1] == 2
    assert env._shared.spin == pytest.approx(2e-3)  # a worker waits about one env step (this process's) per command


def test_steps_match_single_envs_including_autoreset(vector_env):
    singles = [gym.make("simreal/Reach-v0", **KWARGS) for _ in range(3)]
    obs, info = vector_env.reset(seed=10)
    expected = [env.reset(seed=10 + i) for i, env in enumerate(singles)]
    np.testing.assert_array_equal(obs, np.stack([o for o, _ in expected]))
    rng = np.random.default_rng(0)
    done, resets = [False] * 3, 0
    for _ in range(7):  # past the 4-step episodes: the step after the end resets (NEXT_STEP autoreset)
        actions = rng.uniform(-1, 1, (3, 4)).astype(np.float32)
        obs, reward, terminated, truncated, info = vector_env.step(actions)
        for i, env in enumerate(singles):
            if done[i]:
                resets += 1
                single_obs, single_info = env.reset()
                single = (single_obs, 0.0, False, False, single_info)
            else:
                single = env.step(actions[i])
            np.testing.assert_array_equal(obs[i], single[0])
            assert reward[i] == pytest.approx(single[1], abs=1e-12)
            assert (terminated[i], truncated[i]) == (single[2], single[3])
            assert info["is_success"][i] == single[4]["is_success"] and info["_is_success"][i]
            assert info["randomization"][i] == single[4]["randomization"]
            done[i] = bool(single[2] or single[3])
    assert resets == 3  # every env ended its 4-step episode and was reset once
    for env in singles:
        env.close()


def test_call_and_errors(vector_env):
    assert vector_env.unwrapped.call("spec_hash") == vector_env.unwrapped.get_attr("spec_hash")
    with pytest.raises(ValueError, match="workers"):
        SimrealVectorEnv("simreal/Reach-v0", 2, workers=3)
    with pytest.raises(ValueError, match="num_envs"):
        SimrealVectorEnv("simreal/Reach-v0", 0)
    for bad in (0, -1, True, 1.5, "2"):
        with pytest.raises(ValueError, match=r"^envs_per_worker: must be an int in \[1, num_envs=2\]"):
            SimrealVectorEnv("simreal/Reach-v0", 2, envs_per_worker=bad)
    with pytest.raises(ValueError, match=r"^workers, envs_per_worker: give at most one"):
        SimrealVectorEnv("simreal/Reach-v0", 2, workers=1, envs_per_worker=2)
    for bad in (-1, 10_001, True, 0.5):
        with pytest.raises(ValueError, match=r"^spin_us: must be an int in \[0, 10000\]"):
            SimrealVectorEnv("simreal/Reach-v0", 2, spin_us=bad)


@pytest.mark.parametrize(
    ("num_envs", "envs_per_worker", "spin_us", "groups"),
    [(3, 3, 0, [[0, 1, 2]]), (5, 2, 0, [[0, 1], [2], [3, 4]]), (3, 2, 300, [[0, 1], [2]])],
)
def test_envs_per_worker_batches_envs_and_steps_like_single_envs(num_envs, envs_per_worker, spin_us, groups):
    kwargs = {**KWARGS, "image_size": 8}
    env = gym.make_vec(
        "simreal/Reach-v0", num_envs=num_envs, envs_per_worker=envs_per_worker, spin_us=spin_us, **kwargs
    )
    singles = [gym.make("simreal/Reach-v0", **kwargs) for _ in range(num_envs)]
    try:
        assert env.unwrapped._groups == groups and len(env.unwrapped._processes) == len(groups)
        obs, _ = env.reset(seed=3)
        assert obs.shape == (num_envs, 8, 8, 3) and obs.dtype == np.uint8
        np.testing.assert_array_equal(obs, np.stack([s.reset(seed=3 + i)[0] for i, s in enumerate(singles)]))
        actions = np.random.default_rng(1).uniform(-1, 1, (6, num_envs, 4)).astype(np.float32)  # autoreset after 4
        for step, batch in enumerate(actions):
            obs, reward, *_ = env.step(batch)
            if step == 4:  # every 4-step episode ended: this step resets them (reward 0)
                expected = [(s.reset()[0], 0.0) for s in singles]
            else:
                expected = [s.step(a)[:2] for s, a in zip(singles, batch, strict=True)]
            np.testing.assert_array_equal(obs, np.stack([e[0] for e in expected]))
            np.testing.assert_array_equal(reward, [e[1] for e in expected])
    finally:
        env.close()
        for single in singles:
            single.close()


@pytest.mark.timeout(120)  # the bug this guards against hung the first env's next step forever
def test_two_vector_envs_alive_at_once_step_independently():
    """Each env keeps its shared blocks for its lifetime: a freed counter was reused by the next env and aliased."""
    first = SimrealVectorEnv("simreal/Reach-v0", 2, obs_mode="state")
    second = SimrealVectorEnv("simreal/Reach-v0", 2, obs_mode="state")
    try:
        expected = gym.make("simreal/Reach-v0", obs_mode="state")
        for env in (first, second, first, second):
            obs, _ = env.reset(seed=4)
            np.testing.assert_array_equal(obs[0], expected.reset(seed=4)[0])
            env.step(np.zeros((2, 4), dtype=np.float32))
        second.close()
        third = SimrealVectorEnv("simreal/Reach-v0", 1, obs_mode="state")
        third.reset(seed=0)
        third.close()
        first.step(np.zeros((2, 4), dtype=np.float32))
        expected.close()
    finally:
        first.close()
        second.close()


@pytest.mark.parametrize("spin_us", [0, 300])
@pytest.mark.timeout(120)
def test_a_worker_that_dies_is_reported_not_waited_for(spin_us):
    env = SimrealVectorEnv("simreal/Reach-v0", 2, workers=2, spin_us=spin_us, obs_mode="state")
    env.reset(seed=0)
    victim = env._processes[1]
    os.kill(victim.pid, signal.SIGKILL)  # before the step: sending to it fails
    victim.join(timeout=10)
    with pytest.raises(RuntimeError, match=rf"simreal-vector-1 \(pid {victim.pid}\) died"):
        env.step(np.zeros((2, 4), dtype=np.float32))
    env.close()
    env = SimrealVectorEnv("simreal/Reach-v0", 2, workers=2, spin_us=spin_us, obs_mode="state")
    env.reset(seed=0)
    victim = env._processes[1]
    os.kill(victim.pid, signal.SIGSTOP)  # mid-step: it got the step, the other worker replies, it never does
    env._send_all([b"s", b"s"])
    os.kill(victim.pid, signal.SIGKILL)
    with pytest.raises(RuntimeError, match=rf"simreal-vector-1 \(pid {victim.pid}\) died"):
        env._gather()
    env.close()


def test_worker_errors_are_raised_in_the_parent():
    env = SimrealVectorEnv("simreal/Reach-v0", 1, obs_mode="state", step_in_main=False)
    assert env._local is None and env._shared.spin == pytest.approx(2e-4)  # workers only: the shorter default spin
    env.reset(seed=0)
    env._actions[...] = np.nan  # an invalid action reaches the env: its ValueError comes back with the traceback
    for pipe in env._pipes:
        pipe.send_bytes(b"s")
    with pytest.raises(RuntimeError, match="finite"):
        env._merge(env._gather())
    env.close()
    env.close()  # idempotent


@pytest.mark.parametrize(
    ("num_envs", "kwargs", "workers"), [(1, {}, []), (3, {"workers": 2, "step_in_main": True}, [[0, 1]])]
)
def test_envs_stepped_in_the_main_process_step_like_single_envs(num_envs, kwargs, workers):
    env = SimrealVectorEnv("simreal/Reach-v0", num_envs, **kwargs, **KWARGS)
    singles = [gym.make("simreal/Reach-v0", **KWARGS) for _ in range(num_envs)]
    try:
        assert env._groups == workers and len(env._processes) == len(workers)  # num_envs=1: no worker at all
        assert env._local is not None and env._local.indices == [num_envs - 1]
        obs, _ = env.reset(seed=7)
        np.testing.assert_array_equal(obs, np.stack([s.reset(seed=7 + i)[0] for i, s in enumerate(singles)]))
        actions = np.random.default_rng(2).uniform(-1, 1, (6, num_envs, 4)).astype(np.float32)
        for step, batch in enumerate(actions):
            obs, reward, terminated, truncated, info = env.step(batch)
            if step == 4:  # NEXT_STEP autoreset, in the main process's env as in the workers'
                expected = [(o, 0.0, False, False, i) for o, i in (s.reset() for s in singles)]
                np.testing.assert_array_equal(reward, 0.0)
            else:
                expected = [s.step(a) for s, a in zip(singles, batch, strict=True)]
                np.testing.assert_array_equal(reward, [e[1] for e in expected])
                np.testing.assert_array_equal(truncated, [e[3] for e in expected])
                np.testing.assert_array_equal(terminated, [e[2] for e in expected])
            np.testing.assert_array_equal(obs, np.stack([e[0] for e in expected]))
            assert list(info["randomization"]) == [e[-1]["randomization"] for e in expected]
        assert env.call("spec_hash") == tuple(s.get_wrapper_attr("spec_hash") for s in singles)
    finally:
        env.close()
        for single in singles:
            single.close()


def test_an_error_in_the_main_process_envs_closes_the_vector_env():
    env = SimrealVectorEnv("simreal/Reach-v0", 2, workers=2, step_in_main=True, obs_mode="state")
    env.reset(seed=0)
    env._actions[...] = np.nan  # an invalid action reaches the env stepped here: its ValueError is raised as is
    with pytest.raises(ValueError, match="finite"):
        env._in_main(lambda share: share.step(env._views))
    assert env._closed and not any(process.is_alive() for process in env._processes)
    with pytest.raises(ValueError, match=r"^step_in_main: must be a bool or None"):
        SimrealVectorEnv("simreal/Reach-v0", 2, step_in_main=1)


def test_large_call_results_cross_the_pipe_whole(vector_env):
    """A reply larger than one pipe read (here 3 x 160 KiB frames) arrives whole and in env order."""
    vector_env.reset(seed=5)
    frames = vector_env.unwrapped.call("render_frame", "front", "rgb", 128)
    singles = [gym.make("simreal/Reach-v0", **KWARGS) for _ in range(3)]
    for i, single in enumerate(singles):
        single.reset(seed=5 + i)
        np.testing.assert_array_equal(frames[i], single.unwrapped.render_frame("front", "rgb", 128))
        single.close()
    assert len({frame.tobytes() for frame in frames}) == 3  # different episodes, different frames
