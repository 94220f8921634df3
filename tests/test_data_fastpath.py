"""The labelled-frame fast path gives the same labels as the per-pass reference: one depth + segmentation pass,
vectorised object labels, no renders for frames that are not kept, binary labels, and format-1 shards still read."""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import gymnasium as gym
import mujoco
import numpy as np
import pytest

import simreal  # noqa: F401  (registers the ids)
from simreal.data.episodes import RolloutSpec, make_data_env, stream_frames
from simreal.data.labels import (
    box_keypoints,
    capture_frame,
    flat_labels,
    geom_segmentation,
    label_frame,
    label_geoms,
    mask_bbox,
)
from simreal.data.reader import ShardDataset
from simreal.data.shards import decode_sample, encode_frame, pack_labels, unpack_labels
from simreal.envs.camera import camera_model

FIXTURE_V1 = Path(__file__).parent / "fixtures" / "dataset_v1"


@pytest.fixture(scope="module")
def push_env():
    env = gym.make("simreal/Push-v0", domain="train", obs_mode="pixels", image_size=48)
    yield env
    env.close()


def reference_objects(model, data, camera, segmentation, geoms) -> dict:
    """Per-geom labels the way format 1 computed them (one geom at a time)."""
    labels = {}
    for geom in geoms:
        points = box_keypoints(model, data, geom)
        pixels, depth = camera.project(points)
        quaternion = np.zeros(4)
        mujoco.mju_mat2Quat(quaternion, data.geom_xmat[geom])
        mask = segmentation == geom
        labels[model.geom(geom).name] = {
            "geom_id": int(geom),
            "position": points[0],
            "quaternion_wxyz": quaternion,
            "keypoints_2d": pixels,
            "keypoints_depth": depth,
            "bbox": mask_bbox(mask),
            "bbox_projected": [*pixels[1:].min(axis=0), *pixels[1:].max(axis=0)],
            "visible_pixels": int(mask.sum()),
        }
    return labels


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("camera", ["front", "top"])
def test_one_pass_labels_equal_the_per_pass_reference(push_env, seed, camera):
    _, info = push_env.reset(seed=seed)
    for _ in range(3):
        push_env.step(push_env.action_space.sample())
    base = push_env.unwrapped
    frame = label_frame(push_env, camera, capture_frame(push_env, camera, 48, rgb=None, info=info, seed=seed, step=3))
    depth = base.render_frame(camera, "depth", 48)
    segmentation = geom_segmentation(base.render_frame(camera, "segmentation", 48))
    np.testing.assert_array_equal(frame.depth, depth)  # bit-identical to the separate depth pass
    np.testing.assert_array_equal(frame.segmentation, segmentation)
    assert frame.depth.dtype == np.float32 and frame.segmentation.dtype == np.int32
    cam = camera_model(base.model, base.data, camera, 48, 48)
    expected = reference_objects(base.model, base.data, cam, segmentation, label_geoms(base.model))
    nested = frame.nested()
    assert list(nested["objects"]) == list(expected)
    assert any(e["bbox"] is None for e in expected.values()) or all(e["visible_pixels"] for e in expected.values())
    for name, want in expected.items():
        got = nested["objects"][name]
        assert got["geom_id"] == want["geom_id"] and got["visible_pixels"] == want["visible_pixels"]
        assert got["bbox"] == want["bbox"]
        for key in ("position", "quaternion_wxyz", "keypoints_2d", "keypoints_depth", "bbox_projected"):
            np.testing.assert_allclose(got[key], want[key], rtol=0, atol=1e-9)
    np.testing.assert_allclose(nested["camera"]["world_to_camera"], cam.world_to_camera, atol=0)
    np.testing.assert_allclose(nested["task_state"]["block_position"], base.task_state()["block_position"])


def test_hidden_object_has_no_box(push_env):
    push_env.reset(seed=0)
    base = push_env.unwrapped
    frame = label_frame(push_env, "front", capture_frame(push_env, "front", 48))
    hidden = np.full_like(frame.segmentation, -1)  # nothing visible
    cam = camera_model(base.model, base.data, "front", 48, 48)
    from simreal.data.labels import object_arrays

    arrays = object_arrays(base.model, base.data, cam, hidden, label_geoms(base.model))
    assert (arrays["objects.bbox"] == -1).all() and (arrays["objects.visible_pixels"] == 0).all()


def test_render_observations_off_skips_frames_and_keeps_the_state(push_env):
    base = push_env.unwrapped
    push_env.reset(seed=3)
    action = np.zeros(push_env.action_space.shape, dtype=np.float32)
    renderer = base._renderer(48, "fast")
    calls = []
    original = renderer.render
    renderer.render = lambda *a, **k: calls.append(1) or original(*a, **k)
    try:
        base.render_observations = False
        obs, _, _, _, info = push_env.step(action)
        assert obs is None and calls == [] and "spec_hash" in info
        base.render_observations = True
        obs, *_ = push_env.step(action)
        assert obs.shape == (48, 48, 3) and calls == [1]
    finally:
        renderer.render = original
        base.render_observations = True


