"""Golden outputs of the camera pipeline: frames under fixed seeds must not change when the kernel is optimised.

The hashes were taken from the per-op numpy implementation (commit before the fused kernel). The ``jpeg`` rows
are separate: the JPEG codec is part of the pinned output (see ``JPEG_GOLDEN``).
"""

import hashlib

import numpy as np
import pytest

from simreal.randomization import SensorPipeline

ALL = {
    "blur_sigma": (0.33,),
    "vignetting": (0.2,),
    "shot_noise": (0.2,),
    "gaussian_std": (3.0,),
    "dead_pixels": (0.003,),
    "color_temperature": (5600.0,),
    "white_balance": (0.93, 1.04, 1.08),
    "gamma": (0.85,),
}
CASES = {
    "all_but_jpeg": ALL,
    "no_blur": {k: v for k, v in ALL.items() if k != "blur_sigma"},
    "no_shot": {k: v for k, v in ALL.items() if k != "shot_noise"},
    "wide_blur": {**ALL, "blur_sigma": (0.9,)},  # a 7-tap kernel
    "blur_gain": {"blur_sigma": (0.45,), "vignetting": (0.1,)},
    "blur_only": {"blur_sigma": (0.21,)},
    "gauss_only": {"gaussian_std": (6.0,)},
    "shot_only": {"shot_noise": (0.7,)},
    "dead_gamma": {"dead_pixels": (0.01,), "gamma": (1.2,)},
    "gain_gamma": {"vignetting": (0.3,), "white_balance": (1.2, 0.9, 0.8), "gamma": (1.1,)},
    "gamma_only": {"gamma": (0.8,)},
}
JPEG_CASES = {
    "jpeg_only": {"jpeg_quality": (40.0,)},
    "everything": {**ALL, "jpeg_quality": (35.0,)},
}
GOLDEN = {
    "all_but_jpeg/64x64": "4eda17ae464e5ac9",
    "all_but_jpeg/24x40": "ca6005241d95f851",
    "blur_gain/64x64": "a9f9fb599b8e9125",
    "blur_gain/24x40": "401485dd43f2d29a",
    "blur_only/64x64": "dfa9b641cf10815a",
    "blur_only/24x40": "03d5c70daf30191f",
    "dead_gamma/64x64": "2b899feb1360cd06",
    "dead_gamma/24x40": "e7d6a0922da24ceb",
    "gain_gamma/64x64": "3d9af7f456285084",
    "gain_gamma/24x40": "89f9c85395c78181",
    "gamma_only/64x64": "47eb73d01540f37e",
    "gamma_only/24x40": "0ed3437cb76fa724",
    "gauss_only/64x64": "cfb4b9ccd7b9c799",
    "gauss_only/24x40": "c4a5a8b14b5eba78",
    "no_blur/64x64": "1ee02543bb0d45fd",
    "no_blur/24x40": "8c963488be53c249",
    "no_shot/64x64": "80a0a29d543edcd7",
    "no_shot/24x40": "7dfee8c2bbe949cf",
    "shot_only/64x64": "e4c734ca8d24c451",
    "shot_only/24x40": "0f92d519775b2c8a",
    "wide_blur/64x64": "59b36c45bb03bcef",
    "wide_blur/24x40": "c2b3dc3ce0a6622b",
}
# Re-pinned when JPEG moved from Pillow to simplejpeg (libjpeg-turbo, same 4:2:0 subsampling and accurate DCT):
# Pillow's encoder output differs by a few levels, so no other codec can match its hashes.
JPEG_GOLDEN = {
    "everything/64x64": "d38111e07c76e0b5",
    "everything/24x40": "2c9cdd0f9f8d4e49",
    "jpeg_only/64x64": "344bc59649893684",
    "jpeg_only/24x40": "45524f64e29b8542",
}


