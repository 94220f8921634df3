"""Labels agree with the simulator: projection lands on the object's mask and box, depth matches ray casts."""

from __future__ import annotations

import gymnasium as gym
import mujoco
import numpy as np
import pytest

import simreal  # noqa: F401  (registers the ids)
from simreal.data.labels import _visible_boxes, capture_frame, label_frame, mask_bbox
from simreal.envs.camera import camera_model, intrinsics_matrix


def test_intrinsics_from_fovy() -> None:
    k = intrinsics_matrix(90.0, 64, 64)
    np.testing.assert_allclose(k, [[32.0, 0.0, 32.0], [0.0, 32.0, 32.0], [0.0, 0.0, 1.0]], atol=1e-12)
    with pytest.raises(ValueError, match="fovy_deg"):
        intrinsics_matrix(0.0, 64, 64)
    with pytest.raises(ValueError, match="width and height"):
        intrinsics_matrix(45.0, 0, 64)


def test_mask_bbox() -> None:
    mask = np.zeros((8, 8), dtype=bool)
    assert mask_bbox(mask) is None
    mask[2:5, 3] = True
    assert mask_bbox(mask) == [3, 2, 4, 5]


@pytest.mark.parametrize("shape", [(16, 16), (7, 12), (12, 5), (1, 1)])
def test_visible_boxes_equal_per_mask_boxes(shape) -> None:
    """The one-pass boxes and pixel counts (bincounts) equal each geom's own mask_bbox and pixel sum."""
    rng = np.random.default_rng(sum(shape))
    ngeom = 9
    segmentation = rng.integers(-1, 6, size=shape).astype(np.int32)  # geoms 6..8 absent
    segmentation[rng.random(shape) < 0.7] = -1
    ids = np.array([0, 3, 5, 6, 8, 3], dtype=np.int64)  # absent and repeated ids too
    bbox, counts = _visible_boxes(segmentation, ids, ngeom)
    assert bbox.dtype == np.int32 and counts.dtype == np.int64
    for row, geom in enumerate(ids):
        mask = segmentation == geom
        assert counts[row] == mask.sum()
        assert bbox[row].tolist() == (mask_bbox(mask) or [-1, -1, -1, -1])


@pytest.fixture(scope="module")
def push_env():
    env = gym.make("simreal/Push-v0", domain="train", obs_mode="pixels", image_size=64)
    yield env
    env.close()


def test_project_unproject_round_trip(push_env) -> None:
    push_env.reset(seed=1)
    base = push_env.unwrapped
    cam = camera_model(base.model, base.data, "front", 64, 64)
    points = np.array([[0.0, 0.0, 0.0], [0.1, -0.1, 0.05], [-0.2, 0.15, 0.3]])
    pixels, depth = cam.project(points)
    np.testing.assert_allclose(cam.unproject(pixels, depth), points, atol=1e-9)
    assert np.all(depth > 0)
    with pytest.raises(ValueError, match="camera"):
        camera_model(base.model, base.data, "nope", 64, 64)


