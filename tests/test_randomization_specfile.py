"""Spec files: every syntax, encoding or field error is a ValueError ``FILE:LINE: what`` (issue 13)."""

import pytest

from simreal.randomization import RandomizationSpec, SpecError, parse_randomization, selection_spec

GOOD = """\
name: demo
sensor:
  blur_sigma: {type: uniform, low: 0.0, high: 0.5}
physics:
  entries:
  - field: body_mass
    names: [block]
    dist: {type: uniform, low: 0.5, high: 2.0}
"""


def _write(tmp_path, text, name="spec.yaml"):
    path = tmp_path / name
    path.write_text(text) if isinstance(text, str) else path.write_bytes(text)
    return path


@pytest.mark.parametrize(
    ("text", "line", "what"),
    [
        ("name: x\nsensor:\n  blur_sigma: {type: uniform, low: 0, high: 1\ncontrol: {}\n", 4, r"YAML: expected ','"),
        ("name: x\n  bad: indent\n", 2, r"YAML: mapping values are not allowed here"),
        ("name: x\nsensor: [\n", 3, r"YAML: "),
        ("name: x\nname: y\n", 2, r"YAML: duplicate key 'name' \(first set at line 1\)"),
        ("sensor:\n  gamma: 1.0\n  gamma: 2.0\n", 3, r"YAML: duplicate key 'gamma'"),
        ("? [a, b]\n: 1\n", 1, r"YAML: a mapping key must be a plain value"),
        (GOOD.replace("low: 0.5", "low: -0.5"), 8, r"physics\.entries\[0\]\.dist\.low: body_mass \(mode scale\) needs"),
        (GOOD.replace("blur_sigma", "blur"), 3, r"sensor\.blur: unknown field"),
        (GOOD.replace("high: 0.5", "high: 1e9"), 3, r"sensor\.blur_sigma\.high: expected a number"),
        ("- 1\n- 2\n", None, r"<root>: expected a mapping"),
    ],
)
def test_yaml_errors_name_file_and_line(tmp_path, text, line, what):
    path = _write(tmp_path, text)
    where = f"{path}:{line}: " if line else f"{path}: "
    with pytest.raises(SpecError, match="^" + where.replace(".", r"\.") + what):
        RandomizationSpec.load(path)
    with pytest.raises(ValueError, match="^" + where.replace(".", r"\.")):  # the same error through the selection
        selection_spec(parse_randomization(str(path)), "arm")


def test_json_errors_name_file_and_line(tmp_path):
    path = _write(tmp_path, '{\n  "sensor": {"gamma": 1,}\n}', "spec.json")
    with pytest.raises(SpecError, match=rf"^{path}:2: JSON syntax: Expecting property name"):
        RandomizationSpec.load(path)
    path = _write(tmp_path, '{\n  "name": "x",\n  "sensor": {"gamma": 0}\n}', "bad.json")
    with pytest.raises(SpecError, match=rf"^{path}:3: sensor\.gamma: must be in \[0\.1, 10\]"):
        RandomizationSpec.load(path)


def test_unreadable_files_raise_value_errors(tmp_path):
    with pytest.raises(SpecError, match=r": not UTF-8 text"):
        RandomizationSpec.load(_write(tmp_path, b"name: \xff\xfe\n"))
    with pytest.raises(SpecError, match=r"cannot read the spec file"):
        RandomizationSpec.load(tmp_path)  # a directory
    with pytest.raises(SpecError, match=r"YAML nesting too deep"):
        RandomizationSpec.load(_write(tmp_path, "a: " + "[" * 5000 + "]" * 5000 + "\n"))


def test_from_yaml_reports_syntax_lines_and_good_files_still_load(tmp_path):
    with pytest.raises(SpecError, match=r"^<string>:2: YAML: duplicate key"):
        RandomizationSpec.from_yaml("name: a\nname: b\n")
    spec = RandomizationSpec.load(_write(tmp_path, GOOD))
    assert spec.name == "demo" and spec.physics.entries[0].names == ("block",)
    assert RandomizationSpec.load(_write(tmp_path, "")) == RandomizationSpec()
    merged = "base: &b {type: uniform, low: 0.0, high: 0.5}\n"  # anchors and merge keys still work
    with pytest.raises(SpecError, match=r":1: base: unknown field"):
        RandomizationSpec.load(_write(tmp_path, merged + "sensor: {blur_sigma: {<<: *b}}\n"))
