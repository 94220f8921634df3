"""Per-field physical bounds (randomization/bounds.py): every randomizable value has one, checked on the support of
its distribution after its mode, at spec load (absolute values) and at compile time (scale/add on model values)."""

import dataclasses
import importlib
import math

import gymnasium as gym
import imageio.v3 as iio
import numpy as np
import pytest

from simreal.randomization import (
    CameraSpec,
    Choice,
    ColorEntry,
    Constant,
    ControlSpec,
    DistractorSpec,
    LightSpec,
    Normal,
    PhysicsSpec,
    RandomizationSpec,
    SensorSpec,
    SpecError,
    TextureEntry,
    Uniform,
)
from simreal.randomization import bounds as B
from simreal.randomization.factors.base import HSV
from simreal.randomization.factors.physics import PHYSICS_FIELDS, PhysicsEntry

U = {"type": "uniform"}


def _dist_fields(cls: type) -> set[str]:
    return {f.name for f in dataclasses.fields(cls) if "Distribution" in str(f.type)}


@pytest.mark.parametrize(
    ("cls", "table"),
    [
        (SensorSpec, B.SENSOR_BOUNDS),
        (ControlSpec, B.CONTROL_BOUNDS),
        (LightSpec, B.LIGHT_BOUNDS),
        (CameraSpec, B.CAMERA_BOUNDS),
        (DistractorSpec, B.DISTRACTOR_BOUNDS),
        (TextureEntry, B.TEXTURE_BOUNDS),
        (HSV, B.HSV_BOUNDS),
        (ColorEntry, B.COLOR_JITTER_BOUNDS),
    ],
)
def test_every_distribution_field_has_a_bound(cls, table):
    assert _dist_fields(cls) == set(table), "a randomizable field without physical bounds (or a stale bound)"


def test_every_physics_field_has_a_bound():
    assert set(PHYSICS_FIELDS) == set(B.PHYSICS_BOUNDS)
    assert _dist_fields(PhysicsSpec) == {"gravity_tilt_deg"}


