"""Pure core on a tiny MJCF model: sample determinism and ranges, apply/restore, textures, sensor ops."""

import json

import mujoco
import numpy as np
import pytest

from simreal.randomization import (
    Defaults,
    Params,
    RandomizationSpec,
    Sampler,
    SensorPipeline,
    SpecError,
    apply,
    restore,
    sample,
)
from simreal.randomization.sensor import kelvin_to_gains, unit_noise
from simreal.randomization.spec import get_at
from simreal.randomization.textures import PATTERNS, generate, hsv_to_rgb, rgb_to_hsv

TINY = """
<mujoco>
  <asset>
    <texture name="tex_floor" type="2d" builtin="checker" width="32" height="32" rgb1="1 0 0" rgb2="0 1 0"/>
    <texture name="tex_skybox" type="skybox" builtin="gradient" width="16" height="16" rgb1="1 1 1" rgb2="0 0 0"/>
    <material name="mat_floor" texture="tex_floor" rgba="0.8 0.6 0.4 1"/>
    <material name="mat_block" rgba="0.2 0.3 0.9 1"/>
  </asset>
  <worldbody>
    <light name="light_main" pos="0 0 3" dir="0 0 -1"/>
    <light name="light_fill" pos="1 0 3" dir="0 0 -1"/>
    <camera name="front" pos="0 -1 1" xyaxes="1 0 0 0 1 1"/>
    <geom name="floor" type="plane" size="1 1 .1" material="mat_floor"/>
    <geom name="distractor_0" type="sphere" size=".02" pos="0 0 -1" rgba="1 1 1 0" contype="0" conaffinity="0"/>
    <geom name="distractor_1" type="sphere" size=".02" pos="0 0 -1" rgba="1 1 1 0" contype="0" conaffinity="0"/>
    <body name="arm_link" pos="0 0 0.2">
      <joint name="arm_j0" type="hinge" damping="0.5" armature="0.01"/>
      <geom name="arm_geom" type="capsule" size=".02 .1" rgba="0.5 0.5 0.5 1"/>
    </body>
    <body name="block" pos="0.2 0 0.05">
      <freejoint name="block_joint"/>
      <geom name="block" type="box" size=".02 .02 .02" material="mat_block" mass="0.1"/>
    </body>
  </worldbody>
  <actuator><position name="act_j0" joint="arm_j0" kp="10"/></actuator>
</mujoco>
"""

U = {"type": "uniform"}


def u(lo, hi):
    return {**U, "low": lo, "high": hi}


FULL = RandomizationSpec.from_dict(
    {
        "name": "tiny_full",
        "visual": {
            "colors": [
                {"names": ["mat_*"], "hue": u(-0.1, 0.1), "value": u(-0.2, 0.2)},
                {
                    "names": ["arm_*"],
                    "target": "geom",
                    "mode": "free",
                    "hue": u(0, 1),
                    "saturation": u(0.5, 1),
                    "value": u(0.5, 1),
                },
            ],
            "textures": [{"names": ["tex_floor"]}],
            "skybox": {"names": ["tex_skybox"], "families": ["gradient", "noise"]},
            "lights": {
                "pos_jitter": u(-0.1, 0.1),
                "dir_jitter": u(-0.1, 0.1),
                "intensity": u(0.5, 1.5),
                "tint": u(0.8, 1),
                "count": {"type": "choice", "options": [1, 2]},
            },
            "camera": {"pos_jitter": u(-0.02, 0.02), "rot_jitter_deg": u(-2, 2), "fovy_jitter": u(-3, 3)},
            "distractors": {"count": {"type": "choice", "options": [0, 1, 2]}},
        },
        "physics": {
            "entries": [
                {"field": "body_mass", "names": ["block"], "dist": u(0.5, 2)},
                {"field": "geom_friction", "names": ["*"], "dist": u(0.5, 1.5), "columns": [0]},
                {"field": "dof_damping", "names": ["arm_*"], "dist": u(0.5, 2)},
                {"field": "dof_armature", "names": ["arm_*"], "dist": u(1.0, 2.0), "mode": "add"},
                {"field": "actuator_kp", "names": ["act_*"], "dist": u(0.8, 1.2)},
                {"field": "opt.timestep", "names": ["*"], "dist": u(0.0018, 0.0022), "mode": "set"},
            ],
            "gravity_tilt_deg": u(0, 2),
        },
        "sensor": {"gaussian_std": u(0, 5), "white_balance": u(0.9, 1.1)},
        "control": {"action_noise": u(0, 0.1)},
    }
)


def model_snapshot(model):
    out = {"opt.timestep": model.opt.timestep, "opt.gravity": model.opt.gravity.copy()}
    for name in dir(model):
        if name.startswith("_"):
            continue
        value = getattr(model, name)
        if isinstance(value, np.ndarray):
            out[name] = value.copy()
    return out


