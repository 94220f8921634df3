"""Property-based fuzzing of the spec loader (issue 13).

Presets mutated by hypothesis (numbers scaled, negated, made NaN/inf/huge; types swapped; keys dropped or added;
lists emptied or grown) either load, compile on the env and run reset + step within the deadline with finite
outputs, or raise a ValueError whose message starts with the dotted path of the offending field. Nothing hangs,
allocates without bound or crashes. Deterministic (``derandomize=True``); the default run is a few hundred examples,
the ``slow`` one thousands.
"""

from __future__ import annotations

import copy
import json
import math
import re
import time
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from simreal.envs.wrappers import find_wrapper
from simreal.randomization import DomainRandomization, RandomizationSpec
from simreal.randomization.presets import FAMILIES, PRESET_DIR

PRESETS = {  # the data of every preset, its includes resolved (compose.py)
    (family, path.stem.split("_", 1)[1]): RandomizationSpec.load(path).to_dict()
    for family in FAMILIES
    for path in sorted(PRESET_DIR.glob(f"{family}_*.yaml"))
}
ENV_IDS = {"arm": "simreal/Push-v0", "driving": "simreal/LaneFollow-v0"}
TOP = {"<root>", "name", "visual", "physics", "sensor", "control"}
CLEAN = re.compile(r"^(<root>|[A-Za-z_][\w]*)([.\[][\w.\[\]]*)?: \S")
STEP_SECONDS = 5.0  # reset + 2 steps of a 32 px pixels_state env take ~10 ms; a runaway kernel takes minutes