def _entry(field, dist, mode="set", **kw):
    return {"physics": {"entries": [{"field": field, "names": ["block"], "dist": dist, "mode": mode, **kw}]}}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            _entry("body_mass", {**U, "low": -2.0, "high": 1.0}),
            r"^physics\.entries\[0\]\.dist\.low: body_mass .*\(0, 100000\] kg, got -2",
        ),
        (
            _entry("body_mass", {**U, "low": -2.0, "high": -1.0}, "scale"),
            r"^physics\.entries\[0\]\.dist\.low: body_mass \(mode scale\) needs a factor > 0",
        ),
        (
            _entry("body_mass", 0.0, "scale"),
            r"^physics\.entries\[0\]\.dist: body_mass \(mode scale\) needs a factor > 0",
        ),
        (
            _entry("opt.timestep", 0.0, names=["*"]),
            r"^physics\.entries\[0\]\.dist: opt\.timestep .*\[0\.0001, 0\.01\] s, got 0",
        ),
        (_entry("opt.timestep", -0.002, names=["*"]), r"^physics\.entries\[0\]\.dist: opt\.timestep"),
        (
            _entry("opt.timestep", -1.0, "scale", names=["*"]),
            r"^physics\.entries\[0\]\.dist: opt\.timestep \(mode scale\) needs a factor > 0",
        ),
        (_entry("body_inertia", -1.0), r"^physics\.entries\[0\]\.dist: body_inertia .*\(0, 100000\]"),
        (
            _entry("dof_damping", {**U, "low": -1.0, "high": 1.0}),
            r"^physics\.entries\[0\]\.dist\.low: dof_damping .*\[0, 100000\]",
        ),
        (_entry("geom_friction", -0.5, columns=[0]), r"^physics\.entries\[0\]\.dist: geom_friction .*\[0, 10\]"),
        (
            _entry("jnt_stiffness", {**U, "low": -1.0, "high": 1.0}, "scale"),
            r"^physics\.entries\[0\]\.dist\.low: jnt_stiffness \(mode scale\) needs a factor >= 0",
        ),
        (_entry("actuator_kp", 0.0), r"^physics\.entries\[0\]\.dist: actuator_kp .*\(0, 1e\+06\]"),
        (
            _entry("actuator_gainprm", -5.0, columns=[0]),
            r"^physics\.entries\[0\]\.dist: actuator_gainprm .*\(0, 1e\+06\] \(gain\)",
        ),
        (
            _entry("body_mass", {"type": "normal", "mean": 1.0, "std": 0.1}),
            r"^physics\.entries\[0\]\.dist\.low: .*got -inf \(truncate",
        ),
        (
            _entry("body_mass", {"type": "choice", "options": [1.0, "heavy"]}),
            r"^physics\.entries\[0\]\.dist\.options\[1\]: expected a number",
        ),
        ({"physics": {"gravity_tilt_deg": 120}}, r"^physics\.gravity_tilt_deg: must be in \[-90, 90\] deg, got 120"),
        (
            {"sensor": {"blur_sigma": {**U, "low": 0.0, "high": 1e9}}},
            r"^sensor\.blur_sigma\.high: must be in \[0, 8\] px, got 1e\+09",
        ),
        (
            {"sensor": {"jpeg_quality": {"type": "choice", "options": [50, 0]}}},
            r"^sensor\.jpeg_quality\.options\[1\]: must be in \[1, 95\]",
        ),
        ({"sensor": {"jpeg_quality": 101}}, r"^sensor\.jpeg_quality: must be in \[1, 95\]"),
        ({"sensor": {"gaussian_std": 1e6}}, r"^sensor\.gaussian_std: must be in \[0, 64\] levels"),
        ({"sensor": {"gamma": 0}}, r"^sensor\.gamma: must be in \[0\.1, 10\]"),
        ({"sensor": {"dead_pixels": 2.0}}, r"^sensor\.dead_pixels: must be in \[0, 1\]"),
        ({"sensor": {"color_temperature": 100}}, r"^sensor\.color_temperature: must be in \[1000, 40000\] K"),
        ({"sensor": {"white_balance": 0}}, r"^sensor\.white_balance: must be in \(0, 4\]"),
        ({"control": {"action_latency": 1000}}, r"^control\.action_latency: must be in \[0, 20\] control steps"),
        (
            {"control": {"action_repeat": {**U, "low": 1, "high": 3}}},
            r"^control\.action_repeat: must take whole-number values",
        ),
        ({"control": {"action_repeat": 1e9}}, r"^control\.action_repeat: must be in \[1, 20\] steps"),
        ({"control": {"action_noise": -0.1}}, r"^control\.action_noise: must be in \[0, 1\]"),
        ({"control": {"period_jitter": 0}}, r"^control\.period_jitter: must be in \(0, 4\]"),
        (
            {"visual": {"lights": {"count": 0}}},
            r"^visual\.lights\.count: must be in \[1, 64\] lights \(whole numbers\)",
        ),
        ({"visual": {"lights": {"intensity": -1}}}, r"^visual\.lights\.intensity: must be in \[0, 10\]"),
        ({"visual": {"camera": {"fovy_jitter": 200}}}, r"^visual\.camera\.fovy_jitter: must be in \(-180, 180\) deg"),
        ({"visual": {"distractors": {"size": 0}}}, r"^visual\.distractors\.size: must be in \(0, 10\]"),
        (
            {"visual": {"distractors": {"count": {"type": "choice", "options": [1, 2.5]}}}},
            r"^visual\.distractors\.count\.options\[1\]: .*whole numbers",
        ),
        (
            {"visual": {"colors": [{"names": ["m"], "mode": "free", "value": 1.5}]}},
            r"^visual\.colors\[0\]\.value: must be in \[0, 1\]",
        ),
        (
            {"visual": {"textures": [{"names": ["t"], "scale": {**U, "low": 1, "high": 1e9}}]}},
            r"^visual\.textures\[0\]\.scale\.high: must be in \(0, 64\]",
        ),
        (
            {"visual": {"textures": [{"names": ["t"], "color_a": {"saturation": 2}}]}},
            r"^visual\.textures\[0\]\.color_a\.saturation: must be in \[0, 1\]",
        ),
    ],
)
def test_out_of_bounds_values_are_rejected_at_load_naming_the_path_and_range(data, expected):
    with pytest.raises(SpecError, match=expected):
        RandomizationSpec.from_dict(data)


