"""``simreal doctor`` turns a broken GL backend into a diagnosis and an install hint, never a traceback."""

from __future__ import annotations

import ctypes.util
import os
import subprocess
import sys

import pytest

from simreal import cli
from simreal.envs import doctor
from simreal.envs.gl_backend import install_hint


def test_backend_failure_is_a_diagnosis_with_a_hint(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(repeats: int) -> doctor.DoctorReport:
        raise AttributeError("'NoneType' object has no attribute 'glGetError'")

    monkeypatch.setattr(doctor, "_measure", broken)
    monkeypatch.setenv("MUJOCO_GL", "osmesa")
    report = doctor.run_doctor(repeats=1)
    assert not report.ok
    assert "glGetError" in report.error
    assert "libosmesa6" in report.hint
    assert cli.main(["doctor", "--repeats", "1"]) == 1
    lines = dict(line.split(": ", 1) for line in capsys.readouterr().out.strip().splitlines())
    assert lines["backend"] == "osmesa"
    assert lines["bit_identical"] == "False"
    assert "apt-get install -y libosmesa6" in lines["hint"]


@pytest.mark.parametrize(("backend", "package"), [("egl", "libegl1"), ("osmesa", "libosmesa6"), ("bogus", "egl")])
def test_install_hint_names_what_to_install(backend: str, package: str) -> None:
    assert package in install_hint(backend)


@pytest.mark.skipif(bool(ctypes.util.find_library("OSMesa")), reason="OSMesa is installed here, so it is not broken")
def test_doctor_with_missing_osmesa_prints_diagnosis_not_traceback() -> None:
    env = {**os.environ, "MUJOCO_GL": "osmesa", "PYOPENGL_PLATFORM": "osmesa"}
    result = subprocess.run(
        [sys.executable, "-m", "simreal.cli", "doctor", "--repeats", "1"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert "error: MUJOCO_GL=osmesa cannot render" in result.stdout
    assert "hint: MUJOCO_GL=osmesa needs OSMesa" in result.stdout


def test_bad_repeats_is_bad_input_not_a_backend_diagnosis(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ValueError, match="repeats must be an int >= 1, got 0"):
        doctor.run_doctor(repeats=0)
    assert cli.main(["doctor", "--repeats", "0"]) == 2
    assert capsys.readouterr().err.startswith("error: repeats must be an int >= 1")


def test_broken_backend_is_one_line_with_the_hint_for_every_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "mujoco", None)  # import mujoco now fails, as with a broken GL library
    monkeypatch.setenv("MUJOCO_GL", "osmesa")
    monkeypatch.delenv(cli.DEBUG_ENV, raising=False)
    assert cli.main(["gallery", "simreal/Reach-v0", "-n", "1", "--out", "unused.png"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: MUJOCO_GL=osmesa: mujoco cannot load this OpenGL backend")
    assert "apt-get install -y libosmesa6" in err
    assert err.count("\n") == 1


@pytest.mark.skipif(bool(ctypes.util.find_library("OSMesa")), reason="OSMesa is installed here, so it is not broken")
def test_gallery_with_missing_osmesa_prints_the_hint_not_a_traceback(tmp_path) -> None:
    env = {**os.environ, "MUJOCO_GL": "osmesa", "PYOPENGL_PLATFORM": "osmesa"}
    out = tmp_path / "grid.png"
    result = subprocess.run(
        [sys.executable, "-m", "simreal.cli", "gallery", "simreal/Reach-v0", "-n", "1", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "apt-get install -y libosmesa6" in result.stderr
    assert not out.exists()
