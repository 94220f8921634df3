"""Composed presets: ``include`` merges spec files in order, later entries override (mappings key by key,
distributions and lists whole), the including file's own fields last; errors name the file and line."""

from __future__ import annotations

import dataclasses

import pytest

from simreal.randomization import PRESETS, Choice, RandomizationSpec, SpecError, Uniform, load_preset
from simreal.randomization.compose import merge

GROUPS = ("visual", "physics", "sensor", "control")


@pytest.mark.parametrize("family", ["arm", "driving"])
def test_full_is_the_composition_of_the_group_presets(family):
    full = load_preset("full", family)
    assert set(GROUPS) < set(PRESETS)
    for group in ("sensor", "control"):
        assert getattr(full, group) == getattr(load_preset(group, family), group)
    assert full.visual.colors == load_preset("visual", family).visual.colors
    assert full.visual.textures == load_preset("visual", family).visual.textures
    assert full.physics.gravity_tilt_deg == load_preset("physics", family).physics.gravity_tilt_deg


def test_driving_full_is_exactly_the_four_groups():
    full = load_preset("full", "driving")
    parts = {group: getattr(load_preset(group, "driving"), group) for group in GROUPS}
    assert dataclasses.replace(full, **parts) == full


def test_arm_full_overrides_only_what_it_lists():
    full, visual = load_preset("full", "arm"), load_preset("visual", "arm")
    assert full.visual.camera.pos_jitter == Uniform(-0.045, 0.045)
    assert full.visual.camera.fovy_jitter == visual.visual.camera.fovy_jitter  # merged key by key
    assert full.visual.distractors.shapes == visual.visual.distractors.shapes
    assert full.visual.distractors.count == Choice((0, 1, 2, 3, 4, 5, 6))
    assert len(full.physics.entries) == len(load_preset("physics", "arm").physics.entries) + 2


def test_merge_later_overrides_mappings_key_by_key_and_other_values_whole():
    base = {
        "name": "a",
        "visual": {"camera": {"names": ["*"], "pos_jitter": {"type": "choice", "options": [0.0, 0.1]}}},
        "physics": {"entries": [{"field": "body_mass"}, {"field": "dof_damping"}]},
    }
    over = {
        "name": "b",
        "visual": {"camera": {"pos_jitter": {"type": "uniform", "low": 0.0, "high": 0.1}}},
        "physics": {"entries": [{"field": "dof_armature"}]},
    }
    merged = merge(base, over)
    assert merged == {
        "name": "b",
        "visual": {"camera": {"names": ["*"], "pos_jitter": {"type": "uniform", "low": 0.0, "high": 0.1}}},
        "physics": {"entries": [{"field": "dof_armature"}]},  # a list is replaced, never concatenated
    }
    assert base["visual"]["camera"]["pos_jitter"]["type"] == "choice"  # inputs untouched


def _write(path, text):
    path.write_text(text)
    return path


def test_includes_nest_and_the_file_itself_comes_last(tmp_path):
    _write(tmp_path / "a.yaml", "name: a\nsensor:\n  gamma: 1.2\n  vignetting: 0.1\n")
    _write(tmp_path / "b.yaml", "name: b\ninclude: [a.yaml]\nsensor:\n  gamma: 1.5\n")
    _write(tmp_path / "c.yaml", "name: c\ninclude: [b.yaml]\nsensor:\n  vignetting: 0.2\ncontrol:\n  obs_noise: 0.01\n")
    spec = RandomizationSpec.load(tmp_path / "c.yaml")
    assert spec.name == "c"
    assert spec.sensor.gamma.value == 1.5 and spec.sensor.vignetting.value == 0.2
    assert spec.control.obs_noise.value == 0.01


def test_later_includes_override_earlier_ones(tmp_path):
    _write(tmp_path / "a.yaml", "sensor:\n  gamma: 1.2\n")
    _write(tmp_path / "b.yaml", "sensor:\n  gamma: 1.5\n")
    _write(tmp_path / "ab.yaml", "include: [a.yaml, b.yaml]\n")
    _write(tmp_path / "ba.yaml", "include: [b.yaml, a.yaml]\n")
    assert RandomizationSpec.load(tmp_path / "ab.yaml").sensor.gamma.value == 1.5
    assert RandomizationSpec.load(tmp_path / "ba.yaml").sensor.gamma.value == 1.2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: x\ninclude: [x.yaml]\n", r"x\.yaml:2: include\[0\]: 'x\.yaml' includes itself \(x\.yaml -> x\.yaml\)"),
        (
            "name: x\ninclude: [missing.yaml]\n",
            r"x\.yaml:2: include\[0\]: no spec file 'missing\.yaml' next to x\.yaml",
        ),
        ("name: x\ninclude: a.yaml\n", r"x\.yaml:2: include: expected a non-empty list of spec files"),
        ("name: x\ninclude: [a.yaml, 3]\n", r"x\.yaml:2: include\[1\]: expected a spec file name, got 3"),
        ("include: [a.yaml]\nsensor: {gamma: 99}\n", r"x\.yaml:2: sensor\.gamma: must be in \[0\.1, 10\]"),
    ],
)
def test_include_errors_name_the_file_and_line(tmp_path, text, expected):
    _write(tmp_path / "a.yaml", "sensor:\n  gamma: 1.2\n")
    with pytest.raises(SpecError, match=expected):
        RandomizationSpec.load(_write(tmp_path / "x.yaml", text))


def test_an_include_cycle_through_another_file_raises(tmp_path):
    _write(tmp_path / "a.yaml", "include: [b.yaml]\n")
    _write(tmp_path / "b.yaml", "include: [a.yaml]\n")
    with pytest.raises(SpecError, match=r"includes itself \(a\.yaml -> b\.yaml -> a\.yaml\)"):
        RandomizationSpec.load(tmp_path / "a.yaml")


def test_include_outside_a_file_is_an_unknown_field():
    with pytest.raises(SpecError, match="include: unknown field"):
        RandomizationSpec.from_dict({"include": ["arm_visual.yaml"]})
