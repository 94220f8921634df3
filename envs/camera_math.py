"""Small camera helpers shared by the scenes."""

from __future__ import annotations

import numpy as np


def look_at_xyaxes(position: tuple[float, float, float], target: tuple[float, float, float]) -> str:
    """MJCF ``xyaxes`` string for a camera at ``position`` looking at ``target`` with world z up."""
    forward = np.subtract(target, position, dtype=float)
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, (0.0, 0.0, 1.0))
    right /= np.linalg.norm(right)
    up = np.cross(right, forward)
    return " ".join(f"{v:.5f}" for v in (*right, *up))
