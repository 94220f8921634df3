"""The driving scene: ground, sky, road and lane-marking meshes, cones, distractors, lights and the car.

:func:`build_model` compiles one model for every track; :func:`apply_track` rewrites the road meshes in place, so
the ``MjModel`` object (and references to it held by randomization) stays the same across episodes.
"""

from __future__ import annotations

import mujoco
import numpy as np

from simreal.envs.driving import car, mesh
from simreal.envs.driving.track import TRACK_POINTS, Track

MAX_OBSTACLES = 8
N_DISTRACTORS = 6
CONE_RADIUS = 0.15  # m, base radius
CONE_HEIGHT = 0.4  # m
HIDDEN_Z = -5.0  # unused cones wait below the ground
LANE_MARKING_GEOM = "lane_marking"  # the painted edge and centre lines: what a driving policy steers by
TIMESTEP = 0.005  # s
FRAME_SKIP = 10  # 20 Hz control


def _cone_asset() -> str:
    angles = np.linspace(0.0, 2 * np.pi, 12, endpoint=False)
    base = np.stack([CONE_RADIUS * np.cos(angles), CONE_RADIUS * np.sin(angles), np.zeros(12)], 1)
    verts = np.vstack([base, [[0.0, 0.0, CONE_HEIGHT]]])
    return f'<mesh name="cone" vertex="{" ".join(f"{v:.4f}" for v in verts.ravel())}"/>'


def _assets(n: int) -> str:
    road_count = 2 * (n + 1)
    marking_count = 4 * (n + 1) + 4 * (n // 2)  # two edge strips and the dashes
    road_tex = mesh.placeholder_vertices(road_count)[:, :2]
    return (
        '<texture name="tex_skybox" type="skybox" builtin="gradient" rgb1="0.45 0.65 0.9" rgb2="0.95 0.97 1"'
        ' width="64" height="64"/>'
        '<texture name="tex_ground" type="2d" builtin="flat" rgb1="0.3 0.5 0.22" mark="random" random="0.15"'
        ' markrgb="0.4 0.6 0.28" width="64" height="64"/>'
        '<texture name="tex_road" type="2d" builtin="flat" rgb1="0.26 0.26 0.28" mark="random" random="0.08"'
        ' markrgb="0.42 0.42 0.44" width="64" height="64"/>'
        '<material name="mat_ground" texture="tex_ground" texuniform="true" texrepeat="0.5 0.5"/>'
        '<material name="mat_road" texture="tex_road" specular="0.1" shininess="0.1"/>'
        '<material name="mat_marking" rgba="0.95 0.95 0.92 1"/>'
        '<material name="mat_car" rgba="0.8 0.1 0.1 1" specular="0.5" shininess="0.6" reflectance="0.1"/>'
        '<material name="mat_tyre" rgba="0.08 0.08 0.08 1"/>'
        '<material name="mat_cone" rgba="1 0.45 0.05 1"/>'
        + mesh.mesh_asset("road", mesh.placeholder_vertices(road_count), mesh.road_faces(n), road_tex)
        + mesh.mesh_asset("lane_marking", mesh.placeholder_vertices(marking_count), mesh.marking_faces(n))
        + _cone_asset()
    )


def _world(n_obstacles: int, n_distractors: int) -> str:
    # Mocap bodies: moving geoms of the world body at runtime would break its compile-time collision BVH.
    cones = "".join(
        f'<body name="cone_{i}" mocap="true" pos="{i} 0 {HIDDEN_Z}"><geom name="cone_{i}" type="mesh" mesh="cone"'
        ' material="mat_cone" contype="1" conaffinity="2"/></body>'
        for i in range(n_obstacles)
    )
    distractors = "".join(
        f'<geom name="distractor_{i}" type="box" size="0.2 0.2 0.2" pos="{i} 0 {HIDDEN_Z}" rgba="1 1 1 0"'
        ' contype="0" conaffinity="0"/>'
        for i in range(n_distractors)
    )
    # The lights follow the car (fixed world direction) so its shadow map stays sharp wherever it drives.
    lights = (
        '<light name="light_main" mode="trackcom" directional="true" pos="0 0 10" dir="0.3 0.2 -1"'
        ' diffuse="0.8 0.8 0.8" specular="0.2 0.2 0.2" castshadow="true"/>'
        '<light name="light_fill" mode="trackcom" directional="true" pos="0 0 10" dir="-0.3 -0.4 -1"'
        ' diffuse="0.3 0.3 0.3" specular="0 0 0" castshadow="false"/>'
    )
    return (
        '<geom name="ground" type="plane" size="60 60 10" material="mat_ground" friction="1 0.005 0.0001"'
        ' contype="1" conaffinity="2"/>'
        '<geom name="road" type="mesh" mesh="road" material="mat_road" contype="0" conaffinity="0"/>'
        f'<geom name="{LANE_MARKING_GEOM}" type="mesh" mesh="lane_marking" material="mat_marking" contype="0"'
        ' conaffinity="0"/>' + cones + distractors + car.car_body_xml(lights)
    )


def scene_xml(n: int = TRACK_POINTS) -> str:
    """MJCF of the scene for tracks of ``n`` samples."""
    return (
        '<mujoco model="lanefollow"><compiler angle="radian"/>'
        f'<option timestep="{TIMESTEP}" integrator="implicitfast"/>'
        '<statistic extent="30" center="0 0 0"/>'
        # Coarse sphere tessellation: the skybox sphere dominated CPU (llvmpipe) render time (1.0 -> 0.74 ms).
        '<visual><map znear="0.002" zfar="4" shadowclip="0.4"/>'
        '<quality shadowsize="2048" numslices="16" numstacks="4"/>'
        '<headlight ambient="0.35 0.35 0.35" diffuse="0.2 0.2 0.2" specular="0 0 0"/></visual>'
        f"<asset>{_assets(n)}</asset>"
        f"<worldbody>{_world(MAX_OBSTACLES, N_DISTRACTORS)}</worldbody>"
        f"<actuator>{car.car_actuators_xml()}</actuator>"
        "</mujoco>"
    )


def build_model(n: int = TRACK_POINTS) -> mujoco.MjModel:
    """Compile the scene once; call :func:`apply_track` to lay a track into it."""
    return mujoco.MjModel.from_xml_string(scene_xml(n))


def apply_track(model: mujoco.MjModel, track: Track) -> tuple[int, int]:
    """Write the road and lane-marking vertices of ``track`` into ``model``; returns the two mesh ids."""
    verts, texcoords = mesh.road_vertices(track)
    road = mesh.write_mesh(model, "road", verts, texcoords)
    marking = mesh.write_mesh(model, "lane_marking", mesh.marking_vertices(track))
    return road, marking


def place_cones(model: mujoco.MjModel, data: mujoco.MjData, positions: np.ndarray) -> None:
    """Put the first ``len(positions)`` cones at these (x, y); the others stay hidden below the ground."""
    bodies = [model.body(f"cone_{i}").id for i in range(MAX_OBSTACLES)]
    mocap = model.body_mocapid[bodies]
    data.mocap_pos[mocap] = model.body_pos[bodies]
    k = len(positions)
    data.mocap_pos[mocap[:k], :2] = positions
    data.mocap_pos[mocap[:k], 2] = 0.0