@pytest.mark.parametrize("camera", ["front", "top", "side"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_block_labels_agree_with_simulator(push_env, camera: str, seed: int) -> None:
    obs, info = push_env.reset(seed=seed)
    frame = label_frame(push_env, camera, capture_frame(push_env, camera, 64, rgb=obs, info=info, seed=seed, step=0))
    base = push_env.unwrapped
    block = frame.nested()["objects"]["block"]
    np.testing.assert_allclose(block["position"], base.task_state()["block_position"], atol=1e-9)
    u, v = block["keypoints_2d"][0]
    row, col = int(v), int(u)
    if frame.segmentation[row, col] != block["geom_id"]:
        pytest.skip(f"block centre occluded from {camera} at seed {seed}")  # e.g. under the gripper in 'top'
    x0, y0, x1, y1 = block["bbox"]
    assert x0 <= u <= x1 and y0 <= v <= y1
    bx0, by0, bx1, by1 = block["bbox_projected"]
    assert bx0 <= u <= bx1 and by0 <= v <= by1
    # Depth at the centre pixel equals the ray-cast distance to the first surface along that pixel's ray.
    cam = camera_model(base.model, base.data, camera, 64, 64)
    ray = cam.pixel_rays(np.array([[col + 0.5, row + 0.5]]))[0]
    geom = np.array([-1], dtype=np.int32)
    distance = mujoco.mj_ray(base.model, base.data, cam.position, ray / np.linalg.norm(ray), None, 1, -1, geom)
    assert geom[0] == block["geom_id"]
    assert abs(frame.depth[row, col] - distance / np.linalg.norm(ray)) < 0.01
    # ... and lies on the block: between the front of its bounding sphere and its centre.
    centre_depth = block["keypoints_depth"][0]
    assert centre_depth - np.sqrt(3) * 0.02 - 0.01 <= frame.depth[row, col] <= centre_depth + 0.01


def test_frame_contents(push_env) -> None:
    obs, info = push_env.reset(seed=4)
    frame = label_frame(push_env, "front", capture_frame(push_env, "front", 64, rgb=obs, info=info, seed=4, step=0))
    assert frame.rgb.dtype == np.uint8 and frame.rgb.shape == (64, 64, 3)
    assert frame.depth.dtype == np.float32 and frame.depth.shape == (64, 64)
    assert frame.segmentation.dtype == np.int32 and frame.segmentation.shape == (64, 64)
    assert np.all(frame.depth > 0.1) and np.all(frame.depth < 100.0)  # background: the far plane
    meta = frame.nested()
    assert meta["spec_hash"] == info["spec_hash"] and meta["seed"] == 4 and meta["env_id"] == "simreal/Push-v0"
    assert meta["randomization"]["spec_hash"] == info["spec_hash"]
    # Segmentation ids are geoms of the model; every labelled visible object has its pixels counted.
    ids = np.unique(frame.segmentation)
    assert ids.min() >= -1 and ids.max() < push_env.unwrapped.model.ngeom
    for label in meta["objects"].values():
        assert label["visible_pixels"] == int(np.sum(frame.segmentation == label["geom_id"]))
    with pytest.raises(ValueError, match="size"):
        label_frame(push_env, "front", capture_frame(push_env, "front", 0))
    with pytest.raises(ValueError, match="rgb"):
        label_frame(push_env, "front", capture_frame(push_env, "front", 32, rgb=obs))


def test_label_geoms_cache_names_per_model_but_read_visibility_every_call() -> None:
    from simreal.data.labels import geom_names, label_geoms

    xml = """<mujoco><asset><material name="m" rgba="1 1 1 1"/></asset><worldbody>
      <geom name="floor" type="plane" size="1 1 1"/><geom name="a" size="0.1"/><geom size="0.1"/>
      <geom name="b" size="0.1" material="m"/><geom name="c" size="0.1" group="3"/></worldbody></mujoco>"""
    model = mujoco.MjModel.from_xml_string(xml)
    assert label_geoms(model) == [1, 3]  # named, not a plane, visible (alpha > 0, group <= 2)
    model.geom_rgba[1, 3] = 0.0  # hidden by its own alpha
    model.mat_rgba[0, 3] = 0.0  # hidden by its material's alpha
    assert label_geoms(model) == []
    model.geom_rgba[1, 3], model.mat_rgba[0, 3] = 1.0, 1.0
    assert label_geoms(model) == [1, 3]
    assert label_geoms(model, ["c", "fl*"]) == [4]  # patterns pick any named non-plane geom, hidden or not
    other = mujoco.MjModel.from_xml_string(xml.replace('name="a"', 'name="z"'))
    assert geom_names(other)[1] == "z" and label_geoms(other, ["z"]) == [1] and label_geoms(model, ["z"]) == []
