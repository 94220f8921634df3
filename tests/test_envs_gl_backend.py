"""GL backend selection: llvmpipe renders in the calling thread by default, also when MUJOCO_GL is given."""

import os

import pytest

from simreal.envs.gl_backend import configure_gl_backend


@pytest.mark.parametrize("backend", ["egl", ""])
def test_llvmpipe_threads_default_to_zero(monkeypatch, backend):
    monkeypatch.delenv("LP_NUM_THREADS", raising=False)
    if backend:
        monkeypatch.setenv("MUJOCO_GL", backend)
    configure_gl_backend()
    assert os.environ["LP_NUM_THREADS"] == "0"


def test_user_llvmpipe_threads_are_kept(monkeypatch):
    monkeypatch.setenv("LP_NUM_THREADS", "2")
    monkeypatch.setenv("MUJOCO_GL", "egl")
    configure_gl_backend()
    assert os.environ["LP_NUM_THREADS"] == "2"
