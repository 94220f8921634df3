"""Registration, the console script's doctor, and the GL backend choice."""

from __future__ import annotations

import subprocess
import sys

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import simreal
from simreal.envs.gl_backend import available_backends
from simreal.envs.oracles import ORACLES, oracle_for
from simreal.registration import ENVS, make_env


def test_every_id_is_registered_once_and_registration_is_idempotent() -> None:
    before = {k: v for k, v in gym.registry.items() if k.startswith("simreal/")}
    simreal.register_envs()
    after = {k: v for k, v in gym.registry.items() if k.startswith("simreal/")}
    assert set(before) == set(after) == set(ENVS)
    assert all(before[k] is after[k] for k in before)


def test_every_id_has_an_oracle() -> None:
    assert set(ORACLES) == set(ENVS)
    with pytest.raises(ValueError, match="allowed"):
        oracle_for("simreal/Fly-v0")


@pytest.mark.parametrize("env_id", sorted(ENVS))
def test_every_id_passes_the_gymnasium_and_sb3_env_checkers(env_id: str) -> None:
    env = gym.make(env_id)  # per-family tests check every obs_mode; this one catches a new id nobody listed
    check_env(env.unwrapped, skip_render_check=True)
    sb3_check_env(env.unwrapped, warn=False)
    env.close()


def test_unknown_id_and_unknown_kwargs_raise() -> None:
    with pytest.raises(ValueError, match="unknown simreal env"):
        make_env("simreal/Fly-v0")
    with pytest.raises(ValueError, match="unknown argument"):
        gym.make("simreal/LaneFollow-v0", reward_type="dense")  # an arm-only option


def test_domain_wraps_in_randomization_and_canonical_leaves_the_model_pristine() -> None:
    env = gym.make("simreal/Reach-v0", domain="train")
    _, info = env.reset(seed=0)
    assert "spec_hash" in info
    plain = gym.make("simreal/Reach-v0")
    canonical = gym.make("simreal/Reach-v0", domain="canonical")
    a, _ = plain.reset(seed=1)
    b, _ = canonical.reset(seed=1)
    assert (a == b).all()


def test_backend_is_egl_or_osmesa_when_available() -> None:
    import os

    if available_backends():
        assert os.environ["MUJOCO_GL"] in ("egl", "osmesa", *available_backends())


def test_doctor_reports_bit_identical_rendering() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "simreal.cli", "doctor", "--repeats", "3"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = dict(line.split(": ", 1) for line in result.stdout.strip().splitlines())
    assert lines["bit_identical"] == "True"
    assert float(lines["ms_per_frame_fast_64"]) > 0
    assert lines["backend"]


def test_cli_bad_input_exits_2_with_a_message() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "simreal.cli", "gallery", "simreal/Fly-v0", "-n", "1", "--out", "/tmp/x.png"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert "error:" in result.stderr