SCALARS = [
    math.nan,
    math.inf,
    -math.inf,
    0,
    0.0,
    -1,
    -1e9,
    1e9,
    1e300,
    10**400,
    1e-300,
    True,
    None,
    "text",
    "1e9",
    "",
    [],
    {},
    [1, 2],
    {"type": "uniform"},
    {"type": "uniform", "low": 0, "high": 1},
    {"type": "choice", "options": []},
    {"type": "normal", "mean": 0, "std": 1},
]
FACTORS = [-1.0, 0.0, 1e-9, 0.5, 0.9, 1.1, 2.0, 10.0, 1e3, 1e9, 1e300]
FIELD_NAMES = ["names", "dist", "mode", "field", "low", "high", "type", "options", "count", "blur_sigma", "bogus"]


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every (container path) of the plain data, in a stable order."""
    out = [prefix]
    if isinstance(node, dict):
        for k in sorted(node, key=str):
            out += _paths(node[k], (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


def _get(node: Any, path: tuple) -> Any:
    for k in path:
        node = node[k]
    return node


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _mutate(data: Any, draw: Any) -> Any:
    paths = _paths(data)
    numbers = [p for p in paths if _is_number(_get(data, p))]
    if numbers and draw(st.booleans()):  # half the mutations change one number and keep the structure
        paths = numbers
    path = paths[draw(st.integers(0, len(paths) - 1))]
    value = _get(data, path)
    parent = _get(data, path[:-1]) if path else None
    op = draw(st.sampled_from(["scale", "scale", "negate", "replace", "drop", "add", "empty", "grow"]))
    new: Any = value
    if op == "scale" and _is_number(value) and abs(value) < 1e300:
        new = value * draw(st.sampled_from(FACTORS))
    elif op == "negate" and _is_number(value):
        new = -value
    elif op == "drop" and parent is not None:
        del parent[path[-1]]
        return data
    elif op == "add" and isinstance(value, dict):
        value[draw(st.sampled_from(FIELD_NAMES))] = copy.deepcopy(draw(st.sampled_from(SCALARS)))
        return data
    elif op == "empty" and isinstance(value, (list, dict)):
        new = type(value)()
    elif op == "grow" and isinstance(value, list) and value:
        new = [*value, copy.deepcopy(value[draw(st.integers(0, len(value) - 1))])]
    else:  # replace (also the fallback when an op does not fit the value)
        new = copy.deepcopy(draw(st.sampled_from(SCALARS)))
    if parent is None:
        return new
    parent[path[-1]] = new
    return data


@pytest.fixture(scope="module")
def envs():
    """One randomized pixel env per family; each example switches its spec (the wrapper's ``set_spec``)."""
    out = {}
    for family, env_id in ENV_IDS.items():
        env = gym.make(env_id, obs_mode="pixels_state", image_size=32, randomization="none", max_episode_steps=1000)
        env.reset(seed=0)  # the GL context and renderer exist before the first timed example
        out[family] = env
    yield out
    for env in out.values():
        env.close()


def _dr(env: gym.Env) -> DomainRandomization:
    inner = find_wrapper(env, DomainRandomization)
    assert inner is not None
    return inner


def _assert_clean(err: ValueError, data: Any) -> None:
    msg = str(err)
    match = CLEAN.match(msg)
    assert match, f"error does not start with a field path: {msg!r}"
    head = match.group(1)
    assert head in TOP or (isinstance(data, dict) and head in map(str, data)), msg


def _check(data: Any, envs: dict[str, gym.Env], family: str) -> str:
    try:
        spec = RandomizationSpec.from_dict(data)
    except ValueError as err:
        _assert_clean(err, data)
        return "rejected"
    assert RandomizationSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec  # JSON round trip
    assert RandomizationSpec.from_yaml(spec.to_yaml()) == spec
    env = envs[family]
    try:
        _dr(env).set_spec(spec)
    except ValueError as err:  # compile time: names that match nothing, model-dependent bounds
        _assert_clean(err, data)
        return "rejected at compile"
    start = time.perf_counter()
    obs, _ = env.reset(seed=0)
    for _ in range(2):
        obs, reward, *_ = env.step(np.zeros(env.action_space.shape, dtype=np.float32))
        assert math.isfinite(float(reward))
    assert time.perf_counter() - start < STEP_SECONDS
    assert env.observation_space.contains(obs)
    assert np.isfinite(obs["state"]).all()
    return "ran"


@st.composite
def mutated(draw: Any) -> tuple[str, Any]:
    key = draw(st.sampled_from(sorted(PRESETS)))
    data = copy.deepcopy(PRESETS[key])
    for _ in range(draw(st.integers(1, 2))):
        data = _mutate(data, draw)
    return key[0], data


FAST = settings(
    max_examples=300,
    deadline=5000,  # ms per example; one takes ~20 ms
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@FAST
@given(case=mutated())
def test_mutated_presets_load_and_run_or_fail_cleanly(envs, case):
    family, data = case
    event(_check(data, envs, family))


@pytest.mark.slow
@settings(FAST, max_examples=3000)
@given(case=mutated())
def test_mutated_presets_load_and_run_or_fail_cleanly_many(envs, case):
    family, data = case
    _check(data, envs, family)


def test_the_fuzzer_reaches_every_outcome(envs):
    """Guards the fuzzer itself: unmutated presets run, and known-bad mutations are rejected at load/compile."""
    for (family, _), data in PRESETS.items():
        assert _check(copy.deepcopy(data), envs, family) == "ran"
    bad = copy.deepcopy(PRESETS[("arm", "full")])
    bad["sensor"]["blur_sigma"]["high"] = 1e9
    assert _check(bad, envs, "arm") == "rejected"
    bad = copy.deepcopy(PRESETS[("arm", "full")])
    bad["physics"]["entries"][0]["names"] = ["no_such_body"]
    bad["physics"]["entries"][0]["optional"] = False
    assert _check(bad, envs, "arm") == "rejected at compile"


TEXTS = {path.name: path.read_text() for path in sorted(PRESET_DIR.glob("*.yaml"))}
SNIPPETS = [
    ":",
    ": ",
    "{",
    "}",
    "[",
    "]",
    "- ",
    "\n",
    "\t",
    "'",
    '"',
    "&a ",
    "*a",
    "!!python/object/apply:os.system ['true']",
    "\x00",
    "\x85",
    "#",
    "? ",
    "<<: *a",
    "1e9",
    ".nan",
    "-.inf",
    "~",
    "%YAML 1.1\n",
    "---\n",
    "...\n",
    "\ufeff",
]


@st.composite
def mutated_text(draw: Any) -> tuple[str, str]:
    name = draw(st.sampled_from(sorted(TEXTS)))
    text = TEXTS[name]
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(text)))
        if draw(st.booleans()):
            text = text[:i] + draw(st.sampled_from(SNIPPETS)) + text[i:]
        else:
            text = text[:i] + text[i + draw(st.integers(1, 20)) :]
    return name, text


def _assert_located(err: ValueError, path: str) -> None:
    assert re.match(rf"^{re.escape(path)}(:\d+)?: \S", str(err)), str(err)


@settings(FAST, max_examples=200)
@given(case=mutated_text())
def test_mutated_preset_files_load_or_fail_with_file_and_line(tmp_path_factory, case):
    name, text = case
    path = tmp_path_factory.mktemp("spec") / name
    path.write_text(text, encoding="utf-8")
    try:
        spec = RandomizationSpec.load(path)
    except ValueError as err:
        _assert_located(err, str(path))
        event("rejected")
        return
    event("loaded")
    assert RandomizationSpec.from_yaml(spec.to_yaml()) == spec
