"""The one-pass depth + segmentation of ``SceneRenderer`` equals the separate depth and segmentation renders bit for
bit (perspective and orthographic cameras), and the ID-colour decoding gives the same ids on either of its paths."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest

from simreal.envs.rendering import SceneRenderer, segment_geoms

SCENE = """
<mujoco>
  <worldbody>
    <light pos="0 0 3"/>
    <geom name="floor" type="plane" size="2 2 0.1" rgba="0.5 0.5 0.5 1"/>
    <geom name="box" type="box" pos="0.1 0 0.2" size="0.1 0.15 0.2" rgba="1 0 0 1"/>
    <geom name="ball" type="sphere" pos="-0.3 0.2 0.1" size="0.1" rgba="0 1 0 1"/>
    <site name="marker" pos="0.3 -0.3 0.05" size="0.05"/>
    <camera name="persp" pos="0.9 -0.9 0.8" xyaxes="1 1 0 -0.4 0.4 0.8"/>
    <camera name="ortho" pos="0.9 -0.9 0.8" xyaxes="1 1 0 -0.4 0.4 0.8" projection="orthographic" fovy="1.5"/>
  </worldbody>
</mujoco>
"""


@pytest.fixture(scope="module")
def scene():
    model = mujoco.MjModel.from_xml_string(SCENE)
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    renderer = SceneRenderer(model, 40, 32)
    yield model, data, renderer
    renderer.close()


def per_pixel_geoms(raw: np.ndarray) -> np.ndarray:
    return np.where(raw[..., 1] == int(mujoco.mjtObj.mjOBJ_GEOM), raw[..., 0], -1).astype(np.int32)


@pytest.mark.parametrize("camera", ["persp", "ortho"])
def test_one_pass_equals_the_separate_renders(scene, camera: str) -> None:
    model, data, renderer = scene
    depth, geoms = renderer.render_depth_segmentation(data, camera)
    assert renderer._renderer.scene.camera[0].orthographic == (camera == "ortho")  # both depth conversions run
    np.testing.assert_array_equal(depth, renderer.render(data, camera, "depth"))
    np.testing.assert_array_equal(geoms, per_pixel_geoms(renderer.render(data, camera, "segmentation")))
    assert depth.dtype == np.float32 and geoms.dtype == np.int32 and depth.shape == geoms.shape == (32, 40)
    assert depth.flags.c_contiguous and geoms.flags.c_contiguous  # the shards serialise C-ordered bytes
    assert {-1, model.geom("box").id, model.geom("ball").id} <= set(np.unique(geoms).tolist())


def reference_decode(rgb: np.ndarray, geom_of_segid: np.ndarray) -> np.ndarray:
    colour = rgb[..., 0].astype(np.int64) | rgb[..., 1].astype(np.int64) << 8 | rgb[..., 2].astype(np.int64) << 16
    return np.flipud(geom_of_segid[colour]).astype(np.int32)


def test_segment_geoms_red_byte_and_wide_colours_agree_with_the_full_decode() -> None:
    rng = np.random.default_rng(0)
    small = rng.integers(0, 30, size=(6, 5, 3)).astype(np.uint8)
    small[..., 1:] = 0  # < 256 ids: the red byte path
    table = np.arange(-1, 29, dtype=np.int32)
    np.testing.assert_array_equal(segment_geoms(small, table), reference_decode(small, table))
    wide = small.copy()
    wide[0, 0] = (4, 1, 0)  # colour 260: needs the green byte
    big_table = np.arange(-1, 299, dtype=np.int32)
    out = segment_geoms(wide, big_table)
    np.testing.assert_array_equal(out, reference_decode(wide, big_table))
    assert out[-1, 0] == 259 and out.flags.c_contiguous and out.dtype == np.int32
