"""``simreal doctor``: is headless rendering available, how fast, and is it deterministic?"""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass

import numpy as np

from simreal.envs.arm.scene import ArmSceneOptions, build_arm_model
from simreal.envs.rendering import SceneRenderer, gl_info


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

    def lines(self) -> list[str]:
        """Human-readable ``key: value`` lines."""
        return [f"{key}: {value}" for key, value in asdict(self).items()]


def _median_ms(renderer: SceneRenderer, data, repeats: int) -> float:
    renderer.render(data, "front")
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        renderer.render(data, "front")
        times.append((time.perf_counter() - start) * 1e3)
    return round(statistics.median(times), 3)


def run_doctor(repeats: int = 50) -> DoctorReport:
    """Render the Push scene with both presets; compare two renders of the same state."""
    import mujoco

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