def assert_same_model(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert np.array_equal(a[k], b[k]), k


@pytest.fixture
def model():
    return mujoco.MjModel.from_xml_string(TINY)


def test_same_seed_same_params_different_seed_differs(model):
    a = sample(FULL, model, np.random.default_rng(3))
    b = sample(FULL, model, np.random.default_rng(3))
    c = sample(FULL, model, np.random.default_rng(4))
    assert a == b
    assert a != c
    assert a.spec_hash == FULL.hash()


def test_every_draw_inside_its_declared_range(model):
    sampler = Sampler(FULL, model)
    for seed in range(20):
        params = sampler(np.random.default_rng(seed))
        assert params.draws
        for path, values in params.draws:
            if path.endswith(".families"):
                assert set(values) <= set(get_at(FULL, path))
            else:
                assert get_at(FULL, path).contains(list(values)), path


def test_params_json_round_trip(model):
    params = sample(FULL, model, np.random.default_rng(0))
    assert Params.from_dict(json.loads(json.dumps(params.to_dict()))) == params
    json.dumps(params.summary())


def test_apply_writes_then_restore_returns_pristine(model):
    pristine = model_snapshot(model)
    sampler = Sampler(FULL, model)
    defaults = Defaults.capture(model, sampler.fields, sampler.texture_ids)
    changed = apply(model, defaults, sampler(np.random.default_rng(0)))
    assert changed == sorted(sampler.texture_ids)
    after = model_snapshot(model)
    for field in ("body_mass", "geom_friction", "dof_damping", "mat_rgba", "tex_data", "cam_quat", "light_pos"):
        assert not np.array_equal(after[field], pristine[field]), field
    assert model.opt.timestep != pristine["opt.timestep"]
    assert model.actuator_biasprm[0, 1] == pytest.approx(-model.actuator_gainprm[0, 0])
    assert np.linalg.norm(model.opt.gravity) == pytest.approx(9.81)
    assert np.allclose(np.linalg.norm(model.cam_quat, axis=1), 1.0)
    assert restore(model, defaults) == sorted(sampler.texture_ids)
    assert_same_model(model_snapshot(model), pristine)


def test_apply_rederives_the_constants_mujoco_computes_from_masses(model):
    """A written mass also moves the constants MuJoCo derives from it at compile time (mj_setConst), which the
    contact solver scales softness by: with stale ones a 3x heavier block was launched by a finger pressing on it.
    For a lone free body the translational inverse weight is 1 / mass; restore brings the pristine values back."""
    block = model.body("block").id
    pristine = model.body_invweight0.copy(), model.dof_invweight0.copy(), model.body_subtreemass.copy()
    sampler = Sampler(FULL, model)
    defaults = Defaults.capture(model, sampler.fields, sampler.texture_ids)
    apply(model, defaults, sampler(np.random.default_rng(0)))
    mass = model.body_mass[block]
    assert mass != pytest.approx(0.1)
    assert model.body_subtreemass[block] == pytest.approx(mass)
    assert model.body_invweight0[block, 0] == pytest.approx(1.0 / mass)
    assert model.dof_invweight0[1] == pytest.approx(1.0 / mass)  # the free joint's first translational dof
    restore(model, defaults, scratch=mujoco.MjData(model))
    derived = (model.body_invweight0, model.dof_invweight0, model.body_subtreemass)
    for now, before in zip(derived, pristine, strict=True):
        np.testing.assert_array_equal(now, before)


def test_apply_is_not_cumulative(model):
    sampler = Sampler(FULL, model)
    defaults = Defaults.capture(model, sampler.fields, sampler.texture_ids)
    params = sampler(np.random.default_rng(5))
    apply(model, defaults, params)
    once = model_snapshot(model)
    for seed in range(10):
        apply(model, defaults, sampler(np.random.default_rng(seed)))
    apply(model, defaults, params)
    assert_same_model(model_snapshot(model), once)


def test_scale_mode_uses_pristine_values(model):
    spec = RandomizationSpec.from_dict(
        {"physics": {"entries": [{"field": "body_mass", "names": ["block"], "dist": 2.0}]}}
    )
    sampler = Sampler(spec, model)
    defaults = Defaults.capture(model, sampler.fields, sampler.texture_ids)
    for seed in range(3):
        apply(model, defaults, sampler(np.random.default_rng(seed)))
    assert model.body("block").mass[0] == pytest.approx(0.2)


def test_distractors_count_and_visibility(model):
    spec = RandomizationSpec.from_dict({"visual": {"distractors": {"count": 1, "shapes": ["box"]}}})
    sampler = Sampler(spec, model)
    defaults = Defaults.capture(model, sampler.fields, sampler.texture_ids)
    apply(model, defaults, sampler(np.random.default_rng(0)))
    ids = [model.geom(n).id for n in ("distractor_0", "distractor_1")]
    assert sorted(model.geom_rgba[ids, 3].tolist()) == [0.0, 1.0]
    assert all(model.geom_type[i] == mujoco.mjtGeom.mjGEOM_BOX for i in ids)


def test_unknown_element_raises_with_path(model):
    spec = RandomizationSpec.from_dict(
        {"physics": {"entries": [{"field": "dof_damping", "names": ["arm_*", "wheel_*"], "dist": 1.0}]}}
    )
    with pytest.raises(SpecError, match=r"^physics\.entries\[0\]\.names\[1\]: 'wheel_\*' matches no joint"):
        Sampler(spec, model)
    optional = RandomizationSpec.from_dict(
        {"physics": {"entries": [{"field": "body_mass", "names": ["nope"], "dist": 1.0, "optional": True}]}}
    )
    assert Sampler(optional, model)(np.random.default_rng(0)).fields == ()
    bad_col = RandomizationSpec.from_dict(
        {"physics": {"entries": [{"field": "geom_friction", "names": ["*"], "dist": 1.0, "columns": [3]}]}}
    )
    with pytest.raises(SpecError, match=r"^physics\.entries\[0\]\.columns\[0\]: geom_friction has 3 columns"):
        Sampler(bad_col, model)


def test_image_textures_from_folder(model, tmp_path):
    import imageio.v3 as iio

    for i in range(3):
        iio.imwrite(tmp_path / f"img{i}.png", np.full((10, 20, 3), 80 * i, dtype=np.uint8))
    spec = RandomizationSpec.from_dict(
        {"visual": {"image_textures": [{"names": ["tex_floor"], "folder": str(tmp_path)}]}}
    )
    sampler = Sampler(spec, model)
    defaults = Defaults.capture(model, sampler.fields, sampler.texture_ids)
    params = sampler(np.random.default_rng(1))
    apply(model, defaults, params)
    tex = model.texture("tex_floor")
    pixels = model.tex_data[tex.adr[0] : tex.adr[0] + 32 * 32 * 3]
    assert len(np.unique(pixels)) == 1
    assert params.textures[0].image.endswith(".png")
    empty = RandomizationSpec.from_dict(
        {"visual": {"image_textures": [{"names": ["tex_floor"], "folder": str(tmp_path / "none")}]}}
    )
    with pytest.raises(SpecError, match=r"^visual\.image_textures\[0\]\.folder"):
        Sampler(empty, model)


@pytest.mark.parametrize("family", sorted(PATTERNS))
def test_texture_families_shape_and_determinism(family):
    a = generate(family, 48, 64, (1, 0, 0), (0, 0, 1), 4.0, np.random.default_rng(0))
    b = generate(family, 48, 64, (1, 0, 0), (0, 0, 1), 4.0, np.random.default_rng(0))
    assert a.shape == (48, 64, 3)
    assert a.dtype == np.uint8
    assert np.array_equal(a, b)
    assert a[..., 1].max() == 0  # only mixes of the two colours
    assert a.std() > 0


def test_hsv_round_trip():
    rgb = np.random.default_rng(0).random((200, 3))
    assert np.allclose(hsv_to_rgb(rgb_to_hsv(rgb)), rgb)


def test_sensor_pipeline_deterministic_and_bounded():
    img = (np.random.default_rng(0).random((32, 40, 3)) * 255).astype(np.uint8)
    settings = {
        "blur_sigma": (1.0,),
        "vignetting": (0.3,),
        "shot_noise": (0.5,),
        "gaussian_std": (3.0,),
        "dead_pixels": (0.01,),
        "color_temperature": (4000.0,),
        "white_balance": (1.1, 1.0, 0.9),
        "gamma": (1.2,),
        "jpeg_quality": (60.0,),
    }
    a = SensorPipeline(settings, seed=1)(img, np.random.default_rng(2))
    b = SensorPipeline(settings, seed=1)(img, np.random.default_rng(2))
    assert a.shape == img.shape
    assert a.dtype == np.uint8
    assert np.array_equal(a, b)
    assert not np.array_equal(a, img)
    assert SensorPipeline({})(img, np.random.default_rng(0)) is img
    with pytest.raises(ValueError, match="settings"):
        SensorPipeline({"sharpen": (1.0,)})


def test_sensor_ops_effects():
    flat = np.full((16, 16, 3), 128, dtype=np.uint8)
    vig = SensorPipeline({"vignetting": (0.5,)})(flat, np.random.default_rng(0))
    assert vig[8, 8, 0] > vig[0, 0, 0]
    warm = kelvin_to_gains(3000.0)
    assert warm[0] > warm[2]
    noisy = SensorPipeline({"gaussian_std": (10.0,)})(flat, np.random.default_rng(0)).astype(float)
    assert 7.0 < noisy.std() < 13.0
    n = unit_noise((100000,), np.random.default_rng(0))
    assert abs(n.mean()) < 0.02
    assert abs(n.std() - 1.0) < 0.02
