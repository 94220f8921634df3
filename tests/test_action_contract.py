"""One action contract for every env, kept by every randomization wrapper (issue 13).

Action fuzzing through every registered id x every domain: wrong shapes, scalars, NaN/inf, wrong dtypes and ragged
input raise the same ValueError (naming ``action``, the shape and finiteness) with or without randomization; a
rejected action leaves the env usable (nothing queued); out-of-range values mean their clipped value everywhere.
"""

import gymnasium as gym
import numpy as np
import pytest

from simreal.agents.history import ACTION_KEY, HistoryWrapper
from simreal.envs.actions import check_action
from simreal.randomization import DOMAINS, AdrWrapper
from simreal.randomization.adr import AdrParam, AutomaticDomainRandomization
from simreal.registration import ENVS

DOMAIN_CASES = [None, *DOMAINS]


def _bad_actions(n: int) -> list[tuple[str, object]]:
    return [
        ("scalar", 0.0),
        ("numpy scalar", np.float32(0.5)),
        ("too short", np.zeros(n - 1)),
        ("one", np.zeros(1) if n != 1 else np.zeros(2)),
        ("too long", np.zeros(n + 1)),
        ("2-d", np.zeros((1, n))),
        ("batched", np.zeros((2, n))),
        ("nan", np.full(n, np.nan)),
        ("inf", np.full(n, np.inf)),
        ("-inf in one entry", np.array([0.0] * (n - 1) + [-np.inf])),
        ("strings", np.array(["0"] * n)),
        ("bools", np.zeros(n, dtype=bool)),
        ("complex", np.zeros(n, dtype=complex)),
        ("objects", np.array([None] * n, dtype=object)),
        ("ragged list", [[0.0], [0.0, 0.0]]),
        ("dict", {"a": 1}),
        ("None", None),
    ]


def _message(env: gym.Env, action: object) -> str:
    with pytest.raises(ValueError, match=r"^action: expected a finite real-valued array of shape") as info:
        env.step(action)
    return str(info.value)


@pytest.mark.parametrize("env_id", sorted(ENVS))
def test_every_domain_rejects_bad_actions_like_the_plain_env(env_id):
    plain = gym.make(env_id)
    plain.reset(seed=0)
    n = plain.action_space.shape[0]
    expected = {name: _message(plain, a) for name, a in _bad_actions(n)}
    plain.close()
    assert f"shape ({n},)" in expected["scalar"]
    assert "got shape ()" in expected["scalar"] and "non-finite" in expected["nan"]
    assert "dtype <U1" in expected["strings"] and "dtype bool" in expected["bools"]
    for domain in DOMAINS:
        env = gym.make(env_id, domain=domain)
        env.reset(seed=0)
        for name, action in _bad_actions(n):
            assert _message(env, action) == expected[name], (domain, name)
        # nothing was queued or perturbed: the env steps normally afterwards, for the latency's whole depth
        for _ in range(4):
            obs, reward, *_ = env.step(np.zeros(n, dtype=np.float32))
            assert np.isfinite(reward) and env.observation_space.contains(obs)
        env.close()


@pytest.mark.parametrize("env_id", sorted(ENVS))
@pytest.mark.parametrize("domain", DOMAIN_CASES)
def test_out_of_range_actions_mean_their_clipped_value_in_every_domain(env_id, domain):
    env = gym.make(env_id, domain=domain)
    n = env.action_space.shape[0]
    big = np.array([5.0, -7.0, 1e30, -2.0][:n])
    rollouts = []
    for action in (big, np.clip(big, -1.0, 1.0), list(np.clip(big, -1, 1)), np.clip(big, -1, 1).astype(int)):
        env.reset(seed=3)
        rollouts.append([env.step(action)[0] for _ in range(3)])
    env.close()
    first = rollouts[0]
    for other in rollouts[1:]:
        for a, b in zip(first, other, strict=True):
            np.testing.assert_array_equal(a, b)


def test_adr_wrapper_keeps_the_contract():
    env = gym.make("simreal/Reach-v0", randomization="physics")
    spec = env.get_wrapper_attr("randomization_spec")
    path = "physics.entries[2].dist"
    adr = AutomaticDomainRandomization(spec, [AdrParam(path, 1.0, 1.0, 0.5, 1.5)])
    wrapped = AdrWrapper(env, adr, seed=0)
    wrapped.reset(seed=0)
    with pytest.raises(ValueError, match=r"^action: .*shape \(4,\).*got shape \(3,\)"):
        wrapped.step(np.zeros(3))
    with pytest.raises(ValueError, match=r"^action: .*non-finite"):
        wrapped.step(np.array([0.0, np.nan, 0.0, 0.0]))
    wrapped.step(np.zeros(4))


def test_check_action_returns_a_clipped_float64_copy():
    space = gym.spaces.Box(-1.0, 1.0, shape=(3,), dtype=np.float32)
    action = np.array([0.5, 2.0, -3.0], dtype=np.float32)
    out = check_action(action, space)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, [0.5, 1.0, -1.0])
    assert action[1] == 2.0  # the caller's array is not modified
    np.testing.assert_array_equal(check_action([1, 0, -1], space), [1.0, 0.0, -1.0])  # ints and lists are numbers


def test_check_action_on_other_spaces_requires_membership():
    space = gym.spaces.Discrete(3)
    assert check_action(2, space) == 2
    with pytest.raises(ValueError, match=r"^action: expected an element of Discrete\(3\), got 5"):
        check_action(5, space)


def test_history_wrapper_keeps_the_contract_and_records_clipped_actions():
    env = HistoryWrapper(gym.make("simreal/Reach-v0", domain="train", obs_mode="pixels_state", image_size=16), k=2)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"^action: .*got shape \(3,\)"):
        env.step(np.zeros(3))
    obs, *_ = env.step(np.array([5.0, -5.0, 0.5, 0.0]))
    np.testing.assert_array_equal(obs[ACTION_KEY][:4], [1.0, -1.0, 0.5, 0.0])
    assert env.observation_space.contains(obs)
    env.close()


def test_vector_env_checks_the_batch_before_any_worker_sees_it():
    envs = gym.make_vec("simreal/Reach-v0", num_envs=2)
    envs.reset(seed=0)
    for bad, what in [
        (np.zeros(8), r"got shape \(8,\)"),  # same size, different shape: was silently reshaped
        (np.zeros((4, 2)), r"got shape \(4, 2\)"),
        (np.zeros(4), r"got shape \(4,\)"),
        (np.full((2, 4), np.nan), "non-finite"),
        (np.array([["a"] * 4] * 2), "dtype <U1"),
    ]:
        expected = r"^action: expected a finite real-valued array of shape \(2, 4\).*" + what
        with pytest.raises(ValueError, match=expected):
            envs.step(bad)
    big = np.array([[1e39, -1e39, 0.5, 0.0]] * 2)  # finite in float64, inf once cast to float32: still clipped
    obs_big, *_ = envs.step(big)
    envs.reset(seed=0)
    obs_clipped, *_ = envs.step(np.clip(big, -1, 1))
    np.testing.assert_array_equal(obs_big, obs_clipped)
    envs.close()
