"""Gaussian noise for per-step control perturbations, drawn in batches (one generator call per batch)."""

from __future__ import annotations

import numpy as np


class NoiseRows:
    """Zero-mean gaussian rows of ``shape`` with per-element ``std`` (float32), drawn ``batch`` rows at a time.

    ``next(rng)`` returns a read-only row; the batch is refilled from ``rng`` when used up, so a fixed seed
    gives a fixed sequence of rows.
    """

    BATCH = 64

    def __init__(self, std: float | np.ndarray, shape: tuple[int, ...], batch: int = BATCH) -> None:
        if batch < 1:
            raise ValueError(f"batch: must be >= 1, got {batch}")
        self.std = np.broadcast_to(np.asarray(std, dtype=np.float32), shape)
        if not np.all(np.isfinite(self.std)) or np.any(self.std < 0):
            raise ValueError(f"std: must be finite and >= 0, got {std!r}")
        self.shape = tuple(shape)
        self.batch = batch
        self._rows = np.empty((0, *self.shape), dtype=np.float32)
        self._next = 0

    def next(self, rng: np.random.Generator) -> np.ndarray:
        if self._next == len(self._rows):
            self._rows = rng.standard_normal((self.batch, *self.shape), dtype=np.float32)
            self._rows *= self.std
            self._rows.flags.writeable = False
            self._next = 0
        row = self._rows[self._next]
        self._next += 1
        return row