def test_bounds_hold_for_python_built_specs_too():
    with pytest.raises(ValueError, match=r"^blur_sigma\.high: must be in \[0, 8\] px"):
        SensorSpec(blur_sigma=Uniform(0.0, 100.0))
    with pytest.raises(ValueError, match=r"^dist: body_mass"):
        PhysicsEntry("body_mass", ("block",), Constant(-1.0), mode="set")
    SensorSpec(blur_sigma=Normal(1.0, 5.0, low=0.0, high=8.0))  # a truncated normal inside the bounds is fine
    ColorEntry(("m",), hue=Normal(0.0, 0.1))  # jitter: any draw is safe (hue wraps, s/v clip; documented)


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda: Constant(math.inf), r"^value: must be finite"),
        (lambda: Choice((1.0, math.nan)), r"^options\[1\]: must not be NaN"),
        (lambda: Choice((1.0, math.inf)), r"^options\[1\]: must be finite"),
        (lambda: Choice((1, 2), weights=(1.0, math.inf)), r"^weights\[1\]: must be finite"),
        (lambda: Uniform(-1e308, 1e308), r"^high: high - low must be a finite float"),
        (lambda: Normal(0.0, 1e308), r"^std: must be in \[0, 1e\+300\]"),
        (lambda: Uniform(0, 10**400), r"^high: must be a finite number, got an integer with 401 digits"),
    ],
)
def test_distributions_reject_non_finite_and_overflowing_numbers(make, expected):
    with pytest.raises(ValueError, match=expected):
        make()


def test_yaml_exponent_without_a_dot_is_explained():
    with pytest.raises(SpecError, match=r"^sensor\.gamma\.high: expected a number, got str '1e9' \(YAML 1\.1"):
        RandomizationSpec.from_yaml("sensor:\n  gamma: {type: uniform, low: 1, high: 1e9}\n")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        # the block's mass is 0.1 kg: add -3 -> negative; scale 1e9 -> 1e8 kg
        (
            _entry("body_mass", {**U, "low": -3.0, "high": 0.0}, "add"),
            r"^physics\.entries\[0\]\.dist\.low: body_mass = model value 0\.1 plus -3 = -2\.9, "
            r"outside the allowed range \(0, 100000\] kg",
        ),
        (
            _entry("body_mass", {**U, "low": 1.0, "high": 1e9}, "scale"),
            r"^physics\.entries\[0\]\.dist\.high: body_mass = model value 0\.1 scaled by 1e\+09",
        ),
        (
            _entry("dof_damping", -100.0, "add", names=["arm_j*"]),
            r"^physics\.entries\[0\]\.dist: dof_damping = model value \S+ plus -100",
        ),
        (
            _entry("opt.timestep", 100.0, "scale", names=["*"]),
            r"^physics\.entries\[0\]\.dist: opt\.timestep = model value 0\.002 scaled by 100",
        ),
        (
            {"visual": {"camera": {"fovy_jitter": {**U, "low": -100.0, "high": 0.0}}}},
            r"^visual\.camera\.fovy_jitter\.low: cam_fovy = model value 45 plus -100 = -55, "
            r"outside the allowed range \(0, 180\) deg",
        ),
        (
            {"visual": {"lights": {"count": {"type": "choice", "options": [1, 3]}}}},
            r"^visual\.lights\.count\.options\[1\]: must be in \[1, 2\] \(the lights matching names\)",
        ),
        ({"visual": {"distractors": {"count": 9}}}, r"^visual\.distractors\.count: must be in \[0, 6\] \(the geoms"),
    ],
)
def test_model_dependent_bounds_are_checked_when_the_spec_is_compiled(data, expected):
    spec = RandomizationSpec.from_dict(data)  # valid on its own: depends on the model's values
    with pytest.raises(SpecError, match=expected):
        gym.make("simreal/Push-v0", randomization=spec)


def test_bound_contains_and_str():
    b = B.Bound(0.0, 1.0, "kg", low_open=True)
    assert str(b) == "(0, 1] kg"
    assert list(B.Bound(0, 3, integer=True).contains([0, 1.5, 3, 4])) == [True, False, True, False]
    assert not b.contains(0.0) and b.contains(1.0) and not b.contains(math.nan)


