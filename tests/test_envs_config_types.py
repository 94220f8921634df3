"""gym.make keyword arguments: every env config field and wrapper argument is type- and range-checked with a
ValueError naming the field (issue 13: ``success_threshold="0.05"`` raised a raw TypeError, ``resample="sometimes"``
was accepted without randomization)."""

import dataclasses
import importlib
import math
import typing

import gymnasium as gym
import numpy as np
import pytest

from simreal.envs.config import EnvConfig
from simreal.registration import ENVS


def _configs() -> dict[str, type]:
    """One registered id per distinct config class (a new task's options are checked without editing this)."""
    out: dict[str, type] = {}
    for env_id, (module, name, _) in ENVS.items():
        cls = getattr(importlib.import_module(module), name).config_class
        if cls not in out.values():
            out[env_id] = cls
    return out


CONFIGS = _configs()


def _wrong_values(tp) -> list:
    """Values of the wrong type for annotation ``tp``."""
    out = ["0.05", [1], {"a": 1}, 1j]
    if tp not in (bool,):
        out.append(True)
    if tp is not float and "float" not in str(tp):
        out.append(1.5)
    if "float" in str(tp):
        out += [math.nan, math.inf]
    if "None" not in str(tp):
        out.append(None)
    if tp is not int and "int" not in str(tp) and "float" not in str(tp):
        out.append(3)
    return [v for v in out if not (tp is str and isinstance(v, str))]


CASES = [
    (env_id, f.name, value)
    for env_id, cls in CONFIGS.items()
    for f in dataclasses.fields(cls)
    for value in _wrong_values(typing.get_type_hints(cls)[f.name])
]


@pytest.mark.parametrize(("env_id", "name", "value"), CASES)
def test_wrong_types_raise_value_errors_naming_the_field(env_id, name, value):
    with pytest.raises(ValueError, match=rf"^{name} must be "):
        gym.make(env_id, **{name: value})


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        (
            {"success_threshold": "0.05"},
            r"^success_threshold must be a finite number \(default 0\.05\), got str '0\.05'",
        ),
        ({"success_threshold": 5.0}, r"^success_threshold must be in \[0\.005, 0\.2\] metres"),
        ({"goal_env": 1}, r"^goal_env must be true/false \(default False\), got int 1"),
        ({"image_size": 64.0}, r"^image_size must be an integer \(default 64\), got float"),
        ({"image_size": 4}, r"^image_size must be an integer in \[8, 512\]"),
        ({"cameras": [1]}, r"^cameras must be a sequence of strings"),
        ({"resample": "sometimes"}, r"^resample: applies only with randomization= or domain="),
        ({"resample": "step"}, r"^resample: applies only with"),
        ({"resample": "sometimes", "domain": "train"}, r"^resample: must be 'episode', 'step' or an int >= 1"),
        ({"resample": 0, "randomization": "visual"}, r"^resample: must be"),
        ({"domain": 3}, r"^domain: expected a domain name \(str\) or None, got int 3"),
        ({"domain": "bogus"}, r"^domain: must be one of"),
        ({"randomization": 3}, r"^randomization: unsupported type int"),
        ({"randomization": "visual", "domain": "train"}, r"^randomization/domain: pass one of them"),
        ({"bogus": 1}, r"unknown argument\(s\) \['bogus'\]"),
    ],
)
def test_reach_kwargs(kwargs, expected):
    with pytest.raises(ValueError, match=expected):
        gym.make("simreal/Reach-v0", **kwargs)


def test_lanefollow_ranges_and_numpy_scalars():
    with pytest.raises(ValueError, match=r"^target_distance must be a finite number or None \(default None\), got str"):
        gym.make("simreal/LaneFollow-v0", target_distance="5")
    with pytest.raises(ValueError, match=r"^obstacles must be an integer in \[0, "):
        gym.make("simreal/LaneFollow-v0", obstacles=-1)
    env = gym.make("simreal/Reach-v0", image_size=np.int64(32), success_threshold=np.float32(0.05))
    assert env.unwrapped.config.image_size == 32 and type(env.unwrapped.config.image_size) is int
    env.close()


def test_every_field_of_the_base_config_is_covered():
    assert {f.name for f in dataclasses.fields(EnvConfig)} <= {n for _, n, _ in CASES}
