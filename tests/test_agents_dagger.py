"""DAgger: the student learns the oracle, the expert share decays, saving/loading/resume and bad settings."""

from functools import partial
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

from simreal.agents.algos import ALGOS
from simreal.agents.dagger import DAgger
from simreal.agents.history import HistoryWrapper
from simreal.agents.hyperparams import load_hyperparams, merge_overrides
from simreal.agents.results import load_curve
from simreal.agents.run_config import RunConfig
from simreal.agents.train import train
from simreal.registration import make_env

REACH = "simreal/Reach-v0"


def _venv(n: int = 2) -> DummyVecEnv:
    return DummyVecEnv([lambda: gym.make(REACH, obs_mode="state") for _ in range(n)])


def _model(env, policy: str = "MlpPolicy", **kw) -> DAgger:
    settings = dict(n_steps=32, batch_size=64, gradient_steps=20, expert_steps=256, seed=0, device="cpu")
    return DAgger(policy, env, **{**settings, **kw})


def test_dagger_is_a_config_algorithm_with_its_own_settings() -> None:
    assert ALGOS["dagger"] is DAgger
    hp = load_hyperparams("dagger", "simreal/Push-v0")
    assert hp.algo_kwargs["gradient_steps"] == 100 and hp.algo_kwargs["expert_steps"] == 50_000
    entry = {"policy": "MlpPolicy"}  # PPO's settings (a base class's) are allowed overrides too
    merged = merge_overrides(entry, {"buffer_size": 1000, "learning_rate": 1e-4}, "dagger")
    assert merged["buffer_size"] == 1000 and merged["learning_rate"] == 1e-4
    with pytest.raises(ValueError, match=r"hyperparams\.tau"):
        merge_overrides(entry, {"tau": 0.1}, "dagger")


def test_expert_fraction_falls_linearly_to_zero() -> None:
    model = _model(_venv(), expert_steps=1000)
    fractions = []
    for steps in (0, 250, 1000, 5000):
        model.num_timesteps = steps
        fractions.append(model.expert_fraction())
    assert fractions == [1.0, 0.75, 0.0, 0.0]
    assert _model(_venv(), expert_steps=0).expert_fraction() == 0.0


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("expert_steps", -1),
        ("gradient_steps", 0),
        ("buffer_size", 0),
        ("gradient_steps", 1.5),
        ("rollout_noise", -0.1),
        ("rollout_noise", 2.0),
        ("rollout_noise", True),
        ("input_noise", -0.01),
        ("input_noise", "0.1"),
    ],
)
def test_bad_settings_name_the_field(name: str, value: object) -> None:
    with pytest.raises(ValueError, match=name):
        _model(_venv(1), **{name: value})


def test_needs_in_process_envs_and_box_observations() -> None:
    subproc = SubprocVecEnv([partial(make_env, REACH, obs_mode="state")], start_method="spawn")
    try:
        with pytest.raises(ValueError, match="vec_env 'dummy'"):
            _model(subproc).learn(64)
    finally:
        subproc.close()
    goal = DummyVecEnv([lambda: gym.make(REACH, obs_mode="state", goal_env=True)])
    with pytest.raises(ValueError, match="Box observation"):
        _model(goal, policy="MultiInputPolicy")


class _Recorder(gym.Wrapper):
    """Records the actions the env is stepped with."""

    def __init__(self, env: gym.Env, log: list) -> None:
        super().__init__(env)
        self.log = log

    def step(self, action):
        self.log.append(np.array(action, dtype=np.float32))
        return self.env.step(action)


def test_dataset_holds_the_oracle_labels_of_visited_states_and_keeps_the_newest() -> None:
    executed: list = []
    env = DummyVecEnv([lambda: _Recorder(gym.make(REACH, obs_mode="state"), executed)])
    model = _model(env, buffer_size=50, gradient_steps=1, expert_steps=10**9)  # the oracle acts at every step
    model.learn(64)  # 2 iterations x 32 steps, into a ring of 50
    assert model._stored == 64 and model._obs_data.shape == (50, env.observation_space.shape[0])
    labels = np.roll(model._act_data, -(64 % 50), axis=0)  # oldest first: steps 14..63
    assert np.array_equal(labels, np.stack(executed[14:]))  # each stored label is the action the oracle took there
    assert np.all(np.abs(labels) <= 1.0) and np.abs(labels).max() > 0.05


