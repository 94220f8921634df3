"""Typed, validated settings of the data layer: ``DatasetConfig`` (sharded generation) and ``StreamConfig`` (an
endless frame stream), each a :class:`~simreal.data.episodes.RolloutSpec` (what to render and how to roll out) plus
its own fields. Parsed once at the edge (CLI, YAML mapping) and passed whole; bad values raise a ValueError naming
the field and its allowed range.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import MISSING, dataclass
from typing import Any, ClassVar, Self

from simreal.data.episodes import RolloutSpec
from simreal.envs.config import check_int_range, no_unknown_keys

__all__ = ["DatasetConfig", "StreamConfig"]

SEED_RANGE = (0, 2**63 - 1)


@dataclass(frozen=True)
class _RolloutConfig(RolloutSpec):
    """A rollout spec plus the fields of one use of it; built from keywords or from a mapping."""

    SECTION: ClassVar[str]  # the name errors about a mapping's keys start with

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """From a mapping (a YAML section); unknown or missing keys raise a ValueError naming them."""
        no_unknown_keys(cls, data, cls.SECTION)
        fields = dataclasses.fields(cls)
        required = [f.name for f in fields if f.default is MISSING and f.default_factory is MISSING]
        missing = [name for name in required if name not in data]
        if missing:
            raise ValueError(f"{cls.SECTION}: missing keys {missing}")
        return cls(**data)

    @property
    def rollout(self) -> RolloutSpec:
        """The rollout fields alone (what a shard worker needs; its env cache key)."""
        return RolloutSpec(**{f.name: getattr(self, f.name) for f in dataclasses.fields(RolloutSpec)})


@dataclass(frozen=True, kw_only=True)
class DatasetConfig(_RolloutConfig):
    """A dataset to generate: the rollout fields, ``n`` frames in shards of ``shard_size`` under ``out_dir`` (a path
    or an fsspec URL), the root ``seed``, and ``workers`` (spawned processes of the local executor; 0 builds shards
    in the calling process). ``workers`` does not change the bytes; every other field is recorded in the manifest."""

    SECTION: ClassVar[str] = "dataset"
    n: int
    out_dir: str | os.PathLike[str]
    seed: int = 0
    shard_size: int = 1000
    workers: int = 1

    def __post_init__(self) -> None:
        super().__post_init__()
        check_int_range("n", self.n, 1, 10**9)
        check_int_range("shard_size", self.shard_size, 1, 10**6)
        check_int_range("workers", self.workers, 0, 256)
        check_int_range("seed", self.seed, *SEED_RANGE)
        if not isinstance(self.out_dir, str | os.PathLike) or not os.fspath(self.out_dir):
            raise ValueError(f"out_dir must be a non-empty path or URL, got {self.out_dir!r}")


@dataclass(frozen=True, kw_only=True)
class StreamConfig(_RolloutConfig):
    """An endless frame stream: the rollout fields, the root ``seed`` (worker ``w`` of ``W`` streams
    ``SeedSequence(seed).spawn(W)[w]``) and ``labels`` (full labels, or RGB + task state only: faster)."""

    SECTION: ClassVar[str] = "stream"
    seed: int = 0
    labels: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        check_int_range("seed", self.seed, *SEED_RANGE)
        if not isinstance(self.labels, bool):
            raise ValueError(f"labels must be true/false, got {self.labels!r}")
