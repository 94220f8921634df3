"""Camera-pipeline image ops on uint8 HxWx3 arrays (one compiled pass per frame; JPEG through libjpeg-turbo).

Order: optics (blur, vignetting) with the ISP colour gains (colour temperature / white balance) folded into
one gain map -> sensor (shot + read noise, dead pixels) -> rounding and clipping to 0..255 -> gamma ->
compression (JPEG).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import simplejpeg

SENSOR_OPS = (
    "blur_sigma",
    "vignetting",
    "shot_noise",
    "gaussian_std",
    "dead_pixels",
    "color_temperature",
    "white_balance",
    "gamma",
    "jpeg_quality",
)


@lru_cache(maxsize=32)
def _gauss_kernel(sigma: float) -> np.ndarray:
    r = max(1, int(np.ceil(3 * sigma)))
    x = np.arange(-r, r + 1, dtype=np.float32)
    k = np.exp(-(x**2) / (2 * sigma**2))
    return k / k.sum()


@lru_cache(maxsize=1)
def _kernel() -> Callable[..., None]:
    """The compiled pass, imported on first use: processes that never apply sensor effects skip numba's start-up
    (~0.5 s import + cache load)."""
    from simreal.randomization.sensor_kernel import sensor_levels

    return sensor_levels


@lru_cache(maxsize=32)
def _radius2(h: int, w: int) -> np.ndarray:
    y = (np.arange(h, dtype=np.float32) - (h - 1) / 2) / (h / 2)
    x = (np.arange(w, dtype=np.float32) - (w - 1) / 2) / (w / 2)
    r2 = (y[:, None] ** 2 + x[None, :] ** 2) / 2.0  # 1 at the corners
    r2.flags.writeable = False
    return r2


def unit_noise(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Zero-mean, unit-variance triangular noise (float32) drawn from random bytes."""
    n = int(np.prod(shape))
    b = np.frombuffer(rng.bytes(2 * n), dtype=np.uint8)
    tri = np.multiply(np.add(b[:n], b[n:], dtype=np.int16), np.float32(_TRI_SCALE), dtype=np.float32)
    tri -= np.float32(255.0 * _TRI_SCALE)
    return tri.reshape(shape)


_TRI_SCALE = 1.0 / np.sqrt(2 * (256**2 - 1) / 12.0)  # 1 / std of (u1 + u2), u uniform on {0..255}


