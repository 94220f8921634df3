"""Image grid of randomized observations: ``gallery(env_id, randomization, n, out_png, seed)``.

Also runnable: ``python -m simreal.randomization.gallery simreal/Reach-v0 --randomization full -n 16
--out grid.png`` (the ``simreal gallery`` CLI entry calls :func:`main`).
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import imageio.v3 as iio
import numpy as np

from simreal.atomic import atomic_write
from simreal.randomization.presets import DOMAINS


def grid(images: Sequence[np.ndarray], cols: int | None = None, pad: int = 2) -> np.ndarray:
    """Tile equally sized uint8 (H, W, 3) images into one image with ``pad`` white pixels between them."""
    if not images:
        raise ValueError("images: need at least one image")
    h, w, c = images[0].shape
    cols = cols or math.ceil(math.sqrt(len(images)))
    rows = math.ceil(len(images) / cols)
    out = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, c), 255, dtype=np.uint8)
    for i, img in enumerate(images):
        r, k = divmod(i, cols)
        out[pad + r * (h + pad) : pad + r * (h + pad) + h, pad + k * (w + pad) : pad + k * (w + pad) + w] = img
    return out


def gallery(
    env_id: str,
    randomization: Any = "full",
    n: int = 16,
    out_png: str | os.PathLike[str] = "grid.png",
    seed: int = 0,
    domain: str | None = None,
    image_size: int = 96,
    camera: str | None = None,
) -> np.ndarray:
    """Reset ``env_id`` with seeds ``seed .. seed+n-1`` under ``randomization`` (preset name, YAML path or spec;
    or a named ``domain``), write the first-frame grid to ``out_png`` atomically and return it."""
    if n < 1:
        raise ValueError(f"n: must be >= 1, got {n}")
    kwargs: dict[str, Any] = {"obs_mode": "pixels", "image_size": image_size}
    if camera is not None:
        kwargs["cameras"] = (camera,)
    if domain is not None:
        kwargs["domain"] = domain
    else:
        kwargs["randomization"] = randomization
    env = gym.make(env_id, **kwargs)
    try:
        frames = [np.asarray(env.reset(seed=seed + i)[0]) for i in range(n)]
    finally:
        env.close()
    image = grid(frames)
    atomic_write(out_png, lambda tmp: iio.imwrite(tmp, image, extension=".png"))
    return image


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write an image grid of randomized observations.")
    parser.add_argument("env_id")
    parser.add_argument("--randomization", default="full", help="preset name, YAML path (default: full)")
    parser.add_argument("--domain", default=None, choices=list(DOMAINS))
    parser.add_argument("-n", type=int, default=16)
    parser.add_argument("--out", default="grid.png")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--image-size", type=int, default=96)
    args = parser.parse_args(argv)
    import simreal  # noqa: F401  (registers the ids)

    gallery(args.env_id, args.randomization, args.n, args.out, args.seed, args.domain, args.image_size)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
