"""DomainRandomization on the real envs: determinism, cadence, pristine restore, info, check_env, gym.make."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import simreal  # noqa: F401  (registers the ids)
from simreal.randomization import DomainRandomization, RandomizationSpec, load_preset, make_randomized

REACH = "simreal/Reach-v0"


def make(randomization="full", resample="episode", env_id=REACH, obs_mode="pixels", **kw):
    env = gym.make(env_id, obs_mode=obs_mode, image_size=32, **kw).unwrapped
    spec = load_preset(randomization, "driving" if "Lane" in env_id else "arm")
    return DomainRandomization(env, spec, resample=resample)


def model_snapshot(model):
    out = {"opt.timestep": model.opt.timestep, "opt.gravity": model.opt.gravity.copy()}
    for name in dir(model):
        value = getattr(model, name) if not name.startswith("_") else None
        if isinstance(value, np.ndarray):
            out[name] = value.copy()
    return out


def assert_same_model(a, b):
    for k in a:
        assert np.array_equal(a[k], b[k]), k


def rollout(env, seed, steps=3):
    obs, info = env.reset(seed=seed)
    frames = [obs]
    rng = np.random.default_rng(0)
    for _ in range(steps):
        action = rng.uniform(env.action_space.low, env.action_space.high).astype(np.float32)
        obs, *_ = env.step(action)
        frames.append(obs)
    return info, frames


def test_same_seed_same_params_and_pixels_different_seed_differs():
    a, b = make(), make()
    info_a, frames_a = rollout(a, seed=11)
    info_b, frames_b = rollout(b, seed=11)
    assert a.params == b.params
    assert info_a["randomization"] == info_b["randomization"]
    for fa, fb in zip(frames_a, frames_b, strict=True):
        assert np.array_equal(fa, fb)
    params_11 = a.params
    info_c, frames_c = rollout(a, seed=12)
    assert a.params != params_11
    assert not np.array_equal(frames_c[0], frames_a[0])
    assert info_c["spec_hash"] == info_a["spec_hash"] == load_preset("full", "arm").hash()


def test_randomized_pixels_differ_from_canonical():
    canonical, _ = rollout(make("none"), seed=3, steps=0)[1], None
    visual = rollout(make("visual"), seed=3, steps=0)[1]
    assert not np.array_equal(canonical[0], visual[0])


@pytest.mark.parametrize(("resample", "expected"), [("episode", 1), ("step", 6), (3, 2), (2, 3)])
def test_resample_cadence(resample, expected):
    env = make("physics", resample=resample, obs_mode="state")
    env.reset(seed=0)
    seen = [env.params]
    for _ in range(6):
        env.step(env.action_space.sample())
        if env.params is not seen[-1]:
            seen.append(env.params)
    assert len(seen) == expected  # the reset draw covers the first N steps, then a new draw every N
    env.reset(seed=1)
    assert env.params is not seen[-1]


def test_invalid_resample_raises():
    env = gym.make(REACH, obs_mode="state").unwrapped
    for bad in ("sometimes", 0, -2, True):
        with pytest.raises(ValueError, match="resample"):
            DomainRandomization(env, RandomizationSpec(), resample=bad)


def test_none_keeps_model_pristine_and_full_restores_it():
    env = make("none", obs_mode="state")
    pristine = model_snapshot(env.unwrapped.model)
    for seed in range(5):
        rollout(env, seed, steps=2)
    assert_same_model(model_snapshot(env.unwrapped.model), pristine)
    full = make("full", obs_mode="pixels")
    pristine = model_snapshot(full.unwrapped.model)
    for seed in range(5):
        rollout(full, seed, steps=2)
    assert not np.array_equal(full.unwrapped.model.tex_data, pristine["tex_data"])
    full.set_spec(load_preset("none", "arm"))
    for seed in range(3):
        rollout(full, seed, steps=1)
    assert_same_model(model_snapshot(full.unwrapped.model), pristine)


def test_info_is_json_able_and_fresh():
    import json

    env = make("full")
    _, info0 = env.reset(seed=0)
    *_, info1 = env.step(env.action_space.sample())
    assert info0["randomization"] is not info1["randomization"]
    assert json.loads(json.dumps(info1["randomization"]))["spec_hash"] == info1["spec_hash"]
    assert "is_success" in info1


def test_info_summary_deep_copies_are_independent_and_cheap_to_make():
    import copy
    import json
    import pickle

    from simreal.randomization.params import InfoSummary

    env = make("full", obs_mode="state")
    env.reset(seed=0)
    *_, info = env.step(env.action_space.sample())
    summary = info["randomization"]
    assert isinstance(summary, InfoSummary)
    deep = copy.deepcopy(info)["randomization"]  # what SB3's DummyVecEnv does to every step's infos
    assert deep == summary and type(deep) is InfoSummary
    for key, value in summary.items():
        if isinstance(value, dict):
            assert deep[key] is not value  # every dict is new, every leaf immutable
            assert all(isinstance(v, (tuple, str, int, float, type(None))) for v in value.values())
    deep["draws"]["extra"] = (1.0,)
    deep["control_step"]["action_repeat"] = 9
    assert "extra" not in summary["draws"] and summary["control_step"].get("action_repeat") != 9
    assert pickle.loads(pickle.dumps(summary)) == summary
    assert json.loads(json.dumps(summary)) == json.loads(json.dumps(dict(summary)))


def test_control_latency_delays_actions():
    spec = RandomizationSpec.from_dict({"control": {"action_latency": 2}})
    env = DomainRandomization(gym.make(REACH, obs_mode="state").unwrapped, spec)
    env.reset(seed=0)
    applied = [env._control_action(np.full(7, i, dtype=np.float32))[0] for i in range(5)]
    assert applied == [0, 0, 0, 1, 2]


@pytest.mark.parametrize(
    ("env_id", "preset", "obs_mode"),
    [(REACH, "full", "pixels"), (REACH, "full", "state"), ("simreal/Push-v0", "physics", "pixels_state")],
)
@pytest.mark.filterwarnings("ignore:.*different from the unwrapped version")
def test_check_env_on_wrapped_envs(env_id, preset, obs_mode):
    check_env(make(preset, env_id=env_id, obs_mode=obs_mode), skip_render_check=True)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:.*different from the unwrapped version")
def test_check_env_driving():
    check_env(make("full", env_id="simreal/LaneFollow-v0"), skip_render_check=True)


def test_gym_make_accepts_preset_path_spec_and_domain(tmp_path):
    spec = load_preset("visual", "arm")
    spec.save(tmp_path / "v.yaml")
    hashes = set()
    for kwargs in ({"randomization": "visual"}, {"randomization": str(tmp_path / "v.yaml")}, {"randomization": spec}):
        env = gym.make(REACH, obs_mode="state", **kwargs)
        _, info = env.reset(seed=0)
        hashes.add(info["spec_hash"])
    assert hashes == {spec.hash()}
    _, info = gym.make(REACH, obs_mode="state", domain="test").reset(seed=0)
    assert info["spec_hash"] == load_preset("test", "arm").hash()
    with pytest.raises(ValueError, match="randomization"):
        gym.make(REACH, randomization="fancy")
    base = gym.make(REACH, obs_mode="state").unwrapped
    assert make_randomized(base) is base
    with pytest.raises(ValueError, match="randomization/domain"):
        make_randomized(base, randomization="full", domain="train")
