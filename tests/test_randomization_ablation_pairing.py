"""The ablation is paired (common random numbers) through the wrapper, per episode and per step: under the same
reset seed, "``real:k`` without ``<group>``" draws every kept factor's values as on ``real:k`` (mid-episode resamples
included, so the per-step draws of a removed sensor or control group still advance the stream), a removed visual
or sensor group cannot change a state trajectory, and a removed group's output is dropped (raw frames, the
policy's actions executed unchanged)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import simreal  # noqa: F401  (registers the ids)
from simreal.envs.oracles import oracle_for
from simreal.randomization import DomainRandomization, domain_spec
from simreal.randomization.ablation import ablation_spec, present_groups
from simreal.randomization.factors import in_group

FAMILY = {"simreal/Reach-v0": "arm", "simreal/Push-v0": "arm", "simreal/LaneFollow-v0": "driving"}
STATE_BLIND = ("visual.colors", "visual.textures", "visual.lights", "visual.camera", "visual.distractors")
STATE_BLIND += ("visual.skybox", "sensor")  # groups a state observation cannot see


class Executed:
    """The base env, wrapped directly, recording what its ``step_checked`` receives and returns."""

    def __init__(self, env_id: str, **kwargs: Any) -> None:
        self.env = gym.make(env_id, **kwargs).unwrapped
        self.actions: list[np.ndarray] = []
        self.frame_skips: list[int] = []
        self.obs: list[Any] = []
        self.issued: list[np.ndarray] = []  # the actions given to the outer wrapper (filled by the rollout)
        inner = self.env.step_checked

        def recording(action: np.ndarray):  # type: ignore[no-untyped-def]
            self.actions.append(np.array(action, copy=True))
            self.frame_skips.append(self.env.frame_skip)
            out = inner(action)
            self.obs.append(out[0])
            return out

        self.env.step_checked = recording  # type: ignore[method-assign]


def _oracle_episode(env_id: str, spec, seed: int, steps: int) -> tuple[list[np.ndarray], list[float]]:
    env = DomainRandomization(gym.make(env_id, obs_mode="state"), spec)
    oracle = oracle_for(env_id)
    obs, _ = env.reset(seed=seed)
    states, rewards = [obs], []
    for _ in range(steps):
        obs, reward, terminated, truncated, _ = env.step(oracle(env))
        states.append(obs)
        rewards.append(float(reward))
        if terminated or truncated:
            break
    env.close()
    return states, rewards


@pytest.mark.parametrize("env_id", sorted(FAMILY))
def test_a_state_oracle_runs_the_same_trajectory_without_a_visual_group(env_id: str) -> None:
    family = FAMILY[env_id]
    full_states, full_rewards = _oracle_episode(env_id, domain_spec("real:2", family), seed=3, steps=30)
    assert len(full_states) > 10
    for group in STATE_BLIND:
        states, rewards = _oracle_episode(env_id, ablation_spec("real:2", group, family), seed=3, steps=30)
        assert rewards == full_rewards, group
        assert len(states) == len(full_states)
        for a, b in zip(states, full_states, strict=True):
            np.testing.assert_array_equal(a, b, err_msg=group)
    for group in ("physics", "control"):  # these do change the dynamics (the check above can fail)
        states, _ = _oracle_episode(env_id, ablation_spec("real:2", group, family), seed=3, steps=30)
        assert any(not np.array_equal(a, b) for a, b in zip(states, full_states, strict=False)), group


def _pixel_rollout(spec, seed: int, steps: int, resample: int) -> tuple[Executed, list[dict], list[Any], list[Any]]:
    """Executed actions, infos, observations and (per step) the env's own last observation of a random rollout."""
    executed = Executed("simreal/Push-v0", obs_mode="pixels_state", image_size=24)
    env = DomainRandomization(executed.env, spec, resample=resample)
    obs, info = env.reset(seed=seed)
    infos, observations, raw = [info], [obs], []
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        action = rng.uniform(-1.0, 1.0, env.action_space.shape).astype(env.action_space.dtype)
        executed.issued.append(action)
        obs, _, _, _, info = env.step(action)
        infos.append(info)
        observations.append(obs)
        raw.append(executed.obs[-1])
    env.close()
    return executed, infos, observations, raw


def test_kept_draws_stay_paired_through_mid_episode_resamples() -> None:
    """Push with pixels and state, every group of real:1 removed in turn, params redrawn every 3 steps: the kept
    factors' draws equal the member's at every step (so the removed sensor's and control's per-step draws kept
    the stream aligned), and the removed group's output is dropped."""
    steps, resample = 10, 3
    _, full_infos, full_obs, _ = _pixel_rollout(domain_spec("real:1", "arm"), 4, steps, resample)
    full_draws = [dict(i["randomization"]["draws"]) for i in full_infos]
    assert full_infos[1]["randomization"]["control_step"]  # real:1 jitters the control period every step
    for group in present_groups(domain_spec("real:1", "arm"), "arm"):
        executed, infos, observations, raw = _pixel_rollout(ablation_spec("real:1", group, "arm"), 4, steps, resample)
        for t, (info, draws) in enumerate(zip(infos, full_draws, strict=True)):
            kept = {k: v for k, v in draws.items() if not in_group(k, group)}
            assert info["randomization"]["draws"] == kept, (group, t)
        if group in STATE_BLIND:
            for a, b in zip(observations, full_obs, strict=True):
                np.testing.assert_array_equal(a["state"], b["state"], err_msg=group)
        if group == "sensor":  # the frames are the env's own renders
            assert infos[-1]["randomization"]["sensor"] == {}
            assert any(
                not np.array_equal(a["pixels"], b["pixels"]) for a, b in zip(observations, full_obs, strict=True)
            )
            for obs, own in zip(observations[1:], raw, strict=True):
                np.testing.assert_array_equal(obs["pixels"], own["pixels"])
        if group == "control":  # the policy's actions, executed once per step at the nominal control period
            assert all(i["randomization"]["control"] == {} and i["randomization"]["control_step"] == {} for i in infos)
            assert len(executed.frame_skips) == steps and len(set(executed.frame_skips)) == 1
            np.testing.assert_array_equal(np.stack(executed.actions), np.stack(executed.issued))
