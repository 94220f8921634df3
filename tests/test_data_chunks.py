"""Seeded chunks of a frame collection: chunk k is seeded by the k-th spawned child, parts joined in order (what
makes the frames independent of the workers; the executors themselves are tested in test_parallel_*)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simreal.data.chunks import CHUNK, collect_chunks, concatenate


@dataclass(frozen=True)
class Draws:
    values: np.ndarray  # (N,)
    rows: np.ndarray  # (N, 2)


def _draws(offset: float, count: int, seed_sequence: np.random.SeedSequence) -> Draws:
    rng = np.random.default_rng(seed_sequence)
    values = rng.random(count) + offset
    return Draws(values, np.stack([values, -values], axis=1))


def test_chunks_are_seeded_by_spawned_children_in_order() -> None:
    n = 2 * CHUNK + 7
    draws = concatenate(collect_chunks(_draws, n, np.random.SeedSequence(3), (10.0,), executor=None, workers=0))
    assert draws.values.shape == (n,) and draws.rows.shape == (n, 2)
    children = np.random.SeedSequence(3).spawn(3)
    counts = (CHUNK, CHUNK, 7)
    expected = np.concatenate([np.random.default_rng(c).random(k) for c, k in zip(children, counts, strict=True)])
    np.testing.assert_array_equal(draws.values, expected + 10.0)
    np.testing.assert_array_equal(draws.rows[:, 1], -draws.values)
