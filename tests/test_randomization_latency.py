"""Control factors of DomainRandomization for latency robustness: fractional (sub-step) actuation latency,
control-period jitter, and the presets' coverage of 0-4 steps."""

import dataclasses

import gymnasium as gym
import numpy as np
import pytest

import simreal  # noqa: F401  (registers the ids)
from simreal.experiments.config import PACKAGE_ROOT
from simreal.randomization import DomainRandomization, RandomizationSpec, SpecError, load_preset
from simreal.randomization.heldout import heldout_violations

REACH = "simreal/Reach-v0"


def _wrapped(control: dict) -> DomainRandomization:
    env = DomainRandomization(gym.make(REACH).unwrapped, RandomizationSpec.from_dict({"control": control}))
    env.reset(seed=0)
    return env


def test_fractional_latency_blends_the_two_neighbouring_delayed_actions():
    env = _wrapped({"action_latency": 1.25})
    applied = [float(env._control_action(np.full(4, i, dtype=np.float32))[0]) for i in range(5)]
    # step t applies 0.75 a[t-1] + 0.25 a[t-2]; before the first commands arrive the oldest one holds
    assert applied == pytest.approx([0.0, 0.0, 0.75, 1.75, 2.75])


def test_integer_latency_keeps_its_exact_delay():
    env = _wrapped({"action_latency": 3})
    applied = [float(env._control_action(np.full(4, i, dtype=np.float32))[0]) for i in range(6)]
    assert applied == [0, 0, 0, 0, 1, 2]


def test_latency_queue_restarts_at_reset():
    env = _wrapped({"action_latency": 2})
    for i in range(4):
        env._control_action(np.full(4, 9 + i, dtype=np.float32))
    env.reset(seed=1)
    assert float(env._control_action(np.zeros(4, dtype=np.float32))[0]) == 0.0


def _ee_path(control: dict, seed: int = 0) -> np.ndarray:
    env = _wrapped(control)
    env.reset(seed=seed)
    path = []
    for _ in range(6):
        env.step(np.array([1.0, 0.0, 0.0, 1.0], dtype=np.float32))
        path.append(env.unwrapped.ee_position)
    return np.array(path)


def test_period_jitter_changes_the_motion_and_restores_the_substeps():
    env = _wrapped({"period_jitter": {"type": "uniform", "low": 0.5, "high": 0.6}})
    nominal = env.unwrapped.frame_skip
    env.step(env.action_space.sample())
    assert env.unwrapped.frame_skip == nominal
    slow = _ee_path({"period_jitter": {"type": "uniform", "low": 0.5, "high": 0.6}})
    plain = _ee_path({})
    # shorter control periods: the arm covers less ground per step towards the commanded +x
    assert slow[2, 0] - slow[0, 0] < plain[2, 0] - plain[0, 0]


def test_period_jitter_must_be_positive():
    with pytest.raises(SpecError, match="period_jitter"):
        RandomizationSpec.from_dict({"control": {"period_jitter": {"type": "uniform", "low": 0.0, "high": 1.2}}})


@pytest.mark.parametrize("family", ["arm", "driving"])
def test_training_latency_covers_every_held_out_specs_latency(family):
    low, high = load_preset("full", family).control.action_latency.support()
    assert (low, high) == (0, 4)
    for name in ("test", "real"):
        held = load_preset(name, family).control.action_latency.support()  # an interval, or a choice's options
        assert low <= min(held) and max(held) <= high, name


@pytest.mark.parametrize("family", ["arm"])
def test_training_covers_0_to_4_steps_of_latency_and_dynamics(family):
    spec = load_preset("full", family)
    low, high = spec.control.action_latency.support()
    assert low == 0 and high >= 3
    fields = {(e.field, e.names) for e in spec.physics.entries}
    for field in ("actuator_kp", "dof_damping", "dof_frictionloss", "body_mass"):
        assert any(f == field for f, _ in fields), field
    assert spec.control.period_jitter is not None


def test_the_control_rate_training_spec_covers_every_held_out_driving_control_rate():
    """configs/randomization/driving_train_control_rate.yaml: the driving training domain plus an action repeat
    of 1-3 periods per step, a covered unit; it adds no overlap with a held-out spec beyond that unit."""
    spec = RandomizationSpec.load(PACKAGE_ROOT / "configs" / "randomization" / "driving_train_control_rate.yaml")
    train = load_preset("full", "driving")
    assert spec.control.action_repeat.support() == frozenset({1, 2, 3})
    assert dataclasses.replace(spec, name=train.name, control=train.control).to_dict() == train.to_dict()
    real = load_preset("real", "driving")
    assert set(real.control.action_repeat.support()) <= spec.control.action_repeat.support()
    assert heldout_violations(spec, real) == heldout_violations(train, real) == []
    # driving test runs its control loop at the nominal rate (no action_repeat): the one unit training adds
    assert heldout_violations(spec, load_preset("test", "driving")) == [
        "control:action_repeat: randomized in training but not in the held-out spec"
    ]


def test_the_wide_camera_training_spec_is_the_control_rate_one_with_lab_wide_mounts():
    """configs/randomization/driving_train_wide_camera.yaml: the control-rate domain with the camera mount drawn
    across a lab's plausible range; it overlaps a held-out spec in the camera units and nowhere else."""
    folder = PACKAGE_ROOT / "configs" / "randomization"
    spec = RandomizationSpec.load(folder / "driving_train_wide_camera.yaml")
    base = RandomizationSpec.load(folder / "driving_train_control_rate.yaml")
    camera = spec.visual.camera
    assert (camera.pos_jitter.low, camera.pos_jitter.high) == (-0.08, 0.08)
    assert (camera.rot_jitter_deg.low, camera.rot_jitter_deg.high) == (-6.0, 6.0)
    assert (camera.fovy_jitter.low, camera.fovy_jitter.high) == (-10.0, 10.0)
    same = dataclasses.replace(spec, name=base.name, visual=dataclasses.replace(spec.visual, camera=base.visual.camera))
    assert same.to_dict() == base.to_dict()
    overlap = "camera:*: every factor ['fovy', 'pos', 'rot'] overlaps the training support"
    assert heldout_violations(spec, load_preset("real", "driving")) == [overlap]
    assert heldout_violations(spec, load_preset("test", "driving")) == [
        overlap,
        "control:action_repeat: randomized in training but not in the held-out spec",
    ]
