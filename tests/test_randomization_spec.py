"""Spec: strict parsing with path-named errors, YAML/JSON round-trip, stable hash, path access."""

import json

import pytest

from simreal.randomization import PRESETS, RandomizationSpec, SpecError, Uniform, load_preset
from simreal.randomization.spec import distribution_paths, get_at, replace_at

GOOD = {
    "name": "demo",
    "visual": {
        "colors": [
            {"names": ["mat_a"], "hue": {"type": "uniform", "low": -0.1, "high": 0.1}},
            {"names": ["mat_b"], "mode": "free"},
            {"names": ["geom_*"], "target": "geom", "value": {"type": "normal", "mean": 0.0, "std": 0.1}},
        ],
        "textures": [{"names": ["tex_*"], "families": ["checker", "wood"]}],
        "lights": {"intensity": {"type": "loguniform", "low": 0.5, "high": 2.0}, "count": 1},
    },
    "physics": {
        "entries": [
            {"field": "body_mass", "names": ["block"], "dist": {"type": "uniform", "low": 0.5, "high": 2}},
            {"field": "geom_friction", "names": ["*"], "dist": 1.2, "mode": "set", "columns": [0]},
        ],
        "gravity_tilt_deg": {"type": "uniform", "low": 0, "high": 1},
    },
    "sensor": {"jpeg_quality": {"type": "choice", "options": [50, 70, 90]}},
    "control": {"action_latency": {"type": "choice", "options": [0, 1]}},
}


def test_yaml_and_json_round_trip(tmp_path):
    spec = RandomizationSpec.from_dict(GOOD)
    assert RandomizationSpec.from_yaml(spec.to_yaml()) == spec
    for name in ("s.yaml", "s.json"):
        spec.save(tmp_path / name)
        assert RandomizationSpec.load(tmp_path / name) == spec
    assert json.loads((tmp_path / "s.json").read_text())["name"] == "demo"
    assert not list(tmp_path.glob(".*tmp"))  # atomic writes leave no temp files


@pytest.mark.parametrize("family", ["arm", "driving"])
@pytest.mark.parametrize("name", [*PRESETS, "test", "real"])
def test_presets_round_trip(family, name):
    spec = load_preset(name, family)
    assert RandomizationSpec.from_yaml(spec.to_yaml()) == spec
    assert spec.is_empty == (name == "none")


def test_hash_is_stable_and_content_sensitive():
    a = RandomizationSpec.from_dict(GOOD)
    b = RandomizationSpec.from_dict(json.loads(json.dumps(GOOD)))
    assert a.hash() == b.hash()
    assert len(a.hash()) == 12
    c = replace_at(a, "visual.colors[0].hue", Uniform(-0.2, 0.1))
    assert c.hash() != a.hash()
    assert RandomizationSpec().hash() == RandomizationSpec(name="other").hash()


def _with(path, value):
    data = json.loads(json.dumps(GOOD))
    keys = path.replace("[", ".").replace("]", "").split(".")
    node = data
    for k in keys[:-1]:
        node = node[int(k)] if k.isdigit() else node[k]
    node[int(keys[-1]) if keys[-1].isdigit() else keys[-1]] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("visual.colors.2.value.std", -1.0, r"^visual\.colors\[2\]\.value\.std:"),
        ("visual.colors.0.hue.low", 0.5, r"^visual\.colors\[0\]\.hue\.low: must be < high"),
        ("visual.colors.1.mode", "wild", r"^visual\.colors\[1\]\.mode: must be one of"),
        ("visual.colors.1.colour", 1, r"^visual\.colors\[1\]\.colour: unknown field"),
        ("visual.textures.0.families", ["plaid"], r"^visual\.textures\[0\]\.families\[0\]:"),
        ("visual.lights.count", "two", r"^visual\.lights\.count:"),
        ("physics.entries.0.field", "body_colour", r"^physics\.entries\[0\]\.field: must be one of"),
        ("physics.entries.1.columns", "0", r"^physics\.entries\[1\]\.columns: expected a list"),
        ("physics.entries.0.dist", {"type": "uniform", "low": 2, "high": 1}, r"^physics\.entries\[0\]\.dist\.low"),
        ("physics.entries.0.shared", "yes", r"^physics\.entries\[0\]\.shared: expected true/false"),
        (
            "sensor.jpeg_quality",
            {"type": "uniform", "low": -5, "high": 3},
            r"^sensor\.jpeg_quality\.low: must be in \[1, 95\], got -5",
        ),
        ("control.action_repeat", 0, r"^control\.action_repeat: must be in \[1, 20\] steps \(whole numbers\), got 0"),
        ("visual.colors", {"names": ["x"]}, r"^visual\.colors: expected a list"),
        ("physics.entries.0.names", [], r"^physics\.entries\[0\]\.names: must name at least one"),
    ],
)
def test_invalid_specs_name_the_path(path, value, expected):
    with pytest.raises(SpecError, match=expected):
        RandomizationSpec.from_dict(_with(path, value))


def test_missing_required_field_and_unknown_top_level():
    with pytest.raises(SpecError, match=r"^physics\.entries\[0\]\.dist: required"):
        RandomizationSpec.from_dict({"physics": {"entries": [{"field": "body_mass", "names": ["a"]}]}})
    with pytest.raises(SpecError, match=r"^visuals: unknown field"):
        RandomizationSpec.from_dict({"visuals": {}})


def test_path_access():
    spec = RandomizationSpec.from_dict(GOOD)
    paths = distribution_paths(spec)
    assert "physics.entries[0].dist" in paths
    assert get_at(spec, "physics.entries[0].dist") == Uniform(0.5, 2.0)
    assert paths["visual.colors[0].hue"] == Uniform(-0.1, 0.1)
