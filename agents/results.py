"""Versioned on-disk schema of a run directory: ``run.json``, ``learning_curve.json`` and ``results.json``.

A run directory holds one trained policy (``model.zip``) with its metadata and, after evaluation, the
per-domain per-episode results. All files are written atomically; loading a missing or corrupt file raises
:class:`RunDirError` naming the path.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from simreal.atomic import atomic_write_text

SCHEMA_VERSION = 1
RUN_FILE = "run.json"
CURVE_FILE = "learning_curve.json"
RESULTS_FILE = "results.json"

T = TypeVar("T")


class RunDirError(ValueError):
    """A run directory or one of its files is missing, unreadable or does not match the schema."""


@dataclass(frozen=True)
class RunMetadata:
    """What was trained: env, algorithm, seed, randomization, budget and the method label used in reports."""

    env_id: str
    algo: str
    seed: int
    method: str
    randomization: str | None
    randomization_hash: str
    timesteps: int
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    config_path: str | None = None
    train_dir: str = "."
    # trained behind VecNormalize, so evaluation needs its ``vecnormalize.pkl`` (None: not recorded, older runs)
    vecnormalize: bool | None = None
    # sha256 prefix of the resolved hyper-parameter entry: resuming with an edited config is refused (None: older runs)
    hyperparams_hash: str | None = None


@dataclass(frozen=True)
class DomainResult:
    """Per-episode outcome of the deterministic policy on one evaluation domain."""

    domain: str
    returns: tuple[float, ...]
    successes: tuple[bool, ...]
    lengths: tuple[int, ...]
    episode_seeds: tuple[int, ...]
    spec_hash: str
    transfer: str | None = None
    gif: str | None = None
    axis: str | None = None
    strength: float | None = None
    without: str | None = None  # ablation: the factor group removed from the domain (label "<domain> without <g>")

    def __post_init__(self) -> None:
        n = len(self.returns)
        if not (len(self.successes) == len(self.lengths) == len(self.episode_seeds) == n) or n == 0:
            raise ValueError(f"domain {self.domain!r}: returns/successes/lengths/episode_seeds need equal length > 0")

    @property
    def success_rate(self) -> float:
        """Fraction of successful episodes."""
        return sum(self.successes) / len(self.successes)

    @property
    def mean_return(self) -> float:
        """Mean undiscounted episode return."""
        return sum(self.returns) / len(self.returns)


@dataclass(frozen=True)
class Results:
    """Everything ``results.json`` holds: the run metadata and one entry per evaluated domain."""

    run: RunMetadata
    domains: tuple[DomainResult, ...]
    schema_version: int = SCHEMA_VERSION

    def domain(self, name: str) -> DomainResult:
        """The result for domain ``name``."""
        for result in self.domains:
            if result.domain == name:
                return result
        raise KeyError(f"no domain {name!r}; have {[d.domain for d in self.domains]}")


@dataclass(frozen=True)
class LearningCurve:
    """Periodic deterministic evaluations during training."""

    timesteps: tuple[int, ...] = ()
    mean_return: tuple[float, ...] = ()
    success_rate: tuple[float, ...] = ()
    wall_time: tuple[float, ...] = ()

    def append(self, timesteps: int, mean_return: float, success_rate: float, wall_time: float) -> LearningCurve:
        """A new curve with one more point."""
        return LearningCurve(
            (*self.timesteps, int(timesteps)),
            (*self.mean_return, float(mean_return)),
            (*self.success_rate, float(success_rate)),
            (*self.wall_time, float(wall_time)),
        )


def _build(cls: type[T], data: Any, where: Path) -> T:
    """Construct dataclass ``cls`` from a JSON object, rejecting unknown or missing keys."""
    if not isinstance(data, dict):
        raise RunDirError(f"{where}: expected a JSON object for {cls.__name__}, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise RunDirError(f"{where}: unknown {cls.__name__} keys {unknown}; allowed {sorted(fields)}")
    kwargs = {k: tuple(v) if "tuple" in str(fields[k].type) and isinstance(v, list) else v for k, v in data.items()}
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise RunDirError(f"{where}: invalid {cls.__name__}: {exc}") from exc


def _read_json(path: Path) -> Any:
    if not path.is_file():
        raise RunDirError(f"{path} does not exist (is {path.parent} a run directory?)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunDirError(f"{path} is corrupt: {exc}") from exc


def _write_json(path: Path, payload: Any) -> Path:
    return atomic_write_text(path, json.dumps(payload, indent=2, sort_keys=True) + "\n")


def _versioned(payload: dict[str, Any], path: Path) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise RunDirError(f"{path}: expected a JSON object")
    version = payload.pop("schema_version", None)
    if version != SCHEMA_VERSION:
        raise RunDirError(f"{path}: schema_version {version!r} is not supported (expected {SCHEMA_VERSION})")
    return payload


def _run_dir(path: str | os.PathLike) -> Path:
    run_dir = Path(path)
    if not run_dir.is_dir():
        raise RunDirError(f"run directory {run_dir} does not exist")
    return run_dir


def save_run(run_dir: str | os.PathLike, meta: RunMetadata) -> Path:
    """Write ``run.json`` into ``run_dir``."""
    return _write_json(Path(run_dir) / RUN_FILE, {"schema_version": SCHEMA_VERSION, **dataclasses.asdict(meta)})


def load_run(run_dir: str | os.PathLike) -> RunMetadata:
    """Read ``run.json`` from ``run_dir``."""
    path = _run_dir(run_dir) / RUN_FILE
    return _build(RunMetadata, _versioned(_read_json(path), path), path)


def save_curve(run_dir: str | os.PathLike, curve: LearningCurve) -> Path:
    """Write ``learning_curve.json`` into ``run_dir``."""
    return _write_json(Path(run_dir) / CURVE_FILE, {"schema_version": SCHEMA_VERSION, **dataclasses.asdict(curve)})


def load_curve(run_dir: str | os.PathLike) -> LearningCurve:
    """Read ``learning_curve.json`` from ``run_dir``; an empty curve when training never evaluated."""
    path = _run_dir(run_dir) / CURVE_FILE
    if not path.exists():
        return LearningCurve()
    return _build(LearningCurve, _versioned(_read_json(path), path), path)


def save_results(run_dir: str | os.PathLike, results: Results) -> Path:
    """Write ``results.json`` into ``run_dir`` and return its path."""
    payload = dataclasses.asdict(results)
    payload["schema_version"] = results.schema_version
    return _write_json(Path(run_dir) / RESULTS_FILE, payload)


def load_results(path: str | os.PathLike) -> Results:
    """Read ``results.json`` (``path`` is the file or its run directory)."""
    file = Path(path)
    if file.is_dir() or not file.name.endswith(".json"):
        file = _run_dir(file) / RESULTS_FILE
    payload = _versioned(_read_json(file), file)
    if not isinstance(payload.get("domains"), list):
        raise RunDirError(f"{file}: 'domains' must be a list")
    domains = tuple(_build(DomainResult, d, file) for d in payload["domains"])
    run = _build(RunMetadata, payload.get("run"), file)
    unknown = sorted(set(payload) - {"run", "domains"})
    if unknown:
        raise RunDirError(f"{file}: unknown Results keys {unknown}")
    return Results(run=run, domains=domains)
