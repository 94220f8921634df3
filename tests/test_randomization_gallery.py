"""Gallery writes a grid of randomized first frames."""

import imageio.v3 as iio
import numpy as np
import pytest

import simreal  # noqa: F401
from simreal.randomization.gallery import gallery, grid


def test_grid_layout():
    imgs = [np.full((4, 5, 3), i, dtype=np.uint8) for i in range(5)]
    out = grid(imgs, pad=1)
    assert out.shape == (2 * 5 + 1, 3 * 6 + 1, 3)
    assert out[1, 1, 0] == 0
    assert out[1 + 5, 1 + 6, 0] == 4
    with pytest.raises(ValueError, match="images"):
        grid([])


def test_gallery_writes_png_and_is_seeded(tmp_path):
    a = gallery("simreal/Reach-v0", "visual", n=3, out_png=tmp_path / "a.png", seed=5, image_size=32)
    b = gallery("simreal/Reach-v0", "visual", n=3, out_png=tmp_path / "b.png", seed=5, image_size=32)
    assert np.array_equal(a, b)
    assert np.array_equal(iio.imread(tmp_path / "a.png"), a)
    tiles = [a[2 + r * 34 : 2 + r * 34 + 32, 2 + c * 34 : 2 + c * 34 + 32] for r, c in ((0, 0), (0, 1))]
    assert not np.array_equal(*tiles)
    with pytest.raises(ValueError, match="n"):
        gallery("simreal/Reach-v0", n=0, out_png=tmp_path / "c.png")
