"""The calibrated view: a driving frame re-projected from its camera mount to the canonical mount."""

from __future__ import annotations

import gymnasium as gym
import mujoco
import numpy as np
import pytest

import simreal  # noqa: F401  (registers the ids)
from simreal.transfer.view import CalibratedView, remap, view_map

ENV_ID = "simreal/LaneFollow-v0"


def _lane_env(**kwargs) -> gym.Env:
    return gym.make(ENV_ID, obs_mode="pixels", image_size=64, **kwargs)


def test_the_same_mount_maps_every_pixel_onto_itself() -> None:
    env = _lane_env()
    env.reset(seed=0)
    camera = env.unwrapped.vehicle_camera()
    coordinates = view_map(camera, camera)
    centres = np.stack(np.meshgrid(np.arange(64) + 0.5, np.arange(64) + 0.5), axis=-1)
    np.testing.assert_allclose(coordinates, centres, atol=1e-6)
    frame = env.unwrapped.render_frame("onboard", "rgb", 64)
    np.testing.assert_array_equal(remap(frame, coordinates), frame)
    env.close()


def test_remap_samples_bilinearly_and_clamps_at_the_edge() -> None:
    image = np.array([[[0], [100]], [[50], [250]]], dtype=np.uint8)  # 2x2, one channel
    at = np.array([[[1.0, 1.0], [-5.0, 0.5]]])  # the middle of the four pixels; far left of pixel [0, 0]
    np.testing.assert_array_equal(remap(image, at)[..., 0], [[100, 0]])  # (0 + 100 + 50 + 250) / 4, clamped


def _moved_mount(env: gym.Env) -> None:
    """Re-mount the onboard camera as a lab might: 4 cm aside, 3 degrees of roll and yaw, another field of view."""
    model = env.unwrapped.model
    camera = model.camera("onboard").id
    model.cam_pos[camera] += (0.0, 0.04, -0.02)
    turn = np.empty(4)
    mujoco.mju_euler2Quat(turn, np.deg2rad([3.0, 0.0, 3.0]), "xyz")
    mujoco.mju_mulQuat(model.cam_quat[camera], model.cam_quat[camera].copy(), turn)
    model.cam_fovy[camera] -= 6.0
    mujoco.mj_forward(model, env.unwrapped.data)  # the camera's pose in the world follows the mount


def test_a_moved_camera_is_seen_from_the_canonical_mount_on_the_road() -> None:
    """The same state rendered through a moved mount and re-projected matches the canonical mount's render on the
    road (the plane the map is exact for) far better than the moved frame does."""
    env = _lane_env()
    env.reset(seed=2)
    canonical_camera = env.unwrapped.vehicle_camera()
    canonical = env.unwrapped.render_frame("onboard", "rgb", 64).astype(float)
    _moved_mount(env)
    moved = env.unwrapped.render_frame("onboard", "rgb", 64)
    warped = remap(moved, view_map(env.unwrapped.vehicle_camera(), canonical_camera))
    road = slice(36, 64)  # rows below the horizon
    before = np.abs(moved[road].astype(float) - canonical[road]).mean()
    after = np.abs(warped[road].astype(float) - canonical[road]).mean()
    assert after < 0.4 * before, (before, after)
    env.close()


def test_wrapper_follows_the_mount_of_each_episode() -> None:
    canonical = _lane_env(domain="canonical")
    wrapped = CalibratedView(_lane_env(domain="canonical"))
    obs, _ = canonical.reset(seed=5)
    np.testing.assert_array_equal(wrapped.reset(seed=5)[0], obs)  # the canonical mount: the frame as it is
    real = CalibratedView(_lane_env(domain="real:0"))
    raw = _lane_env(domain="real:0")
    first, _ = real.reset(seed=1)
    raw_first, _ = raw.reset(seed=1)
    assert np.abs(first.astype(int) - raw_first).mean() > 2.0  # a moved mount: re-projected
    mapped = real._sampler.coordinates
    real.reset(seed=2)
    assert not np.array_equal(real._sampler.coordinates, mapped)  # another episode, another mount, another map
    for env in (canonical, wrapped, real, raw):
        env.close()


def test_only_a_driving_camera_image_can_be_re_projected() -> None:
    with pytest.raises(ValueError, match="CalibratedView needs a driving env"):
        CalibratedView(gym.make("simreal/Reach-v0", obs_mode="pixels", image_size=32))
    with pytest.raises(ValueError, match="CalibratedView needs one camera image, got obs_mode 'state'"):
        CalibratedView(gym.make(ENV_ID))


def test_evaluation_puts_the_calibrated_view_in_front_of_the_policy() -> None:
    from simreal.agents.episode_queue import SeedQueue
    from simreal.agents.evaluate import DomainTask, _Raw

    raw = _lane_env(domain="real:1")
    task = DomainTask("nowhere", "real:1", 1, 0, calibrated_view=True)
    env = _Raw(task, ENV_ID, "pixels", SeedQueue([7], 1))(raw)
    assert isinstance(env.env, CalibratedView) and env.env.env is raw  # outside any translator, inside the seeds
    seen, _ = env.reset()
    plain = _lane_env(domain="real:1")
    obs, _ = plain.reset(seed=7)
    np.testing.assert_array_equal(seen, remap(obs, view_map(plain.unwrapped.vehicle_camera(), env.env._canonical)))
    for e in (env, plain):
        e.close()
