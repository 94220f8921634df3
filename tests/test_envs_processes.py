"""Envs across processes: vector envs with fork and spawn, and determinism across interpreters.

Each case runs in a fresh interpreter: the pytest process has rendered already, and a GL context must not exist
before a fork whose children render.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

ROLLOUT_SCRIPT = """
import hashlib
import gymnasium as gym
import simreal
env = gym.make("simreal/Push-v0", obs_mode="pixels", image_size=32)
env.action_space.seed(4)
obs, _ = env.reset(seed=4)
digest = hashlib.sha256(obs.tobytes())
for _ in range(10):
    obs, *_ = env.step(env.action_space.sample())
    digest.update(obs.tobytes())
print(digest.hexdigest())
"""

VECTOR_SCRIPT = """
import sys
import gymnasium as gym
import numpy as np
import simreal

def make():
    import simreal
    return gym.make("simreal/Reach-v0", obs_mode="pixels", image_size=16)

if __name__ == "__main__":
    envs = gym.vector.AsyncVectorEnv([make, make], context=sys.argv[1])
    first, _ = envs.reset(seed=[0, 1])
    assert first.shape == (2, 16, 16, 3) and first.dtype == np.uint8, first.shape
    assert not np.array_equal(first[0], first[1])
    obs, *_ = envs.step(np.zeros((2, 4), dtype=np.float32))
    assert obs.std() > 1
    envs.close()
    reference, _ = make().reset(seed=0)  # render in this process only now, after the workers are gone
    assert np.array_equal(first[0], reference)
    print("ok")
"""

FORK_AFTER_RENDER_SCRIPT = """
import gymnasium as gym
import numpy as np
import simreal

def make():
    return gym.make("simreal/Reach-v0", obs_mode="pixels", image_size=16)

parent = make()
parent.reset(seed=0)  # a GL context now exists in the parent
envs = gym.vector.AsyncVectorEnv([make], context="fork")
try:
    envs.reset(seed=0)
except Exception as error:
    print("raised:", error)
"""


def _run(script: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_pixels_are_bit_identical_across_processes() -> None:
    assert _run(ROLLOUT_SCRIPT) == _run(ROLLOUT_SCRIPT)


@pytest.mark.parametrize("context", ["fork", "spawn"])
def test_async_vector_env_renders_with_fork_and_spawn(context: str) -> None:
    assert _run(VECTOR_SCRIPT, context).startswith("ok")


def test_fork_after_rendering_in_parent_raises_instead_of_hanging() -> None:
    assert "spawn" in _run(FORK_AFTER_RENDER_SCRIPT)
