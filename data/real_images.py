"""Real camera images -> the simulator's frame format: uint8 ``(S, S, 3)`` RGB, ``S = image_size``.

Sources: a folder of PNG/JPEG/BMP files (sorted by name, not recursive) or a video file read with imageio.
Conversion: grayscale is replicated to 3 channels; RGBA is composited over black (colour x alpha); 16-bit images
keep their 8 most significant bits; float images are taken as [0, 1]. Resize: centre crop to the largest square
(no distortion, like the square sim cameras), then Pillow's antialiased Lanczos filter to ``image_size``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import imageio.v3 as iio
import numpy as np
from PIL import Image

from simreal.envs.config import IMAGE_SIZE_RANGE, check_int_range

__all__ = [
    "IMAGE_EXTENSIONS",
    "VIDEO_EXTENSIONS",
    "iter_real_images",
    "load_real_images",
    "resize_square",
    "to_rgb_uint8",
]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp")
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".gif")


def to_rgb_uint8(image: np.ndarray) -> np.ndarray:
    """Any 2D/3D image array (gray, gray+alpha, RGB, RGBA; uint8/uint16/bool/float) -> uint8 (H, W, 3)."""
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[-1] not in (2, 3, 4)):
        raise ValueError(f"image must be (H, W), (H, W, 1|2|3|4), got shape {array.shape}")
    if array.dtype == np.bool_:
        array = array.astype(np.uint8) * 255
    elif array.dtype == np.uint16:
        array = (array >> 8).astype(np.uint8)
    elif np.issubdtype(array.dtype, np.floating):
        array = np.round(np.clip(array, 0.0, 1.0) * 255.0).astype(np.uint8)
    elif array.dtype != np.uint8:
        raise ValueError(f"image dtype must be uint8, uint16, bool or float, got {array.dtype}")
    if array.ndim == 2:
        return np.repeat(array[..., None], 3, axis=-1)
    if array.shape[-1] in (2, 4):  # colour (or gray) with alpha: composite over black
        colour, alpha = array[..., :-1].astype(np.uint16), array[..., -1:].astype(np.uint16)
        array = ((colour * alpha + 127) // 255).astype(np.uint8)
        if array.shape[-1] == 1:
            array = np.repeat(array, 3, axis=-1)
    return np.ascontiguousarray(array)


def resize_square(image: np.ndarray, image_size: int) -> np.ndarray:
    """Centre-crop a uint8 (H, W, 3) image to a square and resize it (Lanczos) to (image_size, image_size, 3)."""
    check_int_range("image_size", image_size, *IMAGE_SIZE_RANGE)
    height, width = image.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    crop = Image.fromarray(image[top : top + side, left : left + side])
    if side != image_size:
        crop = crop.resize((image_size, image_size), Image.Resampling.LANCZOS)
    return np.asarray(crop, dtype=np.uint8)


def _image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)


def iter_real_images(path: str | os.PathLike[str], image_size: int) -> Iterator[np.ndarray]:
    """Frames of a folder of images or of a video, converted and resized (see the module docstring)."""
    check_int_range("image_size", image_size, *IMAGE_SIZE_RANGE)
    source = Path(path)
    if source.is_dir():
        files = _image_files(source)
        if not files:
            raise ValueError(f"path: {source} holds no images with extension {list(IMAGE_EXTENSIONS)}")
        for file in files:
            try:
                image = iio.imread(file)
            except Exception as error:  # imageio raises many types for unreadable files
                raise ValueError(f"{file}: unreadable image ({error})") from error
            yield resize_square(to_rgb_uint8(image), image_size)
    elif source.is_file() and source.suffix.lower() in VIDEO_EXTENSIONS:
        try:
            for image in iio.imiter(source):
                yield resize_square(to_rgb_uint8(image), image_size)
        except (OSError, RuntimeError) as error:
            raise ValueError(f"{source}: unreadable video ({error})") from error
    elif source.is_file():
        raise ValueError(f"path: {source} is neither a folder nor a video with extension {list(VIDEO_EXTENSIONS)}")
    else:
        raise ValueError(f"path: {source} does not exist")


def load_real_images(path: str | os.PathLike[str], image_size: int, n: int | None = None, seed: int = 0) -> np.ndarray:
    """All frames (``n=None``) or ``n`` drawn without replacement (seeded, kept in source order): uint8 (N, S, S, 3)."""
    frames = list(iter_real_images(path, image_size))
    if n is None:
        return np.stack(frames)
    check_int_range("n", n, 1, 10**9)
    if n > len(frames):
        raise ValueError(f"n: {path} holds {len(frames)} frames, fewer than the {n} requested")
    chosen = np.sort(np.random.default_rng(seed).choice(len(frames), size=n, replace=False))
    return np.stack([frames[i] for i in chosen])
