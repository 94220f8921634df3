"""Experiment files: one YAML per experiment, whose ``kind:`` says what runs it.

``simreal experiment FILE.yaml`` reads the file once (:func:`read_experiment`) and parses it into the frozen
dataclass of its kind; a missing or unknown ``kind`` and unknown keys raise ``ValueError`` naming them and what is
allowed. Command-line options override keys of the file (:func:`with_overrides`). The kinds (:data:`KINDS`):

- ``policy_matrix``: methods x seeds x domains of SB3 policies
  (:class:`~simreal.experiments.policy_matrix_config.ExperimentConfig`);
- ``localization``: the Tobin et al. localization test (:class:`LocalizationConfig`);
- ``transfer``: image translation measured by a frozen detector (:class:`TransferConfig`);
- ``benchmark``: several policy-matrix files run and reported together
  (:class:`~simreal.experiments.benchmark.BenchmarkConfig`, ``simreal benchmark``).

Relative input paths (configs, spec files) resolve against the experiment file, then against the configs shipped
with simreal (:func:`resolve_input`); outputs (``out_dir``) stay relative to the working directory. In
``localization`` and ``transfer`` files, ``domains`` are named domains (``real`` = its members ``real:0`` ..
``real:4``, as everywhere in simreal) or spec files.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from simreal.agents.hyperparams import CONFIG_DIR, read_yaml
from simreal.data.eval_domains import check_domains, is_spec_file
from simreal.envs.config import check_int_range, no_unknown_keys
from simreal.perception.pretraining import CANONICAL_FRACTION
from simreal.randomization.realities import PREFIX, expand_domains

__all__ = [
    "KINDS",
    "PACKAGE_ROOT",
    "SPEC_SUFFIXES",
    "LocalizationConfig",
    "TransferConfig",
    "from_mapping",
    "parse_kind",
    "read_experiment",
    "resolve_input",
    "with_overrides",
]

KINDS = ("policy_matrix", "localization", "transfer", "benchmark")
PACKAGE_ROOT = CONFIG_DIR.parent  # where simreal's bundled configs/ live (the repository root in a checkout)
SPEC_SUFFIXES = (".yaml", ".yml", ".json")
C = TypeVar("C")


def read_experiment(path: str | Path, kind: str | None = None) -> tuple[str, dict[str, Any]]:
    """``(kind, the other keys)`` of the experiment file ``path``.

    Without ``kind`` the file must name one of :data:`KINDS`; with ``kind`` (a caller that knows what it reads) the
    file may omit it but must not name another.
    """
    file = Path(path)
    data = read_yaml(file, "experiment config")
    if not isinstance(data, dict):
        raise ValueError(f"experiment config {file} must be a mapping, got {type(data).__name__}")
    named = data.get("kind", kind)
    if named not in KINDS or (kind is not None and named != kind):
        allowed = list(KINDS) if kind is None else [kind]
        found = "missing" if named is None else f"unknown {named!r}"
        raise ValueError(f"{file}: kind: {found}; one of {allowed}")
    return named, {k: v for k, v in data.items() if k != "kind"}


def resolve_input(value: str, base: Path, where: str) -> str:
    """An input path of an experiment file: absolute as is, else relative to the file's folder ``base``, else one
    of the files shipped with simreal (e.g. ``configs/ppo.yml``); ``ValueError`` naming ``where`` if neither exists."""
    path = Path(value)
    if path.is_absolute():
        return value
    for candidate in (base / path, PACKAGE_ROOT / path):
        if candidate.exists():
            return str(candidate)
    raise ValueError(f"{where}: {value} exists neither relative to the experiment file ({base}) nor in {PACKAGE_ROOT}")


def from_mapping(cls: type[C], data: Mapping[str, Any], where: str) -> C:
    """The dataclass ``cls`` from a parsed YAML mapping: unknown keys raise, lists become tuples where the field
    is a tuple, and a type error becomes a ``ValueError`` naming ``where``."""
    no_unknown_keys(cls, dict(data), where)
    kwargs = dict(data)
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if str(f.type).startswith("tuple") and kwargs.get(f.name) is not None:
            if not isinstance(kwargs[f.name], (list, tuple)):
                raise ValueError(f"{where}: {f.name} must be a list, got {kwargs[f.name]!r}")
            kwargs[f.name] = tuple(kwargs[f.name])
    try:
        return cls(**kwargs)
    except TypeError as exc:  # a value of the wrong type compared in __post_init__
        raise ValueError(f"{where}: {exc}") from exc


def with_overrides(config: C, overrides: Mapping[str, Any], kind: str, names: Mapping[str, str] | None = None) -> C:
    """``config`` with the keys in ``overrides`` replaced (``None`` values are ignored) and validated again; a key
    the kind does not have raises ``ValueError`` naming it (as ``names[key]``, e.g. a command-line option, when
    given) and the kind's keys."""
    given = {k: v for k, v in overrides.items() if v is not None}
    allowed = [f.name for f in dataclasses.fields(config)]  # type: ignore[arg-type]
    unknown = [k for k in given if k not in allowed]
    if unknown:
        shown = ", ".join((names or {}).get(k, k) for k in unknown)
        raise ValueError(f"{shown}: not a setting of a {kind} experiment (its keys: {', '.join(allowed)})")
    try:
        return dataclasses.replace(config, **given)  # type: ignore[type-var]
    except TypeError as exc:  # a value of the wrong type compared in __post_init__
        raise ValueError(f"{kind}: {exc}") from exc


