"""The camera pipeline's per-pixel work as one compiled pass (numba, cached on disk).

Blur (separable, edge replication), gain map, shot + read noise, the round-to-nearest offset, dead pixels, clipping
and the gamma table, in float32 with the same operations in the same order as the per-op numpy version they
replace, so frames are bit-identical (``tests/test_randomization_sensor_golden.py`` pins them). LLVM does not fuse
multiply-adds without fast-math, which keeps every float32 rounding step as numpy's.

The pass works row by row: the vertical blur of a row goes into a padded scratch row (edge pixels replicated), the
horizontal blur reads it back, then gain, noise, rounding and clipping happen in one loop that vectorises. Blurs of
3 and 5 taps (sigma up to 0.66, the presets' range) have loops of their own that sum each element's taps in
registers, in tap order, as the general loop does. Dead pixels are set next and the gamma table is looked up last,
over the whole frame (skipped when it is the identity).
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["sensor_levels"]


_jit = numba.njit(cache=True, nogil=True, boundscheck=False, error_model="numpy")


@_jit
def _vertical(src: np.ndarray, y: int, kernel: np.ndarray, row: np.ndarray) -> None:
    """row[j] = sum_i k[i] * src[clamp(y + i - r), j] (uint8 (H, N) -> float32 (N,)), accumulated in tap order."""
    h, n = src.shape
    taps = kernel.shape[0]
    r = taps // 2
    if taps == 3:
        a, b, c = src[max(y - 1, 0)], src[y], src[min(y + 1, h - 1)]
        k0, k1, k2 = kernel[0], kernel[1], kernel[2]
        for j in range(n):
            s = k0 * np.float32(a[j])
            s = s + k1 * np.float32(b[j])
            row[j] = s + k2 * np.float32(c[j])
        return
    if taps == 5:
        a, b, c = src[max(y - 2, 0)], src[max(y - 1, 0)], src[y]
        d, e = src[min(y + 1, h - 1)], src[min(y + 2, h - 1)]
        k0, k1, k2, k3, k4 = kernel[0], kernel[1], kernel[2], kernel[3], kernel[4]
        for j in range(n):
            s = k0 * np.float32(a[j])
            s = s + k1 * np.float32(b[j])
            s = s + k2 * np.float32(c[j])
            s = s + k3 * np.float32(d[j])
            row[j] = s + k4 * np.float32(e[j])
        return
    first = src[min(max(y - r, 0), h - 1)]
    k = kernel[0]
    for j in range(n):
        row[j] = k * np.float32(first[j])
    for i in range(1, taps):
        other = src[min(max(y + i - r, 0), h - 1)]
        k = kernel[i]
        for j in range(n):
            row[j] = row[j] + k * np.float32(other[j])


@_jit
def _horizontal(pad: np.ndarray, kernel: np.ndarray, acc: np.ndarray) -> None:
    """acc[j] = sum_i k[i] * pad[j + 3 i] over a padded row of interleaved RGB (3 r edge values each side)."""
    n = acc.shape[0]
    taps = kernel.shape[0]
    if taps == 3:
        k0, k1, k2 = kernel[0], kernel[1], kernel[2]
        for j in range(n):
            s = k0 * pad[j]
            s = s + k1 * pad[j + 3]
            acc[j] = s + k2 * pad[j + 6]
        return
    if taps == 5:
        k0, k1, k2, k3, k4 = kernel[0], kernel[1], kernel[2], kernel[3], kernel[4]
        for j in range(n):
            s = k0 * pad[j]
            s = s + k1 * pad[j + 3]
            s = s + k2 * pad[j + 6]
            s = s + k3 * pad[j + 9]
            acc[j] = s + k4 * pad[j + 12]
        return
    k = kernel[0]
    for j in range(n):
        acc[j] = k * pad[j]
    for i in range(1, taps):
        k = kernel[i]
        tap = pad[3 * i : 3 * i + n]
        for j in range(n):
            acc[j] = acc[j] + k * tap[j]


@_jit
def _blur_row(src: np.ndarray, y: int, kernel: np.ndarray, pad: np.ndarray, acc: np.ndarray) -> None:
    """Row ``y`` of the separable blur into ``acc``; ``pad`` is float32 scratch of N + 6 r values."""
    n = src.shape[1]
    m = 3 * (kernel.shape[0] // 2)
    _vertical(src, y, kernel, pad[m : m + n])
    for j in range(m):  # edge replication: the first and the last pixel's channels
        pad[j] = pad[m + j % 3]
        pad[m + n + j] = pad[m + n - 3 + j % 3]
    _horizontal(pad, kernel, acc)


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
    tmp: np.ndarray,  # float32 (W * 3 + 6r,) scratch row for the blur (any size without blur)
    out: np.ndarray,  # uint8 (H, W, 3) result
) -> None:
    """Process one frame into ``out``.

    13 parameters because a numba nopython kernel takes arrays and scalars, not a dataclass."""
    h, w = img.shape[0], img.shape[1]
    n = w * 3  # a row of interleaved channels: the horizontal neighbour of element j is j +- 3
    src = img.reshape(h, n)
    dst = out.reshape(h, n)
    blur = kernel.shape[0] > 0
    has_gain = gain.shape[0] > 0
    gains = gain.reshape(gain.shape[0], gain.shape[1] * 3)
    ones = np.ones(0 if has_gain else n, dtype=np.float32)  # x * 1 == x: one loop serves both cases
    noise = strip.shape[0] > 0
    halves = np.full(0 if noise else n, np.float32(0.5), dtype=np.float32)  # no noise: only the rounding offset
    identity = True
    for i in range(256):
        identity = identity and lut[i] == i
    acc = np.empty(n, dtype=np.float32)
    half = np.float32(0.5)
    zero = np.float32(0.0)
    top = np.float32(255.0)
    for y in range(h):
        if blur:
            _blur_row(src, y, kernel, tmp, acc)
        else:
            line = src[y]
            for j in range(n):
                acc[j] = np.float32(line[j])
        g = gains[y] if has_gain else ones
        line_out = dst[y]
        # gain, noise + the 0.5 offset, then truncation: round to nearest for v >= 0, clipped to 0..255 (clipping
        # in float first gives the same levels as clipping the integer, and vectorises)
        if shot:  # std = sqrt(read^2 + gain * intensity)
            window = strip[offset + y * n : offset + (y + 1) * n]
            for j in range(n):
                v = acc[j] * g[j]
                v = v + np.float32(np.sqrt(max(v, zero) * shot_gain + read_var)) * window[j] + half
                line_out[j] = np.int32(min(max(v, zero), top))
        else:
            window = strip[offset + y * n : offset + (y + 1) * n] if noise else halves
            for j in range(n):
                line_out[j] = np.int32(min(max(acc[j] * g[j] + window[j], zero), top))
    for j in range(dead_index.shape[0]):
        p = dead_index[j]
        level = min(max(int(dead_value[j]), 0), 255)
        for c in range(3):
            out[p // w, p % w, c] = level
    if not identity:  # the gamma table, in a pass of its own so the loops above vectorise
        _lookup(out.reshape(h * n), lut)


@_jit
def _lookup(flat: np.ndarray, lut: np.ndarray) -> None:
    """flat[j] = lut[flat[j]] in place, eight bytes per load and store (a uint64 view)."""
    size = flat.shape[0]
    packed = size - size % 8
    words = flat[:packed].view(np.uint64)
    for q in range(words.shape[0]):
        v = words[q]
        r = np.uint64(0)
        for i in range(8):
            r |= np.uint64(lut[(v >> np.uint64(8 * i)) & np.uint64(255)]) << np.uint64(8 * i)
        words[q] = r
    for j in range(packed, size):
        flat[j] = lut[flat[j]]
