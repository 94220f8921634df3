"""The policy matrix's ablation: config errors, cell keys and caching, the summary's values on synthetic results,
and a tiny Reach run where adding ``ablation`` to a finished experiment evaluates only the new cells."""

import dataclasses
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from simreal.agents.evaluate import DomainTask, episode_seeds
from simreal.agents.report import Doc, write_ablation
from simreal.agents.results import DomainResult, LearningCurve, Results, RunMetadata, load_results
from simreal.agents.run_config import EvalConfig
from simreal.agents.summary import Run, ablations, main_domains
from simreal.experiments import policy_matrix
from simreal.experiments.policy_matrix import _cell_key, _method_cells, _train_dirs, run_experiment
from simreal.experiments.policy_matrix_config import ExperimentConfig
from simreal.randomization.ablation import ablation_spec
from simreal.randomization.realities import expand_domains, reality_domains

BASE = {
    "name": "t",
    "env_id": "simreal/Reach-v0",
    "algo": "ppo",
    "methods": [{"name": "no-DR"}],
    "seeds": [0],
    "domains": ["canonical", "real"],
}


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"ablation": ["test"]}, r"ablation\[0\]: must be a reality domain .* got 'test'"),
        ({"ablation": ["real:0", "real:7"]}, r"ablation\[1\]: 'real:7' is not among the evaluated domains"),
        ({"ablation": ["real", "real:0"]}, "ablation: each domain may be listed once"),
        ({"ablation": "real"}, "ablation must be a list"),
        ({"ablation_groups": ["physics"]}, "ablation_groups: set without ablation"),
        ({"ablation": ["real"], "ablation_groups": ["lighting"]}, r"ablation_groups\[0\]: must be one of \['visual"),
        ({"ablation": ["real"], "ablation_groups": ["physics", "physics"]}, "ablation_groups: must be unique"),
        ({"ablation_methods": ["no-DR"]}, "ablation_methods: set without ablation"),
        ({"ablation": ["real"], "ablation_methods": ["DR"]}, r"ablation_methods\[0\]: 'DR' is not one of the methods"),
        ({"ablation": ["real"], "ablation_methods": ["no-DR", "no-DR"]}, "ablation_methods: must be unique"),
        ({"ablation": ["real"], "ablation_episodes": 0}, r"ablation_episodes: must be an int >= 1"),
        ({"ablation": ["real"], "ablation_episodes": 2.5}, r"ablation_episodes: must be an int >= 1"),
        ({"ablation_episodes": 10}, "ablation_episodes: set without ablation"),
    ],
)
def test_bad_ablation_keys_name_the_field(change: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ExperimentConfig.from_dict({**BASE, **change})


def test_ablation_expands_real() -> None:
    cfg = ExperimentConfig.from_dict({**BASE, "ablation": ["real"], "ablation_groups": ["physics"]})
    assert cfg.ablated_domains == reality_domains()
    assert ExperimentConfig.from_dict(BASE).ablated_domains == ()


def test_appearance_is_ablated_beside_the_listed_groups() -> None:
    cfg = ExperimentConfig.from_dict({**BASE, "ablation": ["real:0"], "ablation_groups": ["appearance", "control"]})
    assert policy_matrix._ablation_groups(cfg) == {"real:0": ("control", "appearance")}


def test_ablation_methods_limit_the_ablation_cells_to_those_methods(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def domain_tasks(train_dir: str, settings: EvalConfig, out: Path) -> list[DomainTask]:  # no run dirs needed
        return [DomainTask(train_dir, d, settings.episodes, settings.seed) for d in expand_domains(settings.domains)]

    monkeypatch.setattr(policy_matrix, "domain_tasks", domain_tasks)
    methods = [{"name": "no-DR"}, {"name": "DR", "randomization": "train"}]
    settings = {**BASE, "methods": methods, "seeds": [0, 1], "out_dir": str(tmp_path), "ablation": ["real:0"]}
    ablation = {"real:0": ("physics", "control")}

    def cells(cfg: ExperimentConfig) -> dict[tuple[str, str], list[str]]:
        out: dict[tuple[str, str], list[str]] = {}
        for folder, task in (c for m in cfg.methods for c in _method_cells(cfg, m, _train_dirs(cfg), None, ablation)):
            out.setdefault((folder.parent.name, folder.name), []).append(task.domain)
        return out

    plain = ["canonical", *reality_domains()]
    limited = cells(ExperimentConfig.from_dict({**settings, "ablation_methods": ["DR"]}))
    ablated = ["real:0 without physics", "real:0 without control"]
    for seed in ("seed_0", "seed_1"):
        assert sorted(limited["DR", seed]) == sorted([*plain, *ablated])
        assert sorted(limited["no-DR", seed]) == sorted(plain)
    assert cells(ExperimentConfig.from_dict(settings))["no-DR", "seed_0"][-2:] == ablated  # default: every method


def test_ablation_episodes_are_the_first_of_the_domains_episodes() -> None:
    tasks = [DomainTask("run", "canonical", 50, 3), DomainTask("run", "real:0", 50, 3)]
    ablation = {"real:0": ("physics",)}
    (short,) = policy_matrix._ablation_tasks(tasks, ablation, 20)
    assert (short.domain, short.episodes, short.seed, short.without) == ("real:0 without physics", 20, 3, "physics")
    assert policy_matrix._ablation_tasks(tasks, ablation)[0].episodes == 50  # default: every episode
    assert policy_matrix._ablation_tasks(tasks, ablation, 80)[0].episodes == 50  # at most the domain's episodes
    assert episode_seeds(3, 20) == episode_seeds(3, 50)[:20]  # the first 20 episodes are the same episodes


def test_ablation_on_fewer_episodes_is_compared_on_those_episodes() -> None:
    meta = RunMetadata("simreal/Reach-v0", "ppo", 0, "DR", None, "h", 100)
    full = DomainResult("real:0", (1.0,) * 4, (False, False, True, True), (5,) * 4, (10, 11, 12, 13), "x")
    ablated = DomainResult(
        "real:0 without control", (1.0,) * 2, (True, False), (5,) * 2, (10, 11), "x", without="control"
    )
    canonical = DomainResult("canonical", (1.0,) * 4, (True,) * 4, (5,) * 4, (10, 11, 12, 13), "x")
    run = Run(Path("seed_0"), Results(meta, (canonical, full, ablated)), LearningCurve())
    (row,) = ablations({"DR": [run]})
    assert row.full == 0.0  # the full domain on episodes 10 and 11 only (0.5 over all four)
    assert row.recovered == pytest.approx({"control": 0.5})


def test_cell_keys_of_plain_cells_are_unchanged_and_ablations_differ() -> None:
    plain = DomainTask("nowhere", "real:0", 2, 0)
    key = _cell_key(plain)
    assert "without" not in key["task"]  # keys of cells cached before ablations existed still match
    assert "envs" not in key["task"]  # nor before batched evaluation: one episode at a time is the old evaluation
    assert "calibrated_view" not in key["task"]  # nor before the calibrated view
    late = ("without", "envs", "calibrated_view")
    assert key["task"] == {k: v for k, v in dataclasses.asdict(plain).items() if k not in late}
    assert _cell_key(dataclasses.replace(plain, envs=8))["task"]["envs"] == 8  # a batched cell is a different cell
    assert _cell_key(dataclasses.replace(plain, calibrated_view=True))["task"]["calibrated_view"] is True
    ablated = dataclasses.replace(plain, domain="real:0 without physics", randomization="real:0", without="physics")
    assert _cell_key(ablated)["task"]["without"] == "physics" and _cell_key(ablated) != key
    assert _cell_key(ablated)["task"]["pairing"] == "paired"  # unpaired ablation cells of earlier runs are redone


def test_env_without_randomization_fails_before_training(tmp_path: Path, tiny_experiment: Callable[..., Path]) -> None:
    path = tiny_experiment(ablation=["real"])  # Pendulum-v1: no randomization factors to remove
    with pytest.raises(ValueError, match="ablation: Pendulum-v1 has no randomization factors"):
        run_experiment(path, executor=ThreadPoolExecutor(max_workers=1))
    assert not (tmp_path / "t" / "runs" / "train").exists()


def _run(seed: int, rates: dict[str, float]) -> Run:
    meta = RunMetadata("simreal/Reach-v0", "ppo", seed, "no-DR", None, "h", 100)
    domains = []
    for label, rate in rates.items():
        wins = round(rate * 4)
        group = label.partition(" without ")[2]
        domains.append(
            DomainResult(
                label,
                (1.0,) * 4,
                (True,) * wins + (False,) * (4 - wins),
                (5,) * 4,
                (0, 1, 2, 3),
                "x",
                without=group or None,
            )
        )
    return Run(Path(f"seed_{seed}"), Results(meta, tuple(domains)), LearningCurve())


def test_ablation_summary_values_and_table() -> None:
    runs = [
        _run(
            0,
            {
                "canonical": 1,
                "real:0": 0.25,
                "real:0 without physics": 1,
                "real:0 without sensor": 0.25,
                "real:1": 0.5,
                "real:1 without physics": 0.75,
            },
        ),
        _run(
            1,
            {
                "canonical": 1,
                "real:0": 0.25,
                "real:0 without physics": 0.5,
                "real:0 without sensor": 0.5,
                "real:1": 0.5,
                "real:1 without physics": 0.75,
            },
        ),
    ]
    assert main_domains(runs) == ["canonical", "real:0", "real:1"]  # ablations are not evaluation domains
    rows = {r.domain: r for r in ablations({"no-DR": runs})}
    real0 = rows["real:0"]
    assert (real0.canonical, real0.full) == (1.0, 0.25)
    assert real0.recovered == pytest.approx({"physics": 0.5, "sensor": 0.125})
    assert real0.culprit == ("physics", pytest.approx(0.5))
    assert rows["real:1"].recovered == pytest.approx({"physics": 0.25})
    mean = rows["mean"]  # physics recovers 0.5 and 0.25: 0.375; sensor only on real:0
    assert mean.full == pytest.approx(0.375)
    assert mean.recovered == pytest.approx({"physics": 0.375, "sensor": 0.125})
    doc = Doc()
    write_ablation(doc, list(rows.values()))
    text = "\n".join(doc.md)
    assert "| method | domain | canonical | full | lost | without physics | without sensor | biggest culprit |" in text
    assert (
        "| no-DR | real:0 | 1.00 | 0.25 | 0.75 | 0.75 (+0.50) | 0.38 (+0.12) | physics (+0.50, 67% of the loss) |"
        in text
    )
    assert "| no-DR | real:1 | 1.00 | 0.50 | 0.50 | 0.75 (+0.25) | - | physics (+0.25, 50% of the loss) |" in text
    empty = Doc()
    write_ablation(empty, [])
    assert empty.md == []


REACH_ZOO = (
    "simreal/Reach-v0:\n  policy: MlpPolicy\n  n_steps: 64\n  batch_size: 64\n  n_epochs: 1\n"
    "  env_kwargs: {max_episode_steps: 10}\n  policy_kwargs: 'dict(net_arch=[16])'\n"
)


def test_adding_ablation_to_a_finished_experiment_evaluates_only_the_new_cells(
    tmp_path: Path, tiny_experiment: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    zoo = tmp_path / "reach.yml"
    zoo.write_text(REACH_ZOO)
    settings = {
        "env_id": "simreal/Reach-v0",
        "env_kwargs": {"obs_mode": "state"},
        "config_path": str(zoo),
        "methods": [{"name": "no-DR"}],
        "seeds": [0],
        "timesteps": 64,
        "domains": ["canonical", "real:0"],
    }
    out = tmp_path / "t" / "runs" / "eval" / "no-DR" / "seed_0"
    with ThreadPoolExecutor(max_workers=1) as pool:
        run_experiment(tiny_experiment(**settings), executor=pool)
        cells = {p: p.stat().st_mtime_ns for p in (out / ".cells").iterdir()}
        assert len(cells) == 2
        capsys.readouterr()
        groups = ["physics", "control", "visual.image_textures"]  # the member sets no image textures: skipped
        html = run_experiment(tiny_experiment(**settings, ablation=["real:0"], ablation_groups=groups), executor=pool)
    err = capsys.readouterr().err
    assert "2 evaluation cells already done" in err and "evaluation cell 2/2 done" in err
    assert "ablation: real:0 sets no visual.image_textures: skipped" in err
    assert {p: p.stat().st_mtime_ns for p in cells} == cells  # the finished cells were not evaluated again
    results = load_results(out)
    labels = [d.domain for d in results.domains]
    assert labels == ["canonical", "real:0", "real:0 without physics", "real:0 without control"]
    for group in ("physics", "control"):  # the env sampled the ablated spec
        result = results.domain(f"real:0 without {group}")
        assert result.without == group and result.spec_hash == ablation_spec("real:0", group, "arm").hash()
    assert results.domain("real:0").spec_hash not in {d.spec_hash for d in results.domains[2:]}
    text = (Path(html).parent / "report.md").read_text()
    assert "Ablation: which factor group of the reality causes the loss" in text
    assert "| no-DR | real:0 |" in text and "without physics" in text
