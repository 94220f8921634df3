"""Pure-pursuit oracle for LaneFollow: steer toward a centre-line point ahead, slow down for bends."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from simreal.envs.driving.car import MAX_STEER, WHEELBASE

LOOKAHEAD_BASE = 1.5  # m
LOOKAHEAD_GAIN = 0.3  # s: look further ahead at speed
MAX_SPEED = 6.0  # m/s
LATERAL_ACCEL = 4.0  # m/s^2 allowed in bends
SPEED_GAIN = 0.8  # throttle per m/s of speed error
PREVIEW = (0.0, 4.0, 8.0, 12.0)  # m: bends this far ahead limit the target speed


def pure_pursuit_action(env: gym.Env) -> np.ndarray:
    """``[steering, throttle]`` in ``[-1, 1]`` from ``env.unwrapped.task_state()`` (privileged, not pixels)."""
    state = env.unwrapped.task_state()
    line, curvature = state["centre_line"], state["curvature"]
    length = float(state["track_length"][0])
    s, speed, yaw = float(state["track_s"][0]), float(state["speed"][0]), float(state["car_yaw"][0])
    spacing = length / len(line)

    lookahead = LOOKAHEAD_BASE + LOOKAHEAD_GAIN * max(speed, 0.0)
    target = line[round((s + lookahead) / spacing) % len(line)]
    rear = state["car_pos"][:2] - 0.5 * WHEELBASE * np.array([np.cos(yaw), np.sin(yaw)])
    dx, dy = target - rear
    alpha = np.arctan2(dy, dx) - yaw
    distance = float(np.hypot(dx, dy))
    steer = np.arctan2(2.0 * WHEELBASE * np.sin(alpha), distance)

    ahead = np.round((s + np.asarray(PREVIEW)) / spacing).astype(int) % len(line)
    kappa = float(np.max(np.abs(curvature[ahead])))
    target_speed = min(MAX_SPEED, float(np.sqrt(LATERAL_ACCEL / max(kappa, 1e-6))))
    throttle = SPEED_GAIN * (target_speed - speed)
    return np.clip(np.array([steer / MAX_STEER, throttle], dtype=np.float32), -1.0, 1.0)
