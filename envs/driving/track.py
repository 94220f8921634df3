"""Procedural closed tracks (pure numpy): generation from a seed, validity checks and centre-line queries.

A track is a star-shaped closed curve ``r(θ) = R0 (1 + Σ_k a_k cos(kθ + φ_k))`` (a smooth periodic
perturbation of a circle), resampled at uniform arc length. Draws that break the curvature bound,
self-intersect or bring two distant parts of the road too close are rejected and redrawn from the same
generator, so a seed always gives the same track. Seeds are split like Procgen levels: ``train`` and
``test`` draw from disjoint ranges.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

# Geometry (metres). The road is 2 * HALF_WIDTH wide; the car drives counter-clockwise.
HALF_WIDTH = 1.5
MAX_CURVATURE = 0.2  # 1/m: the tightest bend has a 5 m radius
CLEARANCE = 2 * HALF_WIDTH + 2.0  # minimum distance between parts of the centre line far apart along it
TRACK_POINTS = 256  # samples of the centre line (also the road mesh resolution)
BASE_RADIUS_RANGE = (14.0, 20.0)
HARMONICS = np.arange(2, 6)  # perturbation frequencies k
MAX_ATTEMPTS = 200
_DENSE = 4096  # samples used for arc length and the curvature check

# Procgen-style disjoint seed ranges: [start, start + size).
SPLIT_SEEDS: dict[str, tuple[int, int]] = {"train": (0, 1_000_000), "test": (1_000_000, 1_000_000)}


@dataclass(frozen=True)
class Track:
    """A closed centre line sampled at uniform arc length ``s[i] = i * length / n``; arrays are read-only."""

    seed: int
    length: float
    s: np.ndarray  # (n,) arc length of each sample
    points: np.ndarray  # (n, 2) centre line
    tangents: np.ndarray  # (n, 2) unit, direction of travel
    normals: np.ndarray  # (n, 2) unit, pointing left of the direction of travel
    curvature: np.ndarray  # (n,) signed, positive for left turns

    @property
    def spacing(self) -> float:
        """Arc length between consecutive samples."""
        return self.length / len(self.s)

    def curvature_at(self, s: np.ndarray | float) -> np.ndarray:
        """Curvature at arc length(s) ``s`` (wrapped around the lap), linearly interpolated."""
        return np.interp(np.mod(s, self.length), self.s, self.curvature, period=self.length)

    def point_at(self, s: np.ndarray | float) -> np.ndarray:
        """Centre-line point(s) at arc length(s) ``s``, shape ``(..., 2)``."""
        s = np.mod(np.asarray(s, dtype=np.float64), self.length)
        x = np.interp(s, self.s, self.points[:, 0], period=self.length)
        y = np.interp(s, self.s, self.points[:, 1], period=self.length)
        return np.stack([x, y], axis=-1)

    def project(self, xy: np.ndarray) -> tuple[float, float, float]:
        """Arc length, signed lateral offset (left > 0) and heading (rad) of the nearest centre point."""
        n = len(self.s)
        i = int(np.argmin(np.sum((self.points - xy) ** 2, axis=1)))
        starts = np.array([(i - 1) % n, i])  # the two segments around the nearest sample
        a = self.points[starts]
        seg = self.points[(starts + 1) % n] - a
        rel = xy - a
        t = np.clip(np.sum(rel * seg, axis=1) / np.sum(seg * seg, axis=1), 0.0, 1.0)
        k = int(np.argmin(np.sum((rel - t[:, None] * seg) ** 2, axis=1)))
        seg, rel = seg[k], rel[k]
        s = (self.s[starts[k]] + t[k] * self.spacing) % self.length
        offset = (seg[0] * rel[1] - seg[1] * rel[0]) / np.hypot(seg[0], seg[1])
        return float(s), float(offset), float(np.arctan2(seg[1], seg[0]))


def split_seed_range(split: str, num_tracks: int | None = None) -> tuple[int, int]:
    """``[start, stop)`` of the track seeds of ``split`` (``num_tracks`` keeps only the first ones)."""
    if split not in SPLIT_SEEDS:
        raise ValueError(f"track_split must be one of {sorted(SPLIT_SEEDS)}, got {split!r}")
    start, size = SPLIT_SEEDS[split]
    if num_tracks is not None:
        if not 1 <= num_tracks <= size:
            raise ValueError(f"num_tracks must be an integer in [1, {size}], got {num_tracks!r}")
        size = num_tracks
    return start, start + size


def _radius(theta: np.ndarray, base: float, amp: np.ndarray, phase: np.ndarray) -> tuple[np.ndarray, ...]:
    """r(θ) and its first two derivatives."""
    arg = np.outer(theta, HARMONICS) + phase
    k = HARMONICS.astype(np.float64)
    r = base * (1.0 + np.cos(arg) @ amp)
    dr = base * (-np.sin(arg) @ (amp * k))
    ddr = base * (-np.cos(arg) @ (amp * k * k))
    return r, dr, ddr


def _polar_curve(
    theta: np.ndarray, base: float, amp: np.ndarray, phase: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points, unit tangents and signed curvature of the polar curve at ``theta``."""
    r, dr, ddr = _radius(theta, base, amp, phase)
    cos, sin = np.cos(theta), np.sin(theta)
    points = np.stack([r * cos, r * sin], axis=1)
    deriv = np.stack([dr * cos - r * sin, dr * sin + r * cos], axis=1)
    speed = np.hypot(deriv[:, 0], deriv[:, 1])
    curvature = (r * r + 2 * dr * dr - r * ddr) / speed**3
    return points, deriv / speed[:, None], curvature


