"""Raw draws of a compiled sampler, recorded by spec path, with every ``Uniform`` taken from one block."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from simreal.randomization.distributions import Distribution, Uniform


class Draws:
    """Collects raw draws by spec path while sampling.

    With a ``UniformPlan``, every ``Uniform`` draw is a slice of one block drawn with a single generator
    call (same distribution as ``Uniform.sample``: ``low + (high - low) * U[0, 1)``); other distributions
    sample themselves.
    """

    def __init__(self, rng: np.random.Generator, plan: UniformPlan | None = None) -> None:
        self.rng = rng
        self.record: dict[str, list[Any]] = {}
        self._slots = plan.slots if plan is not None else ()
        self._next = 0
        if plan is not None and plan.count:
            block = plan.low + plan.width * rng.random(plan.count)
            self._block, self._values = block, block.tolist()

    def __call__(self, dist: Distribution, path: str, size: int | tuple[int, ...] | None = None) -> Any:
        slot = self._slots[self._next] if self._next < len(self._slots) else None
        self._next += 1
        if slot is not None:
            start, stop = slot
            flat = self._values[start:stop]
            self.record.setdefault(path, []).extend(flat)
            return flat[0] if size is None else self._block[start:stop].reshape(size)
        out = dist.sample(self.rng, size)
        flat = [out] if size is None else np.asarray(out).ravel().tolist()
        self.record.setdefault(path, []).extend(flat)
        return out


class Recorder(Draws):
    """Records the sequence of draws (distribution, size) that a sampler makes; used once at compile time."""

    def __init__(self, rng: np.random.Generator) -> None:
        super().__init__(rng)
        self.calls: list[tuple[Distribution, int]] = []

    def __call__(self, dist: Distribution, path: str, size: int | tuple[int, ...] | None = None) -> Any:
        self.calls.append((dist, 1 if size is None else int(np.prod(size))))
        return super().__call__(dist, path, size)


@dataclass(frozen=True)
class UniformPlan:
    """Where each draw of a compiled sampler lives in the per-sample uniform block (None: not uniform)."""

    slots: tuple[tuple[int, int] | None, ...]
    low: np.ndarray
    width: np.ndarray

    @property
    def count(self) -> int:
        return len(self.low)

    @classmethod
    def from_calls(cls, calls: list[tuple[Distribution, int]]) -> UniformPlan:
        slots: list[tuple[int, int] | None] = []
        low: list[float] = []
        width: list[float] = []
        for dist, n in calls:
            if not isinstance(dist, Uniform):
                slots.append(None)
                continue
            slots.append((len(low), len(low) + n))
            low += [dist.low] * n
            width += [dist.high - dist.low] * n
        return cls(tuple(slots), np.asarray(low, dtype=float), np.asarray(width, dtype=float))