def image(shape: tuple[int, int]) -> np.ndarray:
    """A test frame with smooth gradients, texture and saturated regions (exercises clipping at 0 and 255)."""
    h, w = shape
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:h, 0:w]
    img = np.stack([x * 255 / w, y * 255 / h, (x + y) * 128 / (h + w) + 60], axis=-1)
    img += rng.normal(0, 20, img.shape)
    img[: h // 4, : w // 4] = 255
    img[-h // 4 :, -w // 4 :] = 0
    return np.clip(img, 0, 255).astype(np.uint8)


def frames_digest(settings: dict[str, tuple[float, ...]], shape: tuple[int, int], n: int = 70) -> str:
    """sha256 of ``n`` consecutive frames (more than one batch of noise offsets) from one pipeline."""
    pipe = SensorPipeline(settings, seed=11)
    rng = np.random.default_rng(5)
    img = image(shape)
    digest = hashlib.sha256()
    for _ in range(n):
        out = pipe(img, rng)
        assert out.dtype == np.uint8 and out.shape == img.shape
        digest.update(out.tobytes())
    return digest.hexdigest()[:16]


SHAPES = ((64, 64), (24, 40))


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_sensor_frames_match_golden(name, shape):
    assert frames_digest(CASES[name], shape) == GOLDEN[f"{name}/{shape[0]}x{shape[1]}"]


@pytest.mark.parametrize("name", sorted(JPEG_CASES))
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_jpeg_frames_match_golden(name, shape):
    assert frames_digest(JPEG_CASES[name], shape, n=8) == JPEG_GOLDEN[f"{name}/{shape[0]}x{shape[1]}"]


def numpy_reference(img: np.ndarray, pipe: SensorPipeline, offset: int) -> np.ndarray:
    """The per-op numpy implementation the compiled kernel replaced (without JPEG), for one noise window."""
    from simreal.randomization.sensor import _gauss_kernel, _radius2, dead_pixel_mask, kelvin_to_gains, unit_noise

    value = pipe._value
    h, w = img.shape[:2]
    x = img.astype(np.float32)
    if value("blur_sigma") > 0.05:
        k = _gauss_kernel(round(value("blur_sigma"), 2))
        r = len(k) // 2
        pad = np.pad(x, ((r, r), (0, 0), (0, 0)), mode="edge")
        x = sum(k[i] * pad[i : i + h] for i in range(len(k)))
        pad = np.pad(x, ((0, 0), (r, r), (0, 0)), mode="edge")
        x = sum(k[i] * pad[:, i : i + w] for i in range(len(k)))
    gains = np.ones(3, dtype=np.float32)
    if "color_temperature" in pipe.settings:
        gains *= kelvin_to_gains(value("color_temperature"))
    if "white_balance" in pipe.settings:
        gains *= np.asarray(pipe.settings["white_balance"], dtype=np.float32)
    if value("vignetting") > 0 or float(np.abs(gains - 1.0).max()) > 1e-5:
        falloff = 1.0 - np.float32(value("vignetting")) * _radius2(h, w)
        x = x * np.stack([falloff * gains[c] for c in range(3)], axis=-1)
    shot = value("shot_noise") > 0
    if shot or value("gaussian_std") > 0:
        strip = unit_noise((h * w * 3 + pipe.NOISE_SLACK,), np.random.default_rng(pipe.seed))
        if not shot:
            strip *= np.float32(value("gaussian_std"))
            strip += np.float32(0.5)
        window = strip[offset : offset + h * w * 3].reshape(h, w, 3)
        if shot:
            gain, read = np.float32(value("shot_noise")), np.float32(value("gaussian_std") ** 2)
            x = x + np.sqrt(np.maximum(x, 0.0) * gain + read) * window
            x = x + np.float32(0.5)
        else:
            x = x + window
    else:
        x = x + np.float32(0.5)
    if value("dead_pixels") > 0:
        index, stuck = dead_pixel_mask(h, w, value("dead_pixels"), pipe.seed)
        x.reshape(-1, 3)[index] = stuck[:, None]
    return pipe._lut.take(x.astype(np.intp), mode="clip")


@pytest.mark.parametrize("trial", range(12))
def test_kernel_matches_numpy_reference_on_random_settings(trial):
    """Random strengths and subsets of ops, random sizes: the compiled pass equals the per-op numpy version."""
    rng = np.random.default_rng(100 + trial)
    ranges = {
        "blur_sigma": (0.0, 1.2), "vignetting": (0.0, 0.5), "shot_noise": (0.0, 1.0), "gaussian_std": (0.0, 8.0),
        "dead_pixels": (0.0, 0.01), "color_temperature": (3000.0, 10000.0), "gamma": (0.7, 1.4),
    }  # fmt: skip
    settings = {k: (float(rng.uniform(*v)),) for k, v in ranges.items() if rng.random() < 0.7}
    if rng.random() < 0.5:
        settings["white_balance"] = tuple(float(g) for g in rng.uniform(0.8, 1.2, 3))
    shape = (int(rng.integers(3, 70)), int(rng.integers(3, 70)))
    img = image(shape)
    pipe = SensorPipeline(settings, seed=int(rng.integers(1000)))
    offsets = np.random.default_rng(9).integers(pipe.NOISE_SLACK, size=pipe.OFFSET_BATCH).tolist()
    for _ in range(3):
        offset = offsets[-1]
        out = pipe(img, np.random.default_rng(9))
        expected = img if not settings else numpy_reference(img, pipe, offset)
        assert np.array_equal(out, expected), settings
        offsets.pop()


@pytest.mark.parametrize("quality", [10, 40, 90])
def test_jpeg_stays_within_a_few_levels_of_pillow(quality):
    """The codec change kept JPEG's look: Pillow's round trip (the former codec) differs by a few levels at most."""
    import io

    from PIL import Image

    from simreal.randomization.sensor import jpeg

    img = image((64, 64))
    buffer = io.BytesIO()
    Image.fromarray(img).save(buffer, format="JPEG", quality=quality)
    pillow = np.asarray(Image.open(buffer).convert("RGB")).astype(int)
    ours = jpeg(img, quality).astype(int)
    error_ours, error_pillow = np.abs(ours - img).mean(), np.abs(pillow - img).mean()
    assert error_ours > 5.0  # lossy: the round trip is not the identity
    assert abs(error_ours - error_pillow) < 0.02 * error_pillow  # the same compression strength
    assert np.abs(ours - pillow).mean() < 0.2 * error_pillow  # and nearly the same pixels
    assert np.abs(ours - pillow).max() <= 16


@pytest.mark.parametrize("sigma", [0.2, 0.45, 0.66, 0.9], ids=["3taps", "5taps", "5taps_edge", "7taps"])
@pytest.mark.parametrize(
    "ops",
    [
        {"shot_noise": (0.4,), "gaussian_std": (2.0,), "vignetting": (0.2,), "gamma": (0.9,), "dead_pixels": (0.02,)},
        {"gaussian_std": (5.0,), "white_balance": (1.1, 0.9, 1.05)},
        {},  # blur alone: no gain, no noise, the identity gamma table
    ],
    ids=["shot_gain_gamma", "gauss_gain", "blur_only"],
)
@pytest.mark.parametrize("shape", [(64, 64), (5, 2), (1, 1)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_kernel_blur_paths_match_numpy_reference(sigma, ops, shape):
    """The kernel's 3- and 5-tap loops and its general loop, with and without gain, noise and gamma, on images
    narrower and shorter than the blur: the compiled pass equals the per-op numpy version."""
    settings = {"blur_sigma": (sigma,), **ops}
    img = image(shape)
    pipe = SensorPipeline(settings, seed=3)
    offset = np.random.default_rng(9).integers(pipe.NOISE_SLACK, size=pipe.OFFSET_BATCH).tolist()[-1]
    out = pipe(img, np.random.default_rng(9))
    assert np.array_equal(out, numpy_reference(img, pipe, offset)), settings