def test_image_texture_folders_are_checked_when_compiled(tmp_path):
    (tmp_path / "bad.png").write_bytes(b"not an image")
    for folder, expected in [
        ("~no_such_user_13/x", r"^visual\.image_textures\[0\]\.folder: '~no_such_user_13/x': "),
        (str(tmp_path), r"^visual\.image_textures\[0\]\.folder: .*bad\.png: not a readable image"),
    ]:
        spec = {"visual": {"image_textures": [{"names": ["tex_table"], "folder": folder}]}}
        with pytest.raises(SpecError, match=expected):
            gym.make("simreal/Reach-v0", randomization=spec)


def test_oversized_texture_images_are_rejected_when_compiled(tmp_path, monkeypatch):
    image_textures = importlib.import_module("simreal.randomization.factors.image_textures")

    iio.imwrite(tmp_path / "big.png", np.zeros((4, 5, 3), np.uint8))
    monkeypatch.setattr(image_textures, "MAX_IMAGE_PIXELS", 19)
    spec = {"visual": {"image_textures": [{"names": ["tex_table"], "folder": str(tmp_path)}]}}
    with pytest.raises(SpecError, match=r"big\.png: not a readable image \(5x4 pixels, more than 19"):
        gym.make("simreal/Reach-v0", randomization=spec)


ELEMENTS = {
    "arm": {"block": "block", "dof": "arm_j*", "act": "act_*", "kp": "act_*"},
    "driving": {"block": "chassis", "dof": "steer_*", "act": "drive_*", "kp": "steer_left"},
}
ELEMENT_OF = {"body": "block", "geom": "block", "dof": "dof", "jnt": "dof", "actuator": "act"}


def _end(bound: B.Bound, end: str) -> float:
    """The ``end`` of a bound, nudged inside when that end is open."""
    v = bound.high if end == "high" else bound.low
    if (bound.high_open and end == "high") or (bound.low_open and end == "low"):
        v += (-1e-3 if end == "high" else 1e-3) * max(abs(v), 1e-3)
    return int(v) if bound.integer else float(v)


def _extreme_spec(family: str, end: str) -> dict:
    names = ELEMENTS[family]
    entries = []
    for field, bound in B.PHYSICS_BOUNDS.items():
        kind = "kp" if field == "actuator_kp" else ELEMENT_OF.get(field.split("_")[0], "")
        entry = {"field": field, "names": [names[kind]] if kind else ["*"], "mode": "set"}
        if field == "geom_friction" and family == "driving":
            entry["names"] = ["wheel_*"]
        column_bound = B.PHYSICS_COLUMN_BOUNDS.get(field, {}).get(0)
        if column_bound is not None:
            entry["columns"], bound = [0], column_bound
        entries.append({**entry, "dist": _end(bound, end)})
    lights = {k: _end(b, end) for k, b in B.LIGHT_BOUNDS.items() if k != "count"}
    camera = {k: _end(b, end) for k, b in B.CAMERA_BOUNDS.items() if k != "fovy_jitter"}  # fovy: model-dependent
    distractors = {k: _end(b, end) for k, b in B.DISTRACTOR_BOUNDS.items() if k != "count"}
    return {
        "visual": {
            "lights": lights,
            "camera": camera,
            "distractors": {**distractors, "count": 0 if end == "low" else 6},
        },
        "physics": {"entries": entries, "gravity_tilt_deg": _end(B.GRAVITY_TILT, end)},
        "sensor": {k: _end(b, end) for k, b in B.SENSOR_BOUNDS.items()},
        "control": {k: _end(b, end) for k, b in B.CONTROL_BOUNDS.items()},
    }


@pytest.mark.parametrize("end", ["low", "high"])
@pytest.mark.parametrize(("env_id", "family"), [("simreal/Push-v0", "arm"), ("simreal/LaneFollow-v0", "driving")])
def test_the_bounds_themselves_are_safe(env_id, family, end):
    """Every field at an end of its bounds at once: reset + steps run in bounded time with finite observations
    (an unstable simulation is reported through ``physics_error``, never returned as NaN)."""
    env = gym.make(env_id, obs_mode="pixels_state", image_size=32, randomization=_extreme_spec(family, end))
    obs, _ = env.reset(seed=0)
    assert env.unwrapped.model.opt.timestep == pytest.approx(_end(B.PHYSICS_BOUNDS["opt.timestep"], end))
    for _ in range(3):
        obs, reward, *_ = env.step(env.action_space.sample())
        assert np.isfinite(reward) and np.isfinite(obs["state"]).all()
        assert obs["pixels"].dtype == np.uint8
    env.close()
