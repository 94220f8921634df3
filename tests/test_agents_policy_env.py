"""make_policy_env builds the stacks that train and evaluate built by hand before issue 19, with the same wrappers
and the same observations: state (VecNormalize), history (HistoryWrapper) and pixels_state + GoalPerception."""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv, VecFrameStack, VecNormalize

from simreal.agents.env_factory import make_env, make_vec
from simreal.agents.hyperparams import Hyperparams, wrap_env
from simreal.agents.policy_env import make_policy_env
from simreal.agents.run_config import RunConfig
from simreal.agents.run_files import ENCODER
from simreal.perception.checkpoint import save_model
from simreal.perception.goal_perception import GoalTriangulator, load_goal_perception
from simreal.randomization import Domain, parse_randomization

REACH = "simreal/Reach-v0"
PIXELS = {"obs_mode": "pixels_state", "cameras": ["top", "side"], "image_size": 16, "camera_projections": True}
CASES = {
    "state": ("normalize: true", {"obs_mode": "state"}),
    "history": ("normalize: true\n  env_wrapper:\n    - simreal.agents.history.HistoryWrapper: {k: 4}",
                {"obs_mode": "state"}),
    "goal_perception": ("normalize: \"dict(norm_obs_keys=['state', 'goal_estimate'])\"\n"
                        "  pretrain_encoder: \"dict(frames=64, epochs=1)\"\n"
                        "  goal_perception: \"dict(channels=4, layers=1)\"", PIXELS),
}  # fmt: skip


def _run(tmp_path: Path, case: str) -> RunConfig:
    settings, env_kwargs = CASES[case]
    config = tmp_path / "ppo.yml"
    entry = f"  policy: MultiInputPolicy\n  n_envs: 2\n  {settings}\n  env_kwargs: {json.dumps(env_kwargs)}\n"
    config.write_text(f"{REACH}:\n{entry}")
    run = RunConfig(REACH, "ppo", "train", 64, 3, str(tmp_path / "run"), config_path=str(config))
    hp = run.hyperparams()
    if hp.goal_perception is not None:  # detectors as a finished pre-training leaves them (untrained is enough here)
        probe = make_vec(REACH, run.randomization, hp, 1, 0)
        torch.manual_seed(0)
        save_model(GoalTriangulator(probe.observation_space, **hp.goal_perception), run.out / ENCODER)
        probe.close()
    return run


def _old_training_env(run: RunConfig, hp: Hyperparams, n_envs: int, seed: int) -> VecEnv:
    """train()'s stack before issue 19 (fresh run)."""
    venv = make_vec(run.env_id, run.randomization, hp, n_envs, seed, run.vec_env)
    if hp.goal_perception is not None:
        extractor = GoalTriangulator(venv.observation_space, **hp.goal_perception)  # pretrained only if missing
        del extractor
        venv = load_goal_perception(venv, run.out / ENCODER, hp.goal_perception)
    return VecNormalize(venv, **hp.normalize_kwargs) if hp.normalize_kwargs is not None else venv


def _old_curve_env(run: RunConfig, hp: Hyperparams, seed: int) -> VecEnv:
    """train()'s ``_eval_env`` before issue 19."""
    env = make_vec(run.env_id, run.randomization, hp, n_envs=1, seed=seed)
    if hp.goal_perception is not None:
        env = load_goal_perception(env, run.out / ENCODER, hp.goal_perception)
    assert hp.normalize_kwargs is not None
    keys = {k: hp.normalize_kwargs[k] for k in ("norm_obs", "norm_obs_keys") if k in hp.normalize_kwargs}
    return VecNormalize(env, training=False, norm_reward=False, **keys)