def segments_intersect(points: np.ndarray) -> bool:
    """Whether any two non-adjacent segments of the closed polyline ``points`` (n, 2) cross."""
    a = points
    b = np.roll(points, -1, axis=0)

    def orient(p: np.ndarray, q: np.ndarray, r: np.ndarray) -> np.ndarray:
        u, v = q - p, r - p
        return np.sign(u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0])

    a1, b1 = a[:, None], b[:, None]
    a2, b2 = a[None], b[None]
    crosses = (orient(a1, b1, a2) * orient(a1, b1, b2) < 0) & (orient(a2, b2, a1) * orient(a2, b2, b1) < 0)
    n = len(points)
    idx = np.arange(n)
    gap = np.abs(idx[:, None] - idx[None])
    adjacent = (gap <= 1) | (gap == n - 1)
    return bool(np.any(crosses & ~adjacent))


def min_clearance(points: np.ndarray, spacing: float) -> float:
    """Smallest distance between centre-line samples more than ``CLEARANCE * π / 2`` apart along the line."""
    n = len(points)
    idx = np.arange(n)
    gap = np.abs(idx[:, None] - idx[None])
    arc = np.minimum(gap, n - gap) * spacing
    far = arc > CLEARANCE * np.pi / 2
    dist = np.linalg.norm(points[:, None] - points[None], axis=-1)
    return float(dist[far].min()) if np.any(far) else np.inf


def _draw(rng: np.random.Generator) -> tuple[float, np.ndarray, np.ndarray]:
    base = rng.uniform(*BASE_RADIUS_RANGE)
    amp = rng.uniform(0.0, 2.2, size=len(HARMONICS)) / HARMONICS**2
    phase = rng.uniform(0.0, 2 * np.pi, size=len(HARMONICS))
    return base, amp, phase


def _build(seed: int, base: float, amp: np.ndarray, phase: np.ndarray, n: int) -> Track | None:
    dense = np.linspace(0.0, 2 * np.pi, _DENSE + 1)
    pts, _, kappa = _polar_curve(dense, base, amp, phase)
    if np.max(np.abs(kappa)) > MAX_CURVATURE or np.min(np.hypot(pts[:, 0], pts[:, 1])) <= 0:
        return None
    seg = np.hypot(*np.diff(pts, axis=0).T)
    s_dense = np.concatenate([[0.0], np.cumsum(seg)])
    length = float(s_dense[-1])
    s = np.arange(n) * (length / n)
    theta = np.interp(s, s_dense, dense)
    points, tangents, curvature = _polar_curve(theta, base, amp, phase)
    if segments_intersect(points) or min_clearance(points, length / n) < CLEARANCE:
        return None
    normals = np.stack([-tangents[:, 1], tangents[:, 0]], axis=1)
    arrays = [s, points, tangents, normals, curvature]
    for array in arrays:
        array.flags.writeable = False
    return Track(seed, length, *arrays)


@functools.lru_cache(maxsize=512)
def generate_track(seed: int, n: int = TRACK_POINTS) -> Track:
    """The track of ``seed`` (deterministic; invalid draws are redrawn from the same generator)."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"track_seed must be a non-negative integer, got {seed!r}")
    rng = np.random.default_rng(int(seed))
    for _ in range(MAX_ATTEMPTS):
        track = _build(int(seed), *_draw(rng), n)
        if track is not None:
            return track
    raise RuntimeError(f"no valid track for seed {seed} after {MAX_ATTEMPTS} draws")
