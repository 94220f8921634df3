"""Procedural RGB textures in numpy (uint8 HxWx3): pattern families for randomization and photo-like
materials (wood, concrete, asphalt, fabric) for the reality proxy. Every generator takes an explicit
``np.random.Generator``; a 64x64 texture costs tens of microseconds.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np

Color = tuple[float, float, float]


@lru_cache(maxsize=32)
def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates in [0, 1): (y (h,1), x (1,w)), cached per size."""
    y = ((np.arange(h, dtype=np.float32) + 0.5) / h)[:, None]
    x = ((np.arange(w, dtype=np.float32) + 0.5) / w)[None, :]
    y.flags.writeable = False
    x.flags.writeable = False
    return y, x


@lru_cache(maxsize=128)
def _interp_weights(size: int, n: int) -> np.ndarray:
    """(size, n + 1) smoothstep interpolation weights from ``n`` lattice cells onto ``size`` pixels."""
    f = (np.arange(size, dtype=np.float32) + 0.5) / size * n
    i = np.minimum(f.astype(np.int64), n - 1)
    t = f - i
    t = t * t * (3 - 2 * t)
    w = np.zeros((size, n + 1), dtype=np.float32)
    w[np.arange(size), i] = 1 - t
    w[np.arange(size), i + 1] = t
    w.flags.writeable = False
    return w


def value_noise(h: int, w: int, cells: float, rng: np.random.Generator) -> np.ndarray:
    """Smooth noise in [0, 1] (h, w): a random lattice of ``cells`` cells, smoothstep-interpolated
    (separable, as two small matrix products)."""
    n = int(np.clip(round(cells), 1, MAX_CELLS))
    lattice = rng.random((n + 1, n + 1), dtype=np.float32)
    return (_interp_weights(h, n) @ lattice) @ _interp_weights(w, n).T


MAX_CELLS = 48  # lattice cells per side; bounds the GEMM sizes of value_noise


def fractal_noise(h: int, w: int, cells: float, rng: np.random.Generator, octaves: int = 3) -> np.ndarray:
    """Sum of value-noise octaves normalised to [0, 1]."""
    out = np.zeros((h, w), dtype=np.float32)
    amp, total = 1.0, 0.0
    for o in range(octaves):
        out += amp * value_noise(h, w, cells * 2**o, rng)
        total += amp
        amp *= 0.5
    return out / total


def _direction(rng: np.random.Generator) -> tuple[float, float]:
    theta = rng.uniform(0.0, np.pi)
    return float(np.cos(theta)), float(np.sin(theta))


def _cells(coord: np.ndarray, n: float) -> np.ndarray:
    """Integer cell index of each coordinate on a grid of ``n`` cells per unit."""
    return np.floor(coord * n).astype(np.int32)


def checker(h: int, w: int, scale: float, rng: np.random.Generator) -> np.ndarray:
    y, x = _grid(h, w)
    n = max(1, round(scale))
    return ((_cells(x, n) + _cells(y, n)) & 1).astype(np.float32)


def stripes(h: int, w: int, scale: float, rng: np.random.Generator) -> np.ndarray:
    y, x = _grid(h, w)
    c, s = _direction(rng)
    duty = rng.uniform(0.3, 0.7)
    t = (x * c + y * s) * scale
    return (t - np.floor(t) < duty).astype(np.float32)  # fractional part; cheaper than float modulo


def noise(h: int, w: int, scale: float, rng: np.random.Generator) -> np.ndarray:
    return fractal_noise(h, w, scale, rng)


def gradient(h: int, w: int, scale: float, rng: np.random.Generator) -> np.ndarray:
    y, x = _grid(h, w)
    c, s = _direction(rng)
    t = x * c + y * s
    t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    return np.broadcast_to(t, (h, w)).astype(np.float32)


def blobs(h: int, w: int, scale: float, rng: np.random.Generator) -> np.ndarray:
    y, x = _grid(h, w)
    k = max(1, round(scale))
    cy, cx = rng.random(k, dtype=np.float32), rng.random(k, dtype=np.float32)
    r = rng.uniform(0.5, 1.5, k).astype(np.float32) / (k + 1)
    d2 = (y[None] - cy[:, None, None]) ** 2 + (x[None] - cx[:, None, None]) ** 2
    field = np.exp(-d2 / (2 * r[:, None, None] ** 2)).sum(0)
    return (field > 0.5).astype(np.float32)


def wood(h: int, w: int, scale: float, rng: np.random.Generator) -> np.ndarray:
    """Growth rings around an off-texture centre, warped by noise, with fine grain."""
    y, x = _grid(h, w)
    cy, cx = rng.uniform(-1.5, -0.5), rng.uniform(0.0, 1.0)
    r = np.sqrt((y - cy) ** 2 * 0.15 + (x - cx) ** 2)
    warp = value_noise(h, w, 3, rng)
    rings = 0.5 + 0.5 * np.sin(2 * np.pi * (r * scale * 2 + 1.5 * warp))
    grain = value_noise(h, w, scale * 6, rng)
    return np.clip(0.75 * rings**2 + 0.25 * grain, 0, 1)


