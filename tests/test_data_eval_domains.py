"""Evaluation domains as names or a user's spec files; per-domain seeds that do not depend on the domain list."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from simreal.data.eval_domains import domain_seed, is_spec_file, parse_domains, rollout_spec


def test_names_and_spec_files_are_accepted_and_bad_ones_named(tmp_path: Path) -> None:
    lab = tmp_path / "my_lab.yaml"
    lab.write_text("name: my_lab\n")
    assert parse_domains(f"canonical, test,real:3,{lab}") == ("canonical", "test", "real:3", str(lab))
    assert is_spec_file(str(lab)) and not is_spec_file("real:0") and not is_spec_file("test")
    spec = rollout_spec("simreal/Push-v0", str(lab), "front", 32)
    assert spec.randomization == str(lab) and spec.domain is None
    assert rollout_spec("simreal/Push-v0", "real:1", "front", 32).domain == "real:1"
    with pytest.raises(ValueError, match="'lab_b'"):
        parse_domains("test,lab_b")
    with pytest.raises(ValueError, match="does not exist"):
        parse_domains(str(tmp_path / "missing.yml"))
    with pytest.raises(ValueError, match="each domain once"):
        parse_domains("test,test")
    with pytest.raises(ValueError, match="non-empty"):
        parse_domains(" , ")


def test_domain_seeds_depend_on_seed_and_name_only() -> None:
    a = domain_seed(0, "test").generate_state(4)
    np.testing.assert_array_equal(a, domain_seed(0, "test").generate_state(4))
    assert not np.array_equal(a, domain_seed(0, "real:0").generate_state(4))
    assert not np.array_equal(a, domain_seed(1, "test").generate_state(4))
