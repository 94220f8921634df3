"""The car: a free chassis, four wheels on hinges, steered front wheels and motor-driven rear wheels.

Kart-sized (about 1 m long, 13 kg). Front wheels turn about z through position actuators (Ackermann geometry is
applied to the commands); rear wheels are driven by torque motors; wheel damping gives rolling resistance and a
top speed. Wheels touch the ground through real contacts with tyre friction.
"""

from __future__ import annotations

import numpy as np

WHEELBASE = 0.7  # m, front axle to rear axle
TRACK_WIDTH = 0.56  # m, between the wheel centres of one axle
WHEEL_RADIUS = 0.12  # m
WHEEL_HALF_WIDTH = 0.05  # m
MAX_STEER = 0.45  # rad, bicycle-model steering angle at |action| = 1
MAX_TORQUE = 3.0  # N m per driven wheel at |action| = 1
CHASSIS_HALF = (0.5, 0.22, 0.06)  # m
AXLE_DROP = 0.04  # m, wheel centres below the chassis centre
CHASSIS_Z = WHEEL_RADIUS + AXLE_DROP  # m, chassis centre above the ground at rest
STEER_LIMIT = 0.6  # rad, joint range of each front wheel

# Collision bits: the ground and cones (contype 1) touch the car (contype 2); car parts never touch each other.
CAR_CONTACT = 'contype="2" conaffinity="1"'

WHEELS = {  # name -> (x, y) of the wheel centre in the chassis frame
    "fl": (WHEELBASE / 2, TRACK_WIDTH / 2),
    "fr": (WHEELBASE / 2, -TRACK_WIDTH / 2),
    "rl": (-WHEELBASE / 2, TRACK_WIDTH / 2),
    "rr": (-WHEELBASE / 2, -TRACK_WIDTH / 2),
}


def _wheel(name: str) -> str:
    w = WHEEL_HALF_WIDTH
    return (
        f'<body name="wheel_{name}"><joint name="spin_{name}" type="hinge" axis="0 1 0" damping="0.02"'
        f' armature="0.005"/><geom name="wheel_{name}" type="cylinder" size="{WHEEL_RADIUS}"'
        f' fromto="0 {-w} 0 0 {w} 0" mass="0.6" material="mat_tyre" friction="1.2 0.01 0.001" condim="3"'
        f" {CAR_CONTACT}/></body>"
    )


def car_body_xml(attachments: str = "") -> str:
    """The ``<body name="chassis">`` element with wheels, the onboard / chase cameras and ``attachments``."""
    hx, hy, hz = CHASSIS_HALF
    parts = []
    for name, (x, y) in WHEELS.items():
        if name.startswith("f"):
            parts.append(
                f'<body name="knuckle_{name}" pos="{x} {y} {-AXLE_DROP}"><joint name="steer_{name}" type="hinge"'
                f' axis="0 0 1" range="{-STEER_LIMIT} {STEER_LIMIT}" damping="0.5" armature="0.01"/>'
                f'<geom type="sphere" size="0.02" mass="0.2" contype="0" conaffinity="0" material="mat_tyre"/>'
                f"{_wheel(name)}</body>"
            )
        else:
            parts.append(f'<body name="axle_{name}" pos="{x} {y} {-AXLE_DROP}">{_wheel(name)}</body>')
    pitch_onboard, pitch_chase = np.deg2rad(10.0), np.deg2rad(18.0)
    return (
        f'<body name="chassis" pos="0 0 {CHASSIS_Z}"><freejoint name="chassis_joint"/>'
        f'<geom name="chassis" type="box" size="{hx} {hy} {hz}" mass="10" material="mat_car" {CAR_CONTACT}/>'
        f'<geom name="cabin" type="box" pos="-0.12 0 0.11" size="0.2 0.16 0.05" mass="0.5" material="mat_car"'
        ' contype="0" conaffinity="0"/>'
        f'<camera name="onboard" pos="{hx - 0.05} 0 0.2" fovy="75"'
        f' xyaxes="0 -1 0 {np.sin(pitch_onboard):.4f} 0 {np.cos(pitch_onboard):.4f}"/>'
        f'<camera name="chase" pos="-3.2 0 1.4" fovy="55"'
        f' xyaxes="0 -1 0 {np.sin(pitch_chase):.4f} 0 {np.cos(pitch_chase):.4f}"/>'
        f"{''.join(parts)}{attachments}</body>"
    )


def car_actuators_xml() -> str:
    """Steering position servos and rear-wheel torque motors; controls are in physical units."""
    return (
        f'<position name="steer_left" joint="steer_fl" kp="40" ctrlrange="{-STEER_LIMIT} {STEER_LIMIT}"/>'
        f'<position name="steer_right" joint="steer_fr" kp="40" ctrlrange="{-STEER_LIMIT} {STEER_LIMIT}"/>'
        f'<motor name="drive_rl" joint="spin_rl" gear="{MAX_TORQUE}" ctrlrange="-1 1"/>'
        f'<motor name="drive_rr" joint="spin_rr" gear="{MAX_TORQUE}" ctrlrange="-1 1"/>'
    )


def ackermann(steer: float) -> tuple[float, float]:
    """Left and right wheel angles (rad) for a bicycle-model steering angle ``steer`` (rad)."""
    if abs(steer) < 1e-9:
        return 0.0, 0.0
    radius = WHEELBASE / np.tan(steer)  # signed turning radius of the rear-axle centre, left > 0
    left = np.arctan(WHEELBASE / (radius - TRACK_WIDTH / 2))
    right = np.arctan(WHEELBASE / (radius + TRACK_WIDTH / 2))
    return float(left), float(right)
