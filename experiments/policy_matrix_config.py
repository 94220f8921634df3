"""The schema of a ``kind: policy_matrix`` experiment file: :class:`MethodSpec` (training randomization plus an
optional translator) and :class:`ExperimentConfig` (methods x seeds x domains and their settings), checked when loaded,
with relative input paths resolved against the file. :mod:`simreal.experiments.policy_matrix` runs it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simreal.agents.evaluate import check_domains
from simreal.agents.hyperparams import load_hyperparams
from simreal.agents.run_config import ALGOS
from simreal.envs.config import no_unknown_keys
from simreal.experiments.config import SPEC_SUFFIXES, read_experiment, resolve_domains, resolve_input
from simreal.experiments.translators import (
    CycleGANTranslator,
    RCANTranslator,
    Translator,
    check_translator,
    parse_transfer,
    uses_policies,
)
from simreal.randomization.ablation import check_group
from simreal.randomization.realities import expand_domains, is_reality
from simreal.randomization.selection import parse_randomization
from simreal.transfer.view import CALIBRATED_VIEW_TASKS


@dataclass(frozen=True)
class MethodSpec:
    """A named method: training randomization, optional ``hyperparams`` (each key replaces the experiment's
    ``hyperparams`` key of the same name for this method's training, e.g. an ``env_wrapper`` that adds an
    observation history), an optional translator in front of the policy at evaluation, a checkpoint path or
    one the experiment trains (:func:`~simreal.experiments.translators.parse_transfer`), and optional ``seeds`` of
    its own (default: the experiment's; e.g. more seeds for the methods whose spread matters).

    ``transfer_in_training: true`` puts the translator in front of the policy in training too, so the policy
    only ever sees translated frames (RCAN as James et al. 2019 train it: the policy learns on the generator's
    canonical-looking output of randomized frames, which is what it gets from a real camera). The translator is
    then trained before the policies and must not depend on them.

    ``calibrated_view: true`` re-projects the evaluation frames, after the translator, from each episode's camera
    mount to the canonical one through the camera's calibration (:class:`~simreal.transfer.view.CalibratedView`;
    driving tasks): a translator trained on same-view pairs changes the look, this the view."""

    name: str
    randomization: str | None = None
    hyperparams: dict[str, Any] = field(default_factory=dict)
    transfer: str | Translator | None = None
    seeds: tuple[int, ...] | None = None
    transfer_in_training: bool = False  # the policy also trains behind its translator (RCAN as James et al. do)
    calibrated_view: bool = False  # evaluation frames re-projected to the canonical camera mount


@dataclass(frozen=True)
class ExperimentConfig:
    """An experiment matrix. :meth:`load` resolves relative input paths (``config_path``, spec files, checkpoints)
    against the experiment file (see :func:`resolve_input`); outputs (``out_dir``, ``report_dir``) are relative to
    the working directory.

    ``ablation`` (optional): reality domains among the evaluated ``domains`` (``real`` for all its members,
    ``real:k``, ``real:<spec file>``) to ablate. For each, every factor group present in its spec
    (:data:`~simreal.randomization.ablation.GROUPS`: ``visual.colors`` ... ``physics``, ``sensor``, ``control``),
    or only those in ``ablation_groups``, adds the evaluation cell "<domain> without <group>" (the group held at
    the canonical scene's values; paired: the group is still drawn, so under each episode seed every other factor
    takes exactly its values on the full domain) for every method x seed: evaluation only, cached like the other
    cells, so adding the key to a finished experiment evaluates just the new cells. The report's ablation table
    shows what removing each group recovers. Example::

        ablation: [real]                      # or [real:0, real:3]
        ablation_groups: [physics, control]   # optional; default: every group present; ``appearance`` (every
                                              # visual group and the sensor at once: an image translator's ceiling),
                                              # ``look`` (the same but the camera: a same-view translator's)
        ablation_methods: [DR]                # optional; default: every method

    ``ablation_methods`` limits the ablation cells to the named methods (the evaluation cost of an ablation is
    its groups x seeds per method). ``ablation_episodes`` (default: ``episodes``; a larger value means
    ``episodes``, so that a smaller budget such as the benchmark's ``small`` keeps working) evaluates each ablation
    cell on the first that many of the domain's episodes (the same episode seeds); the report then compares it with
    the full domain's success on those same episodes, so the comparison stays paired.

    ``eval_envs`` (default 1): episodes each evaluation cell runs at a time, its policy acting on a batch of that
    many observations (:mod:`simreal.agents.episode_queue`): the same episodes, fewer network calls, actions equal
    up to float rounding. Part of the cells' cache key when above 1.
    """

    name: str
    env_id: str
    algo: str
    methods: tuple[MethodSpec, ...]
    seeds: tuple[int, ...]
    domains: tuple[str, ...] = ("canonical", "test", "real")
    timesteps: int | None = None
    episodes: int = 50
    eval_seed: int = 0
    eval_envs: int = 1
    eval_freq: int = 10_000
    eval_episodes: int = 10
    n_envs: int | None = None
    config_path: str | None = None
    hyperparams: dict[str, Any] = field(default_factory=dict)  # merged on config_path's entry (merge_overrides)
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    target_success: float | None = None
    gif_frames: int = 40
    sensitivity_axes: tuple[str, ...] = ()
    sensitivity_strengths: tuple[float, ...] = (0.5, 1.0)
    latency_steps: tuple[float, ...] = ()  # evaluate's latency sweep (canonical scene at k steps of latency)
    ablation: tuple[str, ...] = ()  # reality domains evaluated again with one factor group removed at a time
    ablation_groups: tuple[str, ...] = ()  # the groups to remove (default: every group present in the domain)
    ablation_methods: tuple[str, ...] = ()  # the methods ablated (default: every method)
    ablation_episodes: int | None = None  # episodes per ablation cell: the domain's first ones (at most episodes)
    workers: int | None = None
    out_dir: str | None = None
    report_dir: str | None = None
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.algo not in ALGOS:
            raise ValueError(f"algo must be one of {sorted(ALGOS)}, got {self.algo!r}")
        if not self.methods or len({m.name for m in self.methods}) != len(self.methods):
            raise ValueError("methods must be a non-empty list with unique names")
        _check_seeds(self.seeds, "seeds")
        if not self.domains:
            raise ValueError("domains must not be empty")
        check_domains(self.domains)
        if self.episodes < 1:
            raise ValueError(f"episodes must be >= 1, got {self.episodes}")
        if isinstance(self.eval_envs, bool) or not isinstance(self.eval_envs, int) or self.eval_envs < 1:
            raise ValueError(f"eval_envs: must be an int >= 1 (episodes run at a time), got {self.eval_envs!r}")
        for k in self.latency_steps:
            if isinstance(k, bool) or not isinstance(k, (int, float)) or not 0 <= k <= 20:
                raise ValueError(f"latency_steps: each must be a number of control steps in [0, 20], got {k!r}")
        self._check_ablation()
        if self.workers is not None and self.workers < 1:
            raise ValueError(f"workers must be >= 1, got {self.workers}")
        if self.device != "cpu" and not self.device.startswith("cuda"):
            raise ValueError(f"device must be 'cpu' or 'cuda[:N]', got {self.device!r}")
        self._check_methods()

    def _check_methods(self) -> None:
        if self.hyperparams:  # a bad override fails here, not in a training worker
            load_hyperparams(self.algo, self.env_id, self.config_path, self.env_kwargs, self.hyperparams)
        for i, m in enumerate(self.methods):
            if m.seeds is not None:
                _check_seeds(m.seeds, f"methods[{i}].seeds")
            parse_randomization(m.randomization, f"methods[{i}].randomization")  # parsed again per training cell
            if isinstance(m.transfer, str) and not Path(m.transfer).exists():
                raise ValueError(f"methods[{i}].transfer: checkpoint {m.transfer} does not exist")
            if isinstance(m.transfer, RCANTranslator | CycleGANTranslator):
                check_translator(m.transfer, self.env_id, f"methods[{i}].transfer")
            if not isinstance(m.calibrated_view, bool):
                raise ValueError(f"methods[{i}].calibrated_view: must be true or false, got {m.calibrated_view!r}")
            if m.calibrated_view and self.env_id not in CALIBRATED_VIEW_TASKS:
                raise ValueError(
                    f"methods[{i}].calibrated_view: needs a driving task {list(CALIBRATED_VIEW_TASKS)} (a car's "
                    f"camera over the road plane), got {self.env_id!r}"
                )
            if not isinstance(m.transfer_in_training, bool):
                got = m.transfer_in_training
                raise ValueError(f"methods[{i}].transfer_in_training: must be true or false, got {got!r}")
            if m.transfer_in_training and (m.transfer is None or uses_policies(m.transfer)):
                raise ValueError(
                    f"methods[{i}].transfer_in_training: needs a transfer that does not depend on the method's own "
                    f"policies (no policy_weight), got {m.transfer!r}"
                )
            if not isinstance(m.hyperparams, dict):
                raise ValueError(f"methods[{i}].hyperparams: must be a mapping of settings, got {m.hyperparams!r}")
            if m.hyperparams:
                try:
                    load_hyperparams(self.algo, self.env_id, self.config_path, self.env_kwargs, self.hyperparams_of(m))
                except ValueError as exc:
                    raise ValueError(f"methods[{i}].{exc}") from exc

    def hyperparams_of(self, method: MethodSpec) -> dict[str, Any]:
        """The overrides ``method`` trains with: the experiment's ``hyperparams`` with the method's keys replacing
        theirs."""
        return {**self.hyperparams, **method.hyperparams}

    def _check_ablation(self) -> None:
        evaluated = expand_domains(self.domains)
        for i, domain in enumerate(self.ablation):
            if not isinstance(domain, str) or not is_reality(domain):
                raise ValueError(
                    f"ablation[{i}]: must be a reality domain (real, real:<index>, real:<spec file>), got {domain!r}"
                )
            if not set(expand_domains([domain])) <= set(evaluated):
                raise ValueError(f"ablation[{i}]: {domain!r} is not among the evaluated domains {list(evaluated)}")
        members = self.ablated_domains
        if len(set(members)) != len(members):
            raise ValueError(f"ablation: each domain may be listed once, got {list(self.ablation)}")
        episodes = self.ablation_episodes
        if episodes is not None and (isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 1):
            raise ValueError(f"ablation_episodes: must be an int >= 1 (at most episodes are used), got {episodes!r}")
        for key in ("ablation_groups", "ablation_methods", "ablation_episodes"):
            if getattr(self, key) and not self.ablation:
                raise ValueError(f"{key}: set without ablation (list the reality domains to ablate)")
        names = [m.name for m in self.methods]
        for i, name in enumerate(self.ablation_methods):
            if name not in names:
                raise ValueError(f"ablation_methods[{i}]: {name!r} is not one of the methods {names}")
        if len(set(self.ablation_methods)) != len(self.ablation_methods):
            raise ValueError(f"ablation_methods: must be unique, got {list(self.ablation_methods)}")
        for i, group in enumerate(self.ablation_groups):
            check_group(group, f"ablation_groups[{i}]")
        if len(set(self.ablation_groups)) != len(self.ablation_groups):
            raise ValueError(f"ablation_groups: must be unique, got {list(self.ablation_groups)}")

    def seeds_of(self, method: MethodSpec) -> tuple[int, ...]:
        """The seeds ``method`` trains and is evaluated with: its own, else the experiment's."""
        return self.seeds if method.seeds is None else method.seeds

    def ablates(self, method: MethodSpec) -> bool:
        """Whether ``method`` gets the ablation cells (``ablation_methods``, default every method)."""
        return not self.ablation_methods or method.name in self.ablation_methods

    @property
    def ablated_domains(self) -> tuple[str, ...]:
        """The reality members of ``ablation`` (``real`` expanded to ``real:0`` ...)."""
        return tuple(m for d in self.ablation for m in expand_domains([d]))

    @property
    def runs_dir(self) -> Path:
        """Root of training and evaluation outputs (default ``runs/<name>``)."""
        return Path(self.out_dir or f"runs/{self.name}")

    @property
    def report_path(self) -> Path:
        """Report directory (default ``report/<name>``)."""
        return Path(self.report_dir or f"report/{self.name}")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExperimentConfig:
        """Build from a parsed YAML mapping; unknown keys raise ``ValueError``."""
        no_unknown_keys(cls, data, "experiment")
        kwargs = dict(data)
        methods = kwargs.get("methods") or []
        for i, m in enumerate(methods):
            no_unknown_keys(MethodSpec, m, f"methods[{i}]")
        kwargs["methods"] = tuple(_method(m, f"methods[{i}]") for i, m in enumerate(methods))
        lists = ("seeds", "domains", "sensitivity_axes", "sensitivity_strengths", "latency_steps")
        for key in (*lists, "ablation", "ablation_groups", "ablation_methods"):
            if key in kwargs:
                if not isinstance(kwargs[key], list):
                    raise ValueError(f"experiment: {key} must be a list, got {kwargs[key]!r}")
                kwargs[key] = tuple(kwargs[key])
        try:
            return cls(**kwargs)
        except TypeError as exc:  # a missing key, or a value of the wrong type compared in __post_init__
            raise ValueError(f"experiment: {exc}") from exc

    @classmethod
    def load(cls, path: str | Path) -> ExperimentConfig:
        """Read an experiment YAML file (``kind: policy_matrix``, or no ``kind``), resolving its relative input
        paths (:func:`~simreal.experiments.config.resolve_input`)."""
        file = Path(path)
        _, data = read_experiment(file, "policy_matrix")
        return cls.parse(data, file.parent)

    @classmethod
    def parse(cls, data: dict[str, Any], base: Path) -> ExperimentConfig:
        """Build from the keys of an experiment file (without ``kind``) in the folder ``base``."""
        return cls.from_dict(_resolve_inputs(data, base))


def _method(data: dict[str, Any], where: str) -> MethodSpec:
    """One ``methods`` entry: its translator parsed, its own ``seeds`` (a list) as a tuple."""
    seeds = data.get("seeds")
    if seeds is not None and not isinstance(seeds, list | tuple):
        raise ValueError(f"{where}.seeds must be a list, got {seeds!r}")
    transfer = parse_transfer(data.get("transfer"), f"{where}.transfer")
    return MethodSpec(**{**data, "transfer": transfer, "seeds": None if seeds is None else tuple(seeds)})


def _check_seeds(seeds: tuple[int, ...], where: str) -> None:
    if not seeds or len(set(seeds)) != len(seeds) or not all(isinstance(s, int) and s >= 0 for s in seeds):
        raise ValueError(f"{where} must be unique non-negative ints, got {list(seeds)}")


def _resolve_inputs(data: dict[str, Any], base: Path) -> dict[str, Any]:
    """A copy of ``data`` with relative input paths resolved (values of the wrong type are left for validation)."""
    out = dict(data)
    if isinstance(out.get("config_path"), str):
        out["config_path"] = resolve_input(out["config_path"], base, "config_path")
    for key in ("domains", "ablation"):
        if key in out:
            out[key] = resolve_domains(out[key], base, key)
    if isinstance(out.get("methods"), list):
        methods = []
        for i, method in enumerate(out["methods"]):
            method = dict(method) if isinstance(method, dict) else method
            if isinstance(method, dict):
                rand = method.get("randomization")
                if isinstance(rand, str) and Path(rand).suffix in SPEC_SUFFIXES:
                    method["randomization"] = resolve_input(rand, base, f"methods[{i}].randomization")
                if isinstance(method.get("transfer"), str):
                    method["transfer"] = resolve_input(method["transfer"], base, f"methods[{i}].transfer")
            methods.append(method)
        out["methods"] = methods
    return out