def test_rollout_noise_perturbs_the_executed_actions_but_not_the_labels() -> None:
    executed: list = []
    env = DummyVecEnv([lambda: _Recorder(gym.make(REACH, obs_mode="state"), executed)])
    model = _model(env, gradient_steps=1, expert_steps=10**9, rollout_noise=0.2)  # the oracle acts, plus noise
    model.learn(64)
    labels, actions = model._act_data[:64], np.stack(executed)
    assert np.all(np.abs(actions) <= 1.0)  # clipped to the action bounds
    noise = (actions - labels)[np.abs(actions) < 1.0]  # where the clip did not bite: exactly the added noise
    assert 0.15 < noise.std() < 0.25 and abs(noise.mean()) < 0.05
    assert np.all(np.abs(labels) <= 1.0) and not np.array_equal(labels, actions)  # the labels stay the oracle's


def test_input_noise_perturbs_the_observations_but_not_the_action_history() -> None:
    env = DummyVecEnv([lambda: HistoryWrapper(gym.make(REACH, obs_mode="state"), k=2)])
    model = _model(env, input_noise=0.1)
    model.learn(32)  # one collection: finds the history's layout
    base_dim = gym.make(REACH, obs_mode="state").observation_space.shape[0]
    assert model._observed_dims == 3 * base_dim  # o_t, o_t-1, o_t-2; then 2 actions of 4
    clean = np.random.default_rng(0).random((4000, model._obs_data.shape[1]), dtype=np.float32)
    before = clean.copy()
    noise = model._with_input_noise(clean) - clean
    assert np.array_equal(clean, before)  # the stored data stay clean
    assert np.array_equal(noise[:, model._observed_dims :], np.zeros_like(noise[:, model._observed_dims :]))
    per_row = noise[:, : model._observed_dims].std(axis=1)  # each row's std ~ U(0, 0.1)
    assert per_row.max() < 0.13 and per_row.min() < 0.01 and 0.04 < per_row.mean() < 0.06
    assert _model(_venv(1))._observed_dims == base_dim  # no history: every column is an observation


def test_dataset_grows_geometrically_and_keeps_every_sample() -> None:
    model = _model(_venv(1), buffer_size=5000)
    dim = model.observation_space.shape[0]
    rng = np.random.default_rng(0)
    obs, act = rng.random((3000, dim), dtype=np.float32), rng.random((3000, 4), dtype=np.float32)
    capacities = set()
    for i in range(0, 3000, 8):
        model._store(obs[i : i + 8], act[i : i + 8])
        capacities.add(len(model._obs_data))
    assert sorted(capacities) == [1024, 2048, 4096]  # 3 allocations, not one per store
    assert np.array_equal(model._obs_data[:3000], obs) and np.array_equal(model._act_data[:3000], act)
    for i in range(0, 3000, 8):  # past buffer_size the capacity stops there and the oldest rows are overwritten
        model._store(obs[i : i + 8], act[i : i + 8])
    assert len(model._obs_data) == 5000 and np.array_equal(model._obs_data[:1000], obs[2000:])


def test_student_learns_reach_from_the_oracle_and_round_trips(tmp_path: Path) -> None:
    out = train(RunConfig(
        env_id=REACH, algo="dagger", timesteps=4096, seed=0, out_dir=tmp_path / "run", eval_freq=4096,
        eval_episodes=5, progress_bar=False,
    ))  # fmt: skip
    curve = load_curve(out)
    assert curve.success_rate[-1] >= 0.8  # the oracle solves every episode; the student nearly so after 4k steps
    model = DAgger.load(out / "model.zip", device="cpu")
    obs = np.zeros((3, *model.observation_space.shape), np.float32)
    again = DAgger.load(out / "model.zip", device="cpu")
    assert np.array_equal(model.predict(obs, deterministic=True)[0], again.predict(obs, deterministic=True)[0])
    assert not hasattr(model, "_obs_data") or model._stored == 0  # the dataset is not saved with the model