def _resolve_domain(domain: Any, base: Path, where: str) -> Any:
    """A spec-file domain (``my_lab.yaml``, or a reality ``real:my_lab.yaml``) with its file resolved against the
    experiment's folder ``base``; other domains as they are."""
    if not isinstance(domain, str):
        return domain  # validated by the dataclass
    prefix = PREFIX if domain.startswith(PREFIX) else ""
    path = domain.removeprefix(prefix)
    return prefix + resolve_input(path, base, where) if is_spec_file(path) else domain


def resolve_domains(domains: Any, base: Path, key: str) -> Any:
    """A domain list's spec-file entries resolved against the experiment's folder ``base`` (see
    :func:`resolve_input`); ``real:<spec file>`` keeps its prefix. Anything but a list is left for validation."""
    if not isinstance(domains, list):
        return domains  # validated by the dataclass
    return [_resolve_domain(d, base, f"{key}[{i}]") for i, d in enumerate(domains)]


def parse_kind(cls: type[C], data: Mapping[str, Any], base: Path, kind: str) -> C:
    """The keys of a ``kind`` experiment file (without ``kind``) in the folder ``base`` as ``cls``, its spec-file
    domains resolved against ``base`` (:func:`resolve_input`)."""
    resolved = dict(data)
    for key in ("domains", "gan_domains"):
        if key in resolved:
            resolved[key] = resolve_domains(resolved[key], base, key)
    return from_mapping(cls, resolved, kind)