def dead_pixel_mask(h: int, w: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Fixed defect layout for a sensor: (flat indices, stuck values 0 or 255)."""
    rng = np.random.default_rng(seed)
    n = round(fraction * h * w)
    idx = rng.choice(h * w, size=min(n, h * w), replace=False)
    return idx, np.where(rng.random(len(idx)) < 0.5, 0.0, 255.0).astype(np.float32)


def kelvin_to_gains(kelvin: float) -> np.ndarray:
    """Per-channel RGB gains of a colour cast for a scene lit at ``kelvin`` and balanced for 6500 K."""

    def rgb(t: float) -> np.ndarray:  # Tanner Helland's blackbody fit, normalised
        t = t / 100.0
        r = 255.0 if t <= 66 else 329.698727446 * (t - 60) ** -0.1332047592
        g = 99.4708025861 * np.log(t) - 161.1195681661 if t <= 66 else 288.1221695283 * (t - 60) ** -0.0755148492
        b = 255.0 if t >= 66 else (0.0 if t <= 19 else 138.5177312231 * np.log(t - 10) - 305.0447927307)
        return np.clip(np.array([r, g, b], dtype=np.float32), 1.0, 255.0)

    gains = rgb(float(np.clip(kelvin, 1000.0, 40000.0))) / rgb(6500.0)
    return gains / gains.mean()


def jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    """JPEG encode/decode round trip at ``quality`` (1..95): libjpeg-turbo through simplejpeg, 4:2:0 chroma
    subsampling and the accurate integer DCT (as Pillow's defaults; Pillow's encoder output differs from it in a
    few levels, so frames differ from the PIL-based versions before it)."""
    q = int(min(max(quality, 1), 95))  # as int(np.clip(quality, 1, 95)) without numpy's per-call overhead (~5 us)
    return _round_trip(np.ascontiguousarray(img), q)


def _round_trip(img: np.ndarray, quality: int) -> np.ndarray:
    """:func:`jpeg` for a C-contiguous frame and a quality already in 1..95 (a new array)."""
    data = simplejpeg.encode_jpeg(img, quality=quality, colorspace="RGB", colorsubsampling="420", fastdct=False)
    return simplejpeg.decode_jpeg(data, colorspace="RGB", fastdct=False, fastupsample=False)


@dataclass(frozen=True)
class _Frame:
    """Per image size: precomputed gain map, defects, noise strip and scratch buffer (empty arrays: op off)."""

    gain: np.ndarray  # (H, W, 3) vignetting x colour gains; (0, 0, 0) when all ones
    dead_index: np.ndarray  # int64 flat pixel indices of stuck pixels
    dead_value: np.ndarray  # float32 stuck levels (0 or 255)
    noise: np.ndarray  # float32 strip of H * W * 3 + NOISE_SLACK noise values; empty without noise
    tmp: np.ndarray  # float32 scratch row for the blur: W * 3 values and 3 r edge values each side
    scratch: np.ndarray  # uint8 (H, W, 3) kernel output reused when JPEG follows (its decoder returns a new array)
    identity: bool  # no gain, noise, defects, blur or gamma: the frame passes unchanged (JPEG aside)


_NO_GAIN = np.zeros((0, 0, 0), dtype=np.float32)
_NO_NOISE = np.zeros(0, dtype=np.float32)
_NO_TAPS = np.zeros(0, dtype=np.float32)


class SensorPipeline:
    """Sampled camera settings (from ``Params.sensor``) applied to every frame; noise drawn per frame.

    Per frame, one compiled pass (:func:`~simreal.randomization.sensor_kernel.sensor_levels`): separable blur,
    one gain multiply (vignetting x white balance / colour temperature, precomputed per image size), one noise
    add (a window at a random offset into a noise strip drawn once per params, with the std and the rounding
    offset folded in; shot noise scales it per pixel), dead pixels, rounding, clipping and the gamma table; then
    JPEG when sampled. Ops whose sampled strength is the identity are skipped. Window offsets are drawn from the
    ``rng`` passed per frame, ``OFFSET_BATCH`` at a time. Scratch buffers are reused (not thread-safe).
    """

    NOISE_SLACK = 4096  # possible window offsets into the noise strip
    OFFSET_BATCH = 64

    def __init__(self, settings: Mapping[str, Sequence[float]], seed: int = 0) -> None:
        unknown = set(settings) - set(SENSOR_OPS)
        if unknown:
            raise ValueError(f"settings: unknown sensor ops {sorted(unknown)} (allowed: {list(SENSOR_OPS)})")
        self.settings = {k: tuple(float(x) for x in v) for k, v in settings.items()}
        self.seed = seed
        gains = np.ones(3, dtype=np.float32)
        if "color_temperature" in self.settings:
            gains *= kelvin_to_gains(self.settings["color_temperature"][0])
        if "white_balance" in self.settings:
            gains *= np.asarray(self.settings["white_balance"], dtype=np.float32)
        self._gains = gains.astype(np.float32)
        gamma = self._value("gamma", 1.0)
        self._lut = _IDENTITY_LUT
        if abs(gamma - 1.0) > 1e-6:
            self._lut = (255.0 * (np.arange(256) / 255.0) ** (1.0 / gamma) + 0.5).astype(np.uint8)
        sigma = self._value("blur_sigma")
        self._taps = _gauss_kernel(round(sigma, 2)) if sigma > 0.05 else _NO_TAPS
        self._shot = self._value("shot_noise") > 0
        self._shot_gain = np.float32(self._value("shot_noise"))
        self._read_var = np.float32(self._value("gaussian_std") ** 2)
        self._jpeg = "jpeg_quality" in self.settings
        self._quality = int(np.clip(self._value("jpeg_quality", 95), 1, 95))
        self._frames: dict[tuple[int, ...], _Frame] = {}
        self._offsets: list[int] = []
        self._active = bool(self.settings)

    @property
    def active(self) -> bool:
        return self._active

    def _value(self, name: str, default: float = 0.0) -> float:
        return self.settings.get(name, (default,))[0]

    def _frame(self, img: np.ndarray) -> _Frame:
        if img.dtype != _UINT8 or img.ndim != 3 or img.shape[-1] != 3:
            raise ValueError(f"img: expected uint8 (H, W, 3), got {img.dtype} {img.shape}")
        frame = self._frames.get(img.shape)
        if frame is not None:
            return frame
        h, w = img.shape[:2]
        gain = _NO_GAIN
        if self._value("vignetting") > 0 or float(np.abs(self._gains - 1.0).max()) > 1e-5:
            falloff = 1.0 - np.float32(self._value("vignetting")) * _radius2(h, w)
            gain = np.empty((h, w, 3), dtype=np.float32)
            for c in range(3):
                np.multiply(falloff, self._gains[c], out=gain[..., c])
        dead_index, dead_value = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        if self._value("dead_pixels") > 0:
            index, value = dead_pixel_mask(h, w, self._value("dead_pixels"), self.seed)
            dead_index, dead_value = index.astype(np.int64), value.astype(np.float32)
        noise = _NO_NOISE
        if self._shot or self._value("gaussian_std") > 0:
            noise = unit_noise((h * w * 3 + self.NOISE_SLACK,), np.random.default_rng(self.seed))
            if not self._shot:  # the frame-independent part: std and the round-to-nearest offset
                noise *= np.float32(self._value("gaussian_std"))
                noise += np.float32(0.5)
        identity = self._lut is _IDENTITY_LUT and not (gain.size or noise.size or dead_index.size or self._taps.size)
        tmp = np.empty(w * 3 + 6 * (self._taps.size // 2) if self._taps.size else 0, dtype=np.float32)
        scratch = np.empty(img.shape if self._jpeg and not identity else 0, dtype=np.uint8)
        frame = _Frame(gain, dead_index, dead_value, noise, tmp, scratch, identity)
        self._frames[img.shape] = frame
        return frame

    def __call__(self, img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Process one uint8 (H, W, 3) frame (returns a new array unless every op is the identity)."""
        if not self._active:
            return img
        frame = self._frames.get(img.shape)
        if frame is None or img.dtype != _UINT8:
            frame = self._frame(img)
        if frame.identity:
            out = img
        else:  # the compiled pass, also for the gamma table alone (a little faster than numpy's take)
            out = frame.scratch if self._jpeg else np.empty(img.shape, dtype=np.uint8)
            offset = 0
            if frame.noise.size:
                if not self._offsets:
                    self._offsets = rng.integers(self.NOISE_SLACK, size=self.OFFSET_BATCH).tolist()
                offset = self._offsets.pop()
            _kernel()(
                np.ascontiguousarray(img), self._taps, frame.gain, frame.noise, offset, self._shot,
                self._shot_gain, self._read_var, frame.dead_index, frame.dead_value, self._lut, frame.tmp, out,
            )  # fmt: skip
        return _round_trip(np.ascontiguousarray(out), self._quality) if self._jpeg else out


_UINT8 = np.dtype(np.uint8)
_IDENTITY_LUT = np.arange(256, dtype=np.uint8)
_IDENTITY_LUT.flags.writeable = False
