"""Experiment config validation, the matrix runner (on Pendulum-v1) and the ADR / sensitivity spec tools."""

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from simreal.agents.evaluate import DomainTask
from simreal.agents.results import load_results
from simreal.agents.run_config import EvalConfig
from simreal.experiments import policy_matrix
from simreal.experiments.policy_matrix import _method_cells, _train_dirs, _train_tasks, run_experiment
from simreal.experiments.policy_matrix_config import ExperimentConfig
from simreal.randomization import Constant, Uniform, load_preset
from simreal.randomization.adr_env import adr_params, make_adr_env
from simreal.randomization.realities import reality_domains
from simreal.randomization.sweeps import group_spec, scale_uniforms, uniform_paths

BASE = {
    "name": "t",
    "env_id": "Pendulum-v1",
    "algo": "ppo",
    "methods": [{"name": "no-DR"}, {"name": "DR", "randomization": "train"}],
    "seeds": [0, 1],
}


def test_config_rejects_unknown_keys() -> None:
    with pytest.raises(ValueError, match="bogus"):
        ExperimentConfig.from_dict({**BASE, "bogus": 1})
    with pytest.raises(ValueError, match=r"methods\[0\]: unknown keys \['foo'\]"):
        ExperimentConfig.from_dict({**BASE, "methods": [{"name": "a", "foo": 1}]})


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"algo": "dqn"}, "algo"),
        ({"seeds": [1, 1]}, "seeds"),
        ({"episodes": 0}, "episodes"),
        ({"eval_envs": 0}, "eval_envs"),
        ({"eval_envs": 2.5}, "eval_envs"),
        ({"methods": [{"name": "a", "transfer": "/nope.pt"}]}, "transfer"),
    ],
)
def test_config_bad_values(change: dict, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        ExperimentConfig.from_dict({**BASE, **change})


def test_run_experiment_matrix(tmp_path: Path, tiny_experiment: Callable[..., Path]) -> None:
    path = tiny_experiment(out_dir=str(tmp_path / "runs"), report_dir=str(tmp_path / "report"))
    with ThreadPoolExecutor(max_workers=1) as pool:
        html = run_experiment(path, executor=pool)
    assert html == tmp_path / "report" / "report.html"
    for method in ("no-DR", "DR"):
        for seed in (0, 1):
            res = load_results(tmp_path / "runs" / "eval" / method / f"seed_{seed}")
            assert res.run.method == method
            assert res.run.seed == seed
            assert [d.domain for d in res.domains] == ["canonical", *reality_domains()]  # real = its members
    assert "P(X > Y)" in (tmp_path / "report" / "report.md").read_text()


class _RecordingPool(ThreadPoolExecutor):
    """One worker; logs when each cell is queued and when it finished; the DR training cell takes a second longer."""

    def __init__(self) -> None:
        super().__init__(max_workers=1)
        self.events: list[tuple[str, str]] = []

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def, override]
        label = f"{fn.__name__}:{getattr(args[0], 'out_dir', None) or getattr(args[0], 'domain', '')}"
        self.events.append(("queued", label))

        def run():  # type: ignore[no-untyped-def]
            if fn.__name__ == "run_train_task" and "/train/train/" in str(args[0].out_dir):
                time.sleep(1.0)
            return fn(*args, **kwargs)

        future = super().submit(run)
        future.add_done_callback(lambda _: self.events.append(("finished", label)))
        return future


def test_a_methods_evaluation_is_queued_once_its_policies_are_trained(
    tmp_path: Path, tiny_experiment: Callable[..., Path]
) -> None:
    """no-DR's evaluation cells are queued as soon as its policy is trained, while DR still trains: a free worker
    evaluates instead of waiting for the last training cell."""
    path = tiny_experiment(seeds=[0], domains=["canonical"])
    with _RecordingPool() as pool:
        run_experiment(path, executor=pool)
    events = pool.events
    no_dr_eval = next(i for i, (what, label) in enumerate(events) if what == "queued" and "run_domain_task" in label)
    dr_label = next(label for _, label in events if "/train/train/" in label)
    dr_trained = events.index(("finished", dr_label))
    assert no_dr_eval < dr_trained, events
    assert sum(what == "queued" and "run_domain_task" in label for what, label in events) == 2  # one per method


def test_uniform_paths_and_scaling() -> None:
    full = load_preset("full", "arm")
    paths = dict(uniform_paths(full))
    assert paths["visual.lights.intensity"] == Uniform(0.6, 1.4)
    lights = scale_uniforms(full.visual.lights, 0.5)
    assert lights.intensity.low == pytest.approx(0.8)
    assert lights.intensity.high == pytest.approx(1.2)
    assert scale_uniforms(Uniform(1.0, 3.0), 0.0) == Constant(2.0)
    with pytest.raises(ValueError, match="strength"):
        scale_uniforms(full, -1.0)


def test_group_spec() -> None:
    assert group_spec("arm", "visual.lights", 0.0) == load_preset("none", "arm")
    spec = group_spec("arm", "visual.lights", 1.0)
    assert spec.visual.lights == load_preset("full", "arm").visual.lights
    assert spec.visual.colors == ()
    assert spec.physics == load_preset("none", "arm").physics
    with pytest.raises(ValueError, match="group"):
        group_spec("arm", "visual.nope", 1.0)


