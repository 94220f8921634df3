"""ADR keeps the physical bounds of the fields it widens, and its arguments are type-checked (issue 13)."""

import json

import gymnasium as gym
import numpy as np
import pytest

from simreal.randomization import AdrConfig, AdrParam, AdrWrapper, AutomaticDomainRandomization, RandomizationSpec

BASE = RandomizationSpec.from_dict(
    {
        "physics": {"entries": [{"field": "body_mass", "names": ["*"], "dist": 1.0}]},
        "sensor": {"blur_sigma": 0.5},
    }
)
MASS, BLUR = "physics.entries[0].dist", "sensor.blur_sigma"


def test_widening_stops_at_the_physical_bounds():
    # no hard limits: the mass scale would go negative and the blur past 8 px without the bounds
    params = [AdrParam(MASS, 1.0, 1.0, step=0.3), AdrParam(BLUR, 0.5, 0.5, step=1.0)]
    adr = AutomaticDomainRandomization(BASE, params, AdrConfig(buffer_size=1))
    for _ in range(40):
        for boundary in ((MASS, "low"), (BLUR, "low"), (BLUR, "high")):
            adr.update(boundary, 1.0)  # always solved: widen
        adr.spec()  # every proposed spec stays valid
    assert adr.ranges[MASS] == pytest.approx([0.1, 1.0])  # 1.0 - 3 x 0.3; one more step would be < 0
    assert adr.ranges[BLUR] == pytest.approx([0.5, 7.5])  # -0.5 and 8.5 px are outside [0, 8]


def test_initial_ranges_outside_the_bounds_are_rejected():
    with pytest.raises(ValueError, match=r"^params\[0\]: initial range of sensor\.blur_sigma breaks its bounds: "):
        AutomaticDomainRandomization(BASE, [AdrParam(BLUR, 0.5, 20.0)])


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda: AdrParam(MASS, "0.5", 1.0), r"^low: expected a number, got str"),
        (lambda: AdrParam(MASS, 0.5, float("nan")), r"^high: expected a number"),
        (lambda: AdrParam(MASS, 0.5, 1.0, step=float("inf")), r"^step: must be finite"),
        (lambda: AdrParam(3, 0.5, 1.0), r"^path: expected a dotted spec path"),
        (lambda: AdrConfig(buffer_size="10"), r"^buffer_size: expected an integer >= 1"),
        (lambda: AdrConfig(boundary_prob="0.5"), r"^boundary_prob: expected a number"),
    ],
)
def test_adr_arguments_are_type_checked(make, expected):
    with pytest.raises(ValueError, match=expected):
        make()


def test_adr_wrapper_arguments_are_checked():
    env = gym.make("simreal/Reach-v0", randomization="physics")
    spec = env.get_wrapper_attr("randomization_spec")
    adr = AutomaticDomainRandomization(spec, [AdrParam("physics.entries[2].dist", 1.0, 1.0)])
    with pytest.raises(ValueError, match=r"^seed: expected an int >= 0 or None, got 'x'"):
        AdrWrapper(env, adr, seed="x")
    with pytest.raises(ValueError, match=r"^performance_key: expected an info key"):
        AdrWrapper(env, adr, performance_key=None)
    wrapped = AdrWrapper(env, adr, seed=np.int64(3).item())
    wrapped.reset(seed=0)
    env.close()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda s: s.pop("buffers"), r"state\.buffers: required"),
        (
            lambda s: s["ranges"].update({MASS: [1.0]}),
            r"state\.ranges\['physics\.entries\[0\]\.dist'\]: expected \[low, high\]",
        ),
        (lambda s: s["ranges"].update({MASS: ["a", 1.0]}), r"state\.ranges\[.*\]\.low: expected a number, got str"),
        (
            lambda s: s["ranges"].update({MASS: [-1.0, 1.0]}),
            r"state\.ranges\[.*\]: \[-1\.0, 1\.0\] is empty or outside the field's bounds",
        ),
        (lambda s: s["ranges"].update({MASS: [1.0, 0.5]}), r"state\.ranges\[.*\]: \[1\.0, 0\.5\] is empty or outside"),
        (lambda s: s["buffers"].update({f"{MASS}@low": [0.5, "x"]}), r"state\.buffers\[.*\]\[1\]: expected a number"),
        (lambda s: s.update(episodes=-3), r"state\.episodes: expected an integer >= 0"),
        (lambda s: s.update(history={}), r"state\.history: expected a list"),
    ],
)
def test_malformed_adr_states_are_named_and_change_nothing(tmp_path, change, expected):
    adr = AutomaticDomainRandomization(BASE, [AdrParam(MASS, 0.8, 1.2)])
    state = adr.state_dict()
    change(state)
    path = tmp_path / "adr.json"
    path.write_text(json.dumps(state))
    before = adr.state_dict()
    with pytest.raises(ValueError, match=rf"^{path}: " + expected):
        adr.load(path)
    assert adr.state_dict() == before
    path.write_text("{\n  oops\n}")
    with pytest.raises(ValueError, match=rf"^{path}:2: JSON syntax"):
        adr.load(path)
