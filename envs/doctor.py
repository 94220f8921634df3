"""``simreal doctor``: is headless rendering available, how fast, and is it deterministic?

A backend that cannot render (missing or broken libraries, an unknown ``MUJOCO_GL``) is the doctor's diagnosis, not
a crash: the report then names the backend, the error and what to install.
"""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np

from simreal.envs.gl_backend import available_backends, install_hint

if TYPE_CHECKING:
    from simreal.envs.rendering import SceneRenderer


@dataclass(frozen=True)
class DoctorReport:
    """What ``simreal doctor`` prints."""

    backend: str
    vendor: str
    renderer: str
    version: str
    ms_per_frame_fast_64: float
    ms_per_frame_high_256: float
    bit_identical: bool
    error: str = ""  # why rendering failed ("" when it works)
    hint: str = ""  # what to install or set when it failed

    @property
    def ok(self) -> bool:
        """Rendering works and is deterministic."""
        return not self.error and self.bit_identical

    def lines(self) -> list[str]:
        """Human-readable ``key: value`` lines (``error``/``hint`` only when rendering failed)."""
        return [f"{key}: {value}" for key, value in asdict(self).items() if value != "" or key not in ("error", "hint")]


def _failure(error: BaseException) -> DoctorReport:
    backend = os.environ.get("MUJOCO_GL", "")
    found = ", ".join(available_backends()) or "none"
    return DoctorReport(
        backend=backend or "<unset>",
        vendor="unavailable",
        renderer="unavailable",
        version="unavailable",
        ms_per_frame_fast_64=float("nan"),
        ms_per_frame_high_256=float("nan"),
        bit_identical=False,
        error=f"MUJOCO_GL={backend or '<unset>'} cannot render: {type(error).__name__}: {error} "
        f"(backends whose libraries are found: {found})",
        hint=install_hint(backend) if backend else install_hint("egl"),
    )


def _median_ms(renderer: SceneRenderer, data, repeats: int) -> float:
    renderer.render(data, "front")
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        renderer.render(data, "front")
        times.append((time.perf_counter() - start) * 1e3)
    return round(statistics.median(times), 3)


def run_doctor(repeats: int = 50) -> DoctorReport:
    """Render the Push scene with both presets; compare two renders of the same state.

    Any failure to load the GL backend or create a context returns a report with ``error`` and ``hint`` set.
    """
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be an int >= 1, got {repeats!r}")
    try:
        return _measure(repeats)
    except Exception as error:  # a broken GL stack fails in many ways (AttributeError, RuntimeError, OSError, ...)
        return _failure(error)


def _measure(repeats: int) -> DoctorReport:
    import mujoco  # loads the GL backend named by MUJOCO_GL: fails here when its libraries are broken

    from simreal.envs.arm.scene import ArmSceneOptions, build_arm_model
    from simreal.envs.rendering import SceneRenderer, gl_info

    model = build_arm_model(ArmSceneOptions(with_block=True))
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    info = gl_info()
    fast = SceneRenderer(model, 64, 64, "fast")
    high = SceneRenderer(model, 256, 256, "high")
    try:
        fast_ms = _median_ms(fast, data, repeats)
        high_ms = _median_ms(high, data, max(3, repeats // 10))
        identical = bool(np.array_equal(fast.render(data, "front"), fast.render(data, "front")))
    finally:
        fast.close()
        high.close()
    return DoctorReport(
        backend=info["backend"],
        vendor=info["vendor"],
        renderer=info["renderer"],
        version=info["version"],
        ms_per_frame_fast_64=fast_ms,
        ms_per_frame_high_256=high_ms,
        bit_identical=identical,
    )