def _old_evaluation_env(run: RunConfig, hp: Hyperparams, domain: str, stats: Path) -> VecEnv:
    """evaluate's ``_build_env`` before issue 19 (no transfer)."""
    env = make_env(run.env_id, parse_randomization(domain), **hp.env_kwargs)
    if hp.env_wrapper is not None:
        env = wrap_env(env, hp.env_wrapper)
    venv: VecEnv = DummyVecEnv([lambda: env])
    if hp.frame_stack:
        venv = VecFrameStack(venv, hp.frame_stack)
    if hp.goal_perception is not None:
        venv = load_goal_perception(venv, run.out / ENCODER, hp.goal_perception)
    return VecNormalize.load(str(stats), venv)


def _chain(venv: VecEnv) -> list[str]:
    names = []
    while hasattr(venv, "venv"):
        names.append(type(venv).__name__)
        venv = venv.venv
    names.append(type(venv).__name__)
    env = venv.envs[0]
    while isinstance(env, gym.Wrapper):
        if type(env).__name__ != "Monitor":  # SB3's make_vec_env adds one; it changes no observation
            names.append(type(env).__name__)
        env = env.env
    return names


def _rollout(venv: VecEnv, seed: int, steps: int = 6, normalized: bool = True) -> list:
    rng = np.random.default_rng(0)
    venv.seed(seed)
    frames = [venv.reset()]
    for _ in range(steps):
        actions = rng.uniform(-1, 1, size=(venv.num_envs, *venv.action_space.shape)).astype(np.float32)
        frames.append(venv.step(actions)[0])
    venv.close()
    return frames


def _assert_same(a: list, b: list) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        if isinstance(x, dict):
            assert set(x) == set(y)
            for key in x:
                # the detectors' float32 CNN is not bit-reproducible from call to call (the old stack against
                # itself differs by ~2e-7 m), so the perceived goal is compared to 1e-5; everything else exactly
                atol = 1e-5 if key == "goal_estimate" else 0.0
                np.testing.assert_allclose(x[key], y[key], rtol=0, atol=atol, err_msg=key)
        else:
            np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("case", list(CASES))
def test_training_and_curve_envs_match_the_old_stacks(tmp_path: Path, case: str) -> None:
    run = _run(tmp_path, case)
    hp = run.hyperparams()
    torch.manual_seed(1)
    old = _old_training_env(run, hp, 2, 5)
    old_rng = torch.get_rng_state()
    torch.manual_seed(1)
    new = make_policy_env(run, run.randomization, 2, training=True, seed=5)
    assert torch.equal(old_rng, torch.get_rng_state())  # the same torch draws before the policy is built
    assert _chain(new) == _chain(old)
    _assert_same(_rollout(new, 11), _rollout(old, 11))

    old_curve = _old_curve_env(run, hp, 7)
    new_curve = make_policy_env(run, Domain("train"), 1, training=False, seed=7)
    assert _chain(new_curve) == _chain(old_curve)
    assert not new_curve.training and not new_curve.norm_reward
    _assert_same(_rollout(new_curve, 13), _rollout(old_curve, 13))


@pytest.mark.parametrize("case", list(CASES))
def test_evaluation_env_matches_the_old_stack(tmp_path: Path, case: str) -> None:
    run = _run(tmp_path, case)
    hp = run.hyperparams()
    trained = make_policy_env(run, run.randomization, 2, training=True, seed=0)
    _rollout(trained, 1, steps=20)  # statistics that are not the initial ones
    stats = tmp_path / "vecnormalize.pkl"
    trained.save(str(stats))
    old = _old_evaluation_env(run, hp, "real:1", stats)
    old.training, old.norm_reward = False, False
    new = make_policy_env(run, Domain("real:1"), 1, training=False, seed=0, stats=stats)
    assert _chain(new) == _chain(old)
    assert not new.training and not new.norm_reward
    np.testing.assert_array_equal(
        new.obs_rms["state"].mean if case == "goal_perception" else new.obs_rms.mean,
        old.obs_rms["state"].mean if case == "goal_perception" else old.obs_rms.mean,
    )
    _assert_same(_rollout(new, 21), _rollout(old, 21))
