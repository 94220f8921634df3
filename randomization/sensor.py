"""Camera-pipeline image ops on uint8 HxWx3 arrays (pure, vectorised numpy; JPEG through PIL).

Order follows a real camera: optics (blur, vignetting) -> sensor (shot noise, read noise, dead pixels) ->
ISP (colour temperature / white balance, gamma) -> compression (JPEG).
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from functools import lru_cache

import numpy as np
from PIL import Image

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


def blur(img: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur (float32 HxWxC in, out) with edge replication; sigma in pixels."""
    if sigma <= 0.05:
        return img
    k = _gauss_kernel(round(float(sigma), 2))
    r = len(k) // 2
    pad = np.pad(img, ((r, r), (0, 0), (0, 0)), mode="edge")
    h, w = img.shape[:2]
    out = sum(k[i] * pad[i : i + h] for i in range(len(k)))
    pad = np.pad(out, ((0, 0), (r, r), (0, 0)), mode="edge")
    return sum(k[i] * pad[:, i : i + w] for i in range(len(k)))


@lru_cache(maxsize=32)
def _radius2(h: int, w: int) -> np.ndarray:
    y = (np.arange(h, dtype=np.float32) - (h - 1) / 2) / (h / 2)
    x = (np.arange(w, dtype=np.float32) - (w - 1) / 2) / (w / 2)
    r2 = (y[:, None] ** 2 + x[None, :] ** 2) / 2.0  # 1 at the corners
    r2.flags.writeable = False
    return r2


def vignette(img: np.ndarray, strength: float) -> np.ndarray:
    """Darken towards the corners: gain 1 at the centre, ``1 - strength`` at the corners."""
    if strength <= 0:
        return img
    gain = 1.0 - strength * _radius2(*img.shape[:2])
    return img * gain[..., None]


def shot_noise(img: np.ndarray, gain: float, rng: np.random.Generator) -> np.ndarray:
    """Signal-dependent (Poisson-like) noise: std = sqrt(gain * intensity) in 0..255 units."""
    if gain <= 0:
        return img
    std = np.sqrt(np.maximum(img, 0.0) * gain)
    return img + std * rng.standard_normal(img.shape, dtype=np.float32)


def gaussian_noise(img: np.ndarray, std: float, rng: np.random.Generator) -> np.ndarray:
    """Additive read noise with ``std`` in 0..255 units."""
    if std <= 0:
        return img
    return img + rng.standard_normal(img.shape, dtype=np.float32) * np.float32(std)


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
        g = (
            99.4708025861 * np.log(t) - 161.1195681661
            if t <= 66
            else 288.1221695283 * (t - 60) ** -0.0755148492
        )
        b = 255.0 if t >= 66 else (0.0 if t <= 19 else 138.5177312231 * np.log(t - 10) - 305.0447927307)
        return np.clip(np.array([r, g, b], dtype=np.float32), 1.0, 255.0)

    gains = rgb(float(np.clip(kelvin, 1000.0, 40000.0))) / rgb(6500.0)
    return gains / gains.mean()


def jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    """JPEG encode/decode round trip at ``quality`` (1..95)."""
    q = int(np.clip(quality, 1, 95))
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=q)
    buf.seek(0)
    return np.asarray(Image.open(buf).convert("RGB"))


class SensorPipeline:
    """Sampled camera settings (from ``Params.sensor``) applied to every frame; noise drawn per frame."""

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
        self._gains = None if np.allclose(gains, 1.0) else gains.astype(np.float32)
        self._dead: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}

    @property
    def active(self) -> bool:
        return bool(self.settings)

    def _value(self, name: str, default: float = 0.0) -> float:
        return self.settings.get(name, (default,))[0]

    def __call__(self, img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Process one uint8 (H, W, 3) frame."""
        if not self.settings:
            return img
        if img.dtype != np.uint8 or img.ndim != 3 or img.shape[-1] != 3:
            raise ValueError(f"img: expected uint8 (H, W, 3), got {img.dtype} {img.shape}")
        x = img.astype(np.float32)
        x = blur(x, self._value("blur_sigma"))
        x = vignette(x, self._value("vignetting"))
        x = shot_noise(x, self._value("shot_noise"), rng)
        x = gaussian_noise(x, self._value("gaussian_std"), rng)
        if self._value("dead_pixels") > 0:
            h, w = img.shape[:2]
            if (h, w) not in self._dead:
                self._dead[(h, w)] = dead_pixel_mask(h, w, self._value("dead_pixels"), self.seed)
            idx, val = self._dead[(h, w)]
            x.reshape(h * w, 3)[idx] = val[:, None]
        if self._gains is not None:
            x = x * self._gains
        if "gamma" in self.settings:
            x = 255.0 * (np.clip(x, 0.0, 255.0) / 255.0) ** (1.0 / self._value("gamma", 1.0))
        out = np.clip(x + 0.5, 0, 255).astype(np.uint8)
        if "jpeg_quality" in self.settings:
            out = jpeg(out, int(self._value("jpeg_quality", 95)))
        return out