def test_adr_params_start_narrow_and_env_runs() -> None:
    full = load_preset("full", "arm")
    params = adr_params(full)
    assert len(params) == len(list(uniform_paths(full)))
    assert all(p.low == p.high for p in params)
    assert all(p.min_low < p.max_high for p in params)
    env = make_adr_env("simreal/Reach-v0", obs_mode="state")
    env.reset(seed=0)
    for _ in range(3):
        env.step(env.action_space.sample())
    env.close()


def test_cell_progress_lines_count_cells_and_give_an_eta(capsys: pytest.CaptureFixture[str]) -> None:
    from simreal.experiments.policy_matrix import _Progress

    progress = _Progress("cell", 3)
    for _ in range(3):
        progress.finished()
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(",")[0] for line in lines] == [f"[experiment] cell {k}/3 done" for k in (1, 2, 3)]
    assert all(" min elapsed, ETA " in line for line in lines) and lines[-1].endswith("ETA 0.0 min")


def test_method_hyperparams_train_in_their_own_folder_and_replace_the_experiments_keys(
    tiny_experiment: Callable[..., Path],
) -> None:
    history = {"env_wrapper": [{"simreal.agents.history.HistoryWrapper": {"k": 2}}]}
    methods = [
        {"name": "DR", "randomization": "train"},
        {"name": "DR + history", "randomization": "train", "hyperparams": history},
        {"name": "DR + history + translator", "randomization": "train", "hyperparams": history},
        {"name": "DR, 2 epochs", "randomization": "train", "hyperparams": {"n_epochs": 2}},
    ]
    cfg = ExperimentConfig.load(tiny_experiment(methods=methods, hyperparams={"n_epochs": 3}, seeds=[0]))
    dirs = _train_dirs(cfg)
    labels = [Path(d).parent.name for d in dirs.values()]
    assert len(dirs) == 3  # the two history methods share their policies
    assert labels[0] == "train" and labels[1].startswith("train-") and labels[2].startswith("train-")
    assert len(set(labels)) == 3
    tasks = _train_tasks(cfg, dirs)
    assert [t.out_dir for t in tasks] == list(dirs.values())
    merged = [dict(t.run.hyperparams_overrides) for t in tasks]
    assert merged == [{"n_epochs": 3}, {"n_epochs": 3, **history}, {"n_epochs": 2}]
    assert {str(getattr(t.run.randomization, "name", "")) for t in tasks} == {"train"}


@pytest.mark.parametrize(
    ("hyperparams", "match"),
    [
        ({"bogus": 1}, r"methods\[1\]\.hyperparams\.bogus: unknown key"),
        ([1], r"methods\[1\]\.hyperparams: must be a mapping"),
    ],
)
def test_bad_method_hyperparams_name_the_method(
    tiny_experiment: Callable[..., Path], hyperparams: object, match: str
) -> None:
    methods = [{"name": "DR", "randomization": "train"}, {"name": "x", "hyperparams": hyperparams}]
    with pytest.raises(ValueError, match=match):
        ExperimentConfig.load(tiny_experiment(methods=methods))


def test_a_method_with_its_own_seeds_trains_and_is_evaluated_with_them(
    tiny_experiment: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    methods = [{"name": "no-DR"}, {"name": "DR", "randomization": "train", "seeds": [0, 1, 4]}]
    cfg = ExperimentConfig.load(tiny_experiment(methods=methods, seeds=[0, 1], gif_frames=5))
    assert [cfg.seeds_of(m) for m in cfg.methods] == [(0, 1), (0, 1, 4)]
    dirs = _train_dirs(cfg)
    assert sorted((Path(d).parent.name, Path(d).name) for d in dirs.values()) == [
        ("none", "seed_0"), ("none", "seed_1"), ("train", "seed_0"), ("train", "seed_1"), ("train", "seed_4"),
    ]  # fmt: skip
    assert sorted((t.run.randomization is None, t.run.seed) for t in _train_tasks(cfg, dirs)) == [
        (False, 0), (False, 1), (False, 4), (True, 0), (True, 1),
    ]  # fmt: skip

    def domain_tasks(train_dir: str, settings: EvalConfig, out: Path) -> list[DomainTask]:  # no run dirs needed
        return [DomainTask(train_dir, "canonical", settings.episodes, settings.seed, gif_frames=settings.gif_frames)]

    monkeypatch.setattr(policy_matrix, "domain_tasks", domain_tasks)
    monkeypatch.chdir(tmp_path)
    cells = [c for m in cfg.methods for c in _method_cells(cfg, m, dirs, None, {})]
    assert sorted((out.parent.name, out.name, t.gif_frames > 0) for out, t in cells) == [
        ("DR", "seed_0", True), ("DR", "seed_1", False), ("DR", "seed_4", False),
        ("no-DR", "seed_0", True), ("no-DR", "seed_1", False),
    ]  # fmt: skip


@pytest.mark.parametrize("seeds", [[], [1, 1], [-1], 3, ["a"]])
def test_bad_method_seeds_name_the_method(tiny_experiment: Callable[..., Path], seeds: object) -> None:
    methods = [{"name": "no-DR"}, {"name": "DR", "randomization": "train", "seeds": seeds}]
    with pytest.raises(ValueError, match=r"methods\[1\]\.seeds must be"):
        ExperimentConfig.load(tiny_experiment(methods=methods))