def test_rollouts_render_only_kept_frames_and_stay_deterministic():
    spec = RolloutSpec("simreal/Push-v0", "train", image_size=32, frames_per_episode=3, stride=4)
    env = make_data_env(spec)
    try:
        calls = []
        base = env.unwrapped
        original = base.render_frame
        base.render_frame = lambda *a, **k: calls.append(a) or original(*a, **k)
        frames = list(itertools.islice(stream_frames(env, spec, np.random.SeedSequence(1)), 6))
        assert [f.step for f in frames] == [0, 4, 8, 0, 4, 8]
        assert len(calls) == 6  # one render per kept frame, none for the 16 other steps
        assert base.render_observations
        base.render_frame = original
        again = list(itertools.islice(stream_frames(env, spec, np.random.SeedSequence(1)), 6))
        for a, b in zip(frames, again, strict=True):
            np.testing.assert_array_equal(a.rgb, b.rgb)
    finally:
        env.close()


def test_binary_labels_round_trip(push_env):
    push_env.reset(seed=5)
    frame = label_frame(push_env, "front", capture_frame(push_env, "front", 48, seed=5, step=0))
    members = encode_frame(frame)
    assert list(members) == ["rgb.npy", "depth.npy", "seg.npy", "labels.npy", "json"]
    assert len(members["json"]) < 4096 + len(str(frame.meta["randomization"]))
    sample = decode_sample(members)
    np.testing.assert_array_equal(sample["rgb"], frame.rgb)
    np.testing.assert_array_equal(sample["depth"], frame.depth)
    np.testing.assert_array_equal(sample["segmentation"], frame.segmentation)
    assert sample["labels"].keys() == frame.labels.keys()
    for name, value in frame.labels.items():
        np.testing.assert_array_equal(sample["labels"][name], value)  # exact: no rounding
        assert sample["labels"][name].dtype == value.dtype
    assert sample["meta"] == frame.nested()
    labels = unpack_labels(pack_labels({"a": np.arange(3), "b": np.eye(2, dtype=np.float32), "c": np.float64(2)}))
    assert labels["c"] == 2.0 and labels["b"].dtype == np.float32 and labels["a"].tolist() == [0, 1, 2]


def test_format_1_shards_are_still_read(tmp_path):
    """A dataset written by format 1 (PNG images, JSON labels rounded to 1e-6) reads with the same layout."""
    root = tmp_path / "v1"
    shutil.copytree(FIXTURE_V1, root)
    dataset = ShardDataset(root)
    assert dataset.manifest["format"] == "simreal-wds/1" and len(dataset) == 3
    item = dataset[1]
    assert item["rgb"].shape == (16, 16, 3) and item["rgb"].dtype == np.uint8
    assert item["depth"].dtype == np.float32 and item["segmentation"].dtype == np.int32
    meta = item["meta"]
    assert meta["env_id"] == "simreal/Push-v0" and meta["step"] == 3 and meta["camera"]["name"] == "front"
    block = meta["objects"]["block"]
    assert block["visible_pixels"] == int((item["segmentation"] == block["geom_id"]).sum())
    labels = item["labels"]
    row = list(meta["objects"]).index("block")
    np.testing.assert_array_equal(labels["objects.position"][row], block["position"])
    np.testing.assert_array_equal(labels["task_state.block_position"], meta["task_state"]["block_position"])
    assert labels["objects.keypoints_2d"].shape == (len(meta["objects"]), 9, 2)
    back_meta, back_labels = flat_labels(meta)
    assert back_meta["objects"] == list(meta["objects"]) and back_labels.keys() == labels.keys()


def reference_label_geoms(model, objects=None) -> list[int]:
    """Format 1's geom selection, one geom at a time."""
    import fnmatch

    chosen = []
    for geom in range(model.ngeom):
        name = model.geom(geom).name
        if not name or int(model.geom_type[geom]) == mujoco.mjtGeom.mjGEOM_PLANE:
            continue
        material = int(model.geom_matid[geom])
        alpha = model.mat_rgba[material, 3] if material >= 0 else model.geom_rgba[geom, 3]
        visible = bool(alpha > 0) and int(model.geom_group[geom]) <= 2
        matches = objects is not None and any(fnmatch.fnmatchcase(name, p) for p in objects)
        if (objects is None and visible) or matches:
            chosen.append(geom)
    return chosen


@pytest.mark.parametrize("env_id", ["simreal/Push-v0", "simreal/LaneFollow-v0"])
def test_vectorised_geom_selection_matches_the_loop(env_id):
    env = gym.make(env_id, domain="train", obs_mode="state")
    try:
        for seed in range(3):
            env.reset(seed=seed)  # randomized materials and distractors change what is visible
            model = env.unwrapped.model
            assert label_geoms(model) == reference_label_geoms(model)
            assert label_geoms(model, ["b*", "*cone*"]) == reference_label_geoms(model, ["b*", "*cone*"])
    finally:
        env.close()
