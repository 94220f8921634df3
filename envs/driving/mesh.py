"""Road ribbon and lane-marking meshes with a fixed topology, so one compiled model serves every track.

The meshes are compiled once from placeholder vertices; each episode writes the new track's vertices into
``model.mesh_vert`` (see :func:`write_mesh`) and live renderers re-upload them. Both meshes are flat, face up
and are visual only (the car drives on the ground plane).
"""

from __future__ import annotations

import mujoco
import numpy as np

from simreal.envs.driving.track import HALF_WIDTH, Track

ROAD_Z = 0.005  # height of the road above the ground plane (m)
MARKING_Z = 0.01
LINE_WIDTH = 0.12  # lane marking width (m)
EDGE_INSET = 0.1  # distance of the edge lines from the road border (m)
TEXTURE_TILE = 1.0  # m of road per repetition of the road texture


def _ribbon_faces(pairs: int, first: int = 0) -> np.ndarray:
    """Triangles (counter-clockwise from above) of a strip of ``pairs`` [left, right] vertex pairs."""
    i = first + 2 * np.arange(pairs - 1)
    left, right, next_left, next_right = i, i + 1, i + 2, i + 3
    return np.stack([np.stack([left, right, next_right], 1), np.stack([left, next_right, next_left], 1)], 1).reshape(
        -1, 3
    )


def _strip(track: Track, low: float, high: float, z: float) -> np.ndarray:
    """Vertices [left, right] per sample plus a copy of the first pair (closing the loop), shape (2(n+1), 3)."""
    points = np.vstack([track.points, track.points[:1]])
    normals = np.vstack([track.normals, track.normals[:1]])
    verts = np.empty((2 * len(points), 3))
    verts[0::2, :2] = points + high * normals
    verts[1::2, :2] = points + low * normals
    verts[:, 2] = z
    return verts


def road_faces(n: int) -> np.ndarray:
    """Faces of the road mesh of an ``n``-sample track."""
    return _ribbon_faces(n + 1)


def road_vertices(track: Track) -> tuple[np.ndarray, np.ndarray]:
    """Road vertices (2(n+1), 3) and texture coordinates (one texture tile per ``TEXTURE_TILE`` metres)."""
    verts = _strip(track, -HALF_WIDTH, HALF_WIDTH, ROAD_Z)
    n = len(track.s)
    along = np.arange(n + 1) * track.spacing / TEXTURE_TILE
    texcoords = np.empty((2 * (n + 1), 2))
    texcoords[0::2, 0], texcoords[1::2, 0] = 0.0, 2 * HALF_WIDTH / TEXTURE_TILE
    texcoords[:, 1] = np.repeat(along, 2)
    return verts, texcoords


def marking_faces(n: int) -> np.ndarray:
    """Faces of the lane markings: two solid edge lines and a dashed centre line (every other segment)."""
    pairs = n + 1
    edges = [_ribbon_faces(pairs, 0), _ribbon_faces(pairs, 2 * pairs)]
    first = 4 * pairs + 4 * np.arange(n // 2)
    dashes = np.concatenate([np.stack([first, first + 1, first + 3], 1), np.stack([first, first + 3, first + 2], 1)])
    return np.concatenate([*edges, dashes])


def marking_vertices(track: Track) -> np.ndarray:
    """Lane-marking vertices matching :func:`marking_faces`."""
    edge = HALF_WIDTH - EDGE_INSET
    left = _strip(track, edge - LINE_WIDTH, edge, MARKING_Z)
    right = _strip(track, -edge, -edge + LINE_WIDTH, MARKING_Z)
    centre = _strip(track, -LINE_WIDTH / 2, LINE_WIDTH / 2, MARKING_Z)
    n = len(track.s)
    dash_pairs = 2 * np.arange(n // 2)  # dash j spans samples 2j .. 2j + 1
    starts = np.stack([2 * dash_pairs, 2 * dash_pairs + 1, 2 * dash_pairs + 2, 2 * dash_pairs + 3], 1).ravel()
    return np.concatenate([left, right, centre[starts]])


def placeholder_vertices(count: int) -> np.ndarray:
    """Distinct flat vertices used at compile time (MuJoCo merges repeated vertices, which would change counts)."""
    i = np.arange(count)
    return np.stack([i // 2, i % 2, np.zeros(count)], 1).astype(np.float64)


def mesh_asset(name: str, vertices: np.ndarray, faces: np.ndarray, texcoords: np.ndarray | None = None) -> str:
    """An MJCF ``<mesh>`` element (flat meshes need shell inertia to compile)."""

    def text(array: np.ndarray) -> str:
        return " ".join(f"{v:g}" for v in np.asarray(array).ravel())

    tex = f' texcoord="{text(texcoords)}"' if texcoords is not None else ""
    return f'<mesh name="{name}" inertia="shell" vertex="{text(vertices)}" face="{text(faces)}"{tex}/>'


def write_mesh(model: mujoco.MjModel, name: str, vertices: np.ndarray, texcoords: np.ndarray | None = None) -> int:
    """Replace a flat mesh's vertices (world frame, face up) in ``model``; returns the mesh id.

    The compiler moved the mesh to its principal frame, so the mesh's geoms are reset to the identity pose.
    """
    mesh = model.mesh(name)
    start, count = int(mesh.vertadr[0]), int(mesh.vertnum[0])
    if len(vertices) != count:
        raise ValueError(f"mesh {name!r} has {count} vertices, got {len(vertices)}")
    model.mesh_vert[start : start + count] = vertices
    nstart, ncount = int(model.mesh_normaladr[mesh.id]), int(model.mesh_normalnum[mesh.id])
    model.mesh_normal[nstart : nstart + ncount] = (0.0, 0.0, 1.0)
    if texcoords is not None:
        tstart, tcount = int(model.mesh_texcoordadr[mesh.id]), int(model.mesh_texcoordnum[mesh.id])
        if len(texcoords) != tcount:
            raise ValueError(f"mesh {name!r} has {tcount} texture coordinates, got {len(texcoords)}")
        model.mesh_texcoord[tstart : tstart + tcount] = texcoords
    geoms = np.flatnonzero((model.geom_type == mujoco.mjtGeom.mjGEOM_MESH) & (model.geom_dataid == mesh.id))
    model.geom_pos[geoms] = 0.0
    model.geom_quat[geoms] = (1.0, 0.0, 0.0, 0.0)
    return int(mesh.id)
