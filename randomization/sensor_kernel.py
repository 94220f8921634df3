"""The camera pipeline's per-pixel work as one compiled pass (numba, cached on disk).

Blur (separable, edge replication), gain map, shot + read noise, the round-to-nearest offset, dead pixels, clipping
and the gamma table, in float32 with the same operations in the same order as the per-op numpy version they
replace, so frames are bit-identical (``tests/test_randomization_sensor_golden.py`` pins them). LLVM does not fuse
multiply-adds without fast-math, which keeps every float32 rounding step as numpy's.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["sensor_levels"]


_jit = numba.njit(cache=True, nogil=True, boundscheck=False, error_model="numpy")


@_jit
def _vertical(src: np.ndarray, kernel: np.ndarray, rows: np.ndarray) -> None:
    """rows[y] = sum_i k[i] * src[clamp(y + i - r)] (uint8 (H, N) -> float32), accumulated in tap order."""
    h, n = src.shape
    taps = kernel.shape[0]
    r = taps // 2
    for y in range(h):
        row = rows[y]
        first = src[min(max(y - r, 0), h - 1)]
        for j in range(n):
            row[j] = kernel[0] * np.float32(first[j])
        for i in range(1, taps):
            other = src[min(max(y + i - r, 0), h - 1)]
            k = kernel[i]
            for j in range(n):
                row[j] = row[j] + k * np.float32(other[j])


@_jit
def _horizontal(row: np.ndarray, kernel: np.ndarray, acc: np.ndarray) -> None:
    """acc[x, c] = sum_i k[i] * row[clamp(x + i - r), c] over a row of interleaved RGB, in tap order."""
    n = row.shape[0]
    w = n // 3
    taps = kernel.shape[0]
    r = taps // 2
    for i in range(taps):
        k = kernel[i]
        lo = min(max(r - i, 0) * 3, n)  # elements [lo, hi) read tap i inside the row
        hi = max(n - max(i - r, 0) * 3, lo)
        shift = (i - r) * 3
        into, source = acc[lo:hi], row[lo + shift : hi + shift]  # views: no negative indices
        if i == 0:
            for j in range(hi - lo):
                into[j] = k * source[j]
        else:
            for j in range(hi - lo):
                into[j] = into[j] + k * source[j]
        for edge in range(2):  # elements [0, lo) and [hi, n): clamped at the edges
            for j in range(hi, n) if edge else range(lo):
                v = k * row[min(max(j // 3 + i - r, 0), w - 1) * 3 + j % 3]
                acc[j] = v if i == 0 else acc[j] + v


@_jit
def _noise(acc: np.ndarray, window: np.ndarray, shot: bool, shot_gain: np.float32, read_var: np.float32) -> None:
    """Add noise and the 0.5 rounding offset (folded into ``window`` without shot noise; empty: no noise)."""
    half = np.float32(0.5)
    zero = np.float32(0.0)
    n = acc.shape[0]
    if window.shape[0] == 0:
        for j in range(n):
            acc[j] = acc[j] + half
    elif shot:  # std = sqrt(read^2 + gain * intensity)
        for j in range(n):
            v = acc[j]
            acc[j] = v + np.float32(np.sqrt(max(v, zero) * shot_gain + read_var)) * window[j] + half
    else:
        for j in range(n):
            acc[j] = acc[j] + window[j]


@_jit
def sensor_levels(
    img: np.ndarray,  # uint8 (H, W, 3)
    kernel: np.ndarray,  # float32 (2r + 1,) blur taps, or empty: no blur
    gain: np.ndarray,  # float32 (H, W, 3), or (0, 0, 0): no gain
    strip: np.ndarray,  # float32 noise strip, or empty: no noise
    offset: int,  # window start in ``strip``
    shot: bool,  # strip is unit noise for shot + read noise (else: std and the 0.5 rounding offset folded in)
    shot_gain: np.float32,
    read_var: np.float32,
    dead_index: np.ndarray,  # int64 flat pixel indices
    dead_value: np.ndarray,  # float32 stuck levels (0 or 255)
    lut: np.ndarray,  # uint8 (256,) gamma table
    tmp: np.ndarray,  # float32 (H, W, 3) scratch for the vertical blur pass
    out: np.ndarray,  # uint8 (H, W, 3) result
) -> None:
    """Process one frame into ``out``.

    13 parameters because a numba nopython kernel takes arrays and scalars, not a dataclass."""
    h, w = img.shape[0], img.shape[1]
    n = w * 3  # a row of interleaved channels: the horizontal neighbour of element j is j +- 3
    src = img.reshape(h, n)
    dst = out.reshape(h, n)
    rows = tmp.reshape(tmp.shape[0], tmp.shape[1] * 3)
    blur = kernel.shape[0] > 0
    if blur:
        _vertical(src, kernel, rows)
    gains = gain.reshape(gain.shape[0], gain.shape[1] * 3)
    acc = np.empty(n, dtype=np.float32)
    levels = np.empty(n, dtype=np.uint8)
    for y in range(h):
        if blur:
            _horizontal(rows[y], kernel, acc)
        else:
            line = src[y]
            for j in range(n):
                acc[j] = np.float32(line[j])
        if gain.shape[0] > 0:
            g = gains[y]
            for j in range(n):
                acc[j] = acc[j] * g[j]
        _noise(acc, strip[offset + y * n : offset + (y + 1) * n], shot, shot_gain, read_var)
        for j in range(n):  # truncation of v + 0.5: round to nearest for v >= 0; clipped to 0..255
            levels[j] = min(max(int(acc[j]), 0), 255)
        line_out = dst[y]
        for j in range(n):  # the gamma table, in a loop of its own so the one above vectorises
            line_out[j] = lut[levels[j]]
    for j in range(dead_index.shape[0]):
        p = dead_index[j]
        level = lut[min(max(int(dead_value[j]), 0), 255)]
        for c in range(3):
            out[p // w, p % w, c] = level