def concrete(h: int, w: int, scale: float, rng: np.random.Generator) -> np.ndarray:
    """Low-contrast cloudy noise with dark pores."""
    base = 0.5 + 0.3 * (fractal_noise(h, w, scale, rng, octaves=4) - 0.5)
    pores = rng.random((h, w), dtype=np.float32) < 0.02
    speck = rng.normal(0.0, 0.04, (h, w)).astype(np.float32)
    return np.clip(np.where(pores, base * 0.3, base + speck), 0, 1)


def asphalt(h: int, w: int, scale: float, rng: np.random.Generator) -> np.ndarray:
    """Dark fine-grained aggregate with sparse bright stones."""
    grain = rng.random((h, w), dtype=np.float32)
    stones = rng.random((h, w), dtype=np.float32) < 0.03
    patches = value_noise(h, w, scale, rng)
    return np.clip(0.15 + 0.25 * grain * (0.5 + 0.5 * patches) + 0.6 * stones, 0, 1)


def fabric(h: int, w: int, scale: float, rng: np.random.Generator) -> np.ndarray:
    """Plain weave: alternating warp/weft threads with per-thread tone variation."""
    y, x = _grid(h, w)
    n = max(2.0, scale * 4)
    u, v = x * n, y * n
    iu, iv = _cells(x, n), _cells(y, n)
    over = (iu + iv) & 1
    warp = 0.5 + 0.5 * np.cos(2 * np.pi * (u - iu - 0.5))
    weft = 0.5 + 0.5 * np.cos(2 * np.pi * (v - iv - 0.5))
    weave = np.where(over > 0, warp * (0.6 + 0.4 * weft), weft * (0.6 + 0.4 * warp))
    tone = rng.uniform(0.85, 1.0, int(np.ceil(n)) + 1).astype(np.float32)
    return np.clip(weave * tone[np.minimum(iu, len(tone) - 1)], 0, 1)


PATTERNS: dict[str, Callable[[int, int, float, np.random.Generator], np.ndarray]] = {
    "checker": checker,
    "stripes": stripes,
    "noise": noise,
    "gradient": gradient,
    "blobs": blobs,
    "wood": wood,
    "concrete": concrete,
    "asphalt": asphalt,
    "fabric": fabric,
}


def generate(
    family: str,
    height: int,
    width: int,
    color_a: Color,
    color_b: Color,
    scale: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """uint8 (height, width, 3) texture of ``family`` mixing RGB colours ``color_a``/``color_b`` in [0, 1]."""
    if family not in PATTERNS:
        raise ValueError(f"family: must be one of {sorted(PATTERNS)}, got {family!r}")
    if height <= 0 or width <= 0:
        raise ValueError(f"height/width: must be > 0, got {height}x{width}")
    t = PATTERNS[family](height, width, scale, rng)
    level = (np.broadcast_to(t, (height, width)) * 255.0 + 0.5).astype(np.uint8)
    a = np.asarray(color_a, dtype=np.float32) * 255.0
    b = np.asarray(color_b, dtype=np.float32) * 255.0
    palette = (a + (b - a) * _RAMP + 0.5).astype(np.uint8)  # (256, 3) colour per level
    return palette.take(level, axis=0)  # contiguous (height, width, 3); much cheaper than palette[level]


_RAMP = (np.arange(256, dtype=np.float32) / 255.0)[:, None]


def hsv_to_rgb(hsv: np.ndarray) -> np.ndarray:
    """Vectorised HSV -> RGB for arrays (..., 3) in [0, 1]."""
    hsv = np.asarray(hsv, dtype=np.float64)
    h, s, v = hsv[..., 0:1] % 1.0, hsv[..., 1:2], hsv[..., 2:3]
    k = (_HSV_SHIFT + h * 6.0) % 6.0  # per channel: distance along the hue hexagon
    ramp = np.maximum(np.minimum(np.minimum(k, 4.0 - k), 1.0), 0.0)
    return v - v * s * ramp


_HSV_SHIFT = np.array([5.0, 3.0, 1.0])


def rgb_to_hsv(rgb: np.ndarray) -> np.ndarray:
    """Vectorised RGB -> HSV for arrays (..., 3) in [0, 1]."""
    rgb = np.asarray(rgb, dtype=np.float64)
    mx, mn = rgb.max(-1), rgb.min(-1)
    d = mx - mn
    safe = np.where(d > 0, d, 1.0)
    r, g, b = np.moveaxis(rgb, -1, 0)
    h = np.where(mx == r, (g - b) / safe, np.where(mx == g, (b - r) / safe + 2, (r - g) / safe + 4))
    out = np.empty(rgb.shape)
    out[..., 0] = np.where(d > 0, h / 6.0, 0.0) % 1.0
    out[..., 1] = np.where(mx > 0, d / np.where(mx > 0, mx, 1.0), 0.0)
    out[..., 2] = mx
    return out