def _domains(value: Any, key: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise ValueError(f"{key}: expected a list of domains, got {value!r}")
    return check_domains(expand_domains(value))


def _check_common(config: Any, seed_max: int) -> None:
    if not isinstance(config.out_dir, str) or not config.out_dir:
        raise ValueError(f"out_dir must be a folder path, got {config.out_dir!r}")
    check_int_range("n_train", config.n_train, 8, 10**7)
    check_int_range("epochs", config.epochs, 1, 10_000)
    check_int_range("seed", config.seed, 0, seed_max)
    check_int_range("image_size", config.image_size, 16, 1024)
    check_int_range("workers", config.workers, 0, 256)
    object.__setattr__(config, "domains", _domains(config.domains, "domains"))


@dataclass(frozen=True)
class LocalizationConfig:
    """``kind: localization`` (:mod:`simreal.experiments.localization`): each pipeline trained on ``train`` (plus
    ``canonical_fraction`` clean frames) and on ``canonical``, evaluated on ``domains``; ``agree_cm``: how close
    two cameras' detections must be to agree in the ``multiview`` pipeline's fusion (an evaluation setting)."""

    out_dir: str = "runs/localization"
    seed: int = 0
    n_train: int = 8000  # training frames per model
    n_eval: int = 500  # evaluation frames per domain
    epochs: int = 12  # regression CNN
    detector_epochs: int = 8
    image_size: int = 64
    workers: int = 2  # frame-collection processes (0: this process)
    augment: bool = True
    canonical_fraction: float = CANONICAL_FRACTION  # clean frames in the randomized models' training set
    pipelines: tuple[str, ...] = ("regression", "detector")  # + "multiview" (opt-in)
    domains: tuple[str, ...] = ("canonical", "test", "real")
    agree_cm: float = 3.0  # multiview: detections of two cameras within this distance agree

    def __post_init__(self) -> None:
        _check_common(self, 2**32 - 1)
        check_int_range("n_eval", self.n_eval, 2, 10**7)
        check_int_range("detector_epochs", self.detector_epochs, 1, 10_000)
        if not isinstance(self.augment, bool):
            raise ValueError(f"augment must be true or false, got {self.augment!r}")
        fraction = self.canonical_fraction
        if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0.0 <= fraction < 1.0:
            raise ValueError(f"canonical_fraction must be in [0, 1), got {fraction!r}")
        agree = self.agree_cm
        if isinstance(agree, bool) or not isinstance(agree, (int, float)) or not 0.1 <= agree <= 20.0:
            raise ValueError(f"agree_cm must be a distance in [0.1, 20] cm, got {agree!r}")
        allowed = ("regression", "detector", "multiview")
        if not self.pipelines or set(self.pipelines) - set(allowed) or len(set(self.pipelines)) < len(self.pipelines):
            raise ValueError(f"pipelines: each of {list(allowed)} at most once, got {list(self.pipelines)}")


@dataclass(frozen=True)
class TransferConfig:
    """``kind: transfer`` (:mod:`simreal.experiments.transfer`): a canonical detector evaluated on ``domains`` raw
    and through each translator; a CycleGAN pair per domain of ``gan_domains``."""

    out_dir: str = "runs/transfer"
    seed: int = 0
    n_train: int = 3000  # detector frames, each CycleGAN side, RCAN pairs
    n_eval: int = 400  # evaluation frames per domain
    epochs: int = 6  # detector
    gan_steps: int = 1000
    rcan_steps: int = 1500
    lambda_semantic: float = 1.0  # weight of the semantic-consistency loss (CyCADA)
    guard_frames: int = 64  # frames per domain the translator guard checks
    image_size: int = 64
    workers: int = 0  # frame-collection processes (0: this process)
    domains: tuple[str, ...] = ("test", "real")
    gan_domains: tuple[str, ...] | None = None  # None: see cyclegan_domains

    def __post_init__(self) -> None:
        _check_common(self, 2**31 - 1)
        check_int_range("n_eval", self.n_eval, 4, 10**7)
        check_int_range("gan_steps", self.gan_steps, 1, 10**7)
        check_int_range("rcan_steps", self.rcan_steps, 1, 10**7)
        check_int_range("guard_frames", self.guard_frames, 4, 10**5)
        weight = self.lambda_semantic
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0 < weight <= 1e6:
            raise ValueError(f"lambda_semantic must be a number in (0, 1e6], got {weight!r}")
        if self.gan_domains is not None:
            object.__setattr__(self, "gan_domains", _domains(self.gan_domains, "gan_domains"))
        if set(self.cyclegan_domains) - set(self.domains):
            chosen = list(self.gan_domains or ())
            raise ValueError(f"gan_domains must be among domains {list(self.domains)}, got {chosen}")

    @property
    def cyclegan_domains(self) -> tuple[str, ...]:
        """``gan_domains``, or by default those of ``test`` and ``real:0`` among ``domains`` (else the first domain):
        a CycleGAN per lab is what makes the baseline expensive."""
        if self.gan_domains is not None:
            return self.gan_domains
        return tuple(d for d in ("test", "real:0") if d in self.domains) or self.domains[:1]
