"""Robust aggregate statistics over seeds, following rliable (Agarwal et al., 2021).

Scores are arrays of shape ``(runs, tasks)`` (a 1-D array is one task). Aggregates reduce the last two
axes, so they also work on a stack of bootstrap replicates of shape ``(reps, runs, tasks)``. Randomness
only comes from the ``np.random.Generator`` passed in; :func:`keyed_rng` gives each reported interval its own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Aggregate = Callable[[np.ndarray], np.ndarray]


def keyed_rng(seed: int, *keys: str) -> np.random.Generator:
    """The generator of one named statistic (e.g. ``("mean", env_id, method, domain)``): the same ``seed`` and
    ``keys`` always give the same stream, so an interval does not move when a report gains or loses other rows."""
    digest = hashlib.sha256("\x1f".join(keys).encode()).digest()
    return np.random.default_rng([seed, int.from_bytes(digest[:8], "little")])


@dataclass(frozen=True)
class Interval:
    """A point estimate with a confidence interval ``[low, high]``."""

    point: float
    low: float
    high: float


def _as_matrix(scores: np.ndarray | list) -> np.ndarray:
    """Return scores as a float ``(runs, tasks)`` matrix; 1-D input is a single task."""
    arr = np.asarray(scores, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"scores must be a non-empty (runs, tasks) or (runs,) array, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("scores must be finite")
    return arr


def _flat(scores: np.ndarray) -> np.ndarray:
    arr = np.asarray(scores, dtype=np.float64)
    if arr.ndim == 1:
        return arr[None, :]
    return arr.reshape(*arr.shape[:-2], arr.shape[-2] * arr.shape[-1])


def mean(scores: np.ndarray) -> np.ndarray:
    """Mean over all runs and tasks (last two axes)."""
    return _flat(scores).mean(axis=-1).squeeze()


def median(scores: np.ndarray) -> np.ndarray:
    """Median over all runs and tasks (last two axes)."""
    return np.median(_flat(scores), axis=-1).squeeze()


def iqm(scores: np.ndarray) -> np.ndarray:
    """Interquartile mean: mean of the middle 50% of run x task scores (``trim_mean(x, 0.25)``)."""
    flat = np.sort(_flat(scores), axis=-1)
    n = flat.shape[-1]
    cut = int(0.25 * n)
    return flat[..., cut : n - cut].mean(axis=-1).squeeze()


AGGREGATES: dict[str, Aggregate] = {"iqm": iqm, "mean": mean, "median": median}


def _check(reps: int, confidence: float) -> None:
    if reps < 1:
        raise ValueError(f"reps must be >= 1, got {reps}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")


def _resample(scores: np.ndarray, rng: np.random.Generator, reps: int) -> np.ndarray:
    """Stratified bootstrap: resample runs with replacement independently within each task."""
    runs, tasks = scores.shape
    idx = rng.integers(0, runs, size=(reps, runs, tasks))
    return scores[idx, np.arange(tasks)[None, None, :]]


def _percentile_interval(point: float, replicates: np.ndarray, confidence: float) -> Interval:
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(replicates, [alpha, 1.0 - alpha])
    return Interval(float(point), float(low), float(high))


def stratified_bootstrap_ci(
    scores: np.ndarray | list,
    statistic: Aggregate,
    rng: np.random.Generator,
    reps: int = 2000,
    confidence: float = 0.95,
) -> Interval:
    """Percentile confidence interval of ``statistic`` under rliable's stratified bootstrap over runs."""
    _check(reps, confidence)
    matrix = _as_matrix(scores)
    replicates = np.asarray(statistic(_resample(matrix, rng, reps)))
    return _percentile_interval(float(statistic(matrix)), replicates, confidence)


def _poi(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """P(X > Y) + 0.5 P(X = Y) per task averaged over tasks; x, y are (..., runs, tasks)."""
    gt = (x[..., :, None, :] > y[..., None, :, :]).mean(axis=(-3, -2))
    eq = (x[..., :, None, :] == y[..., None, :, :]).mean(axis=(-3, -2))
    return (gt + 0.5 * eq).mean(axis=-1)


def probability_of_improvement(x: np.ndarray | list, y: np.ndarray | list) -> float:
    """Probability that a run of X beats a run of Y on a random task (Mann-Whitney U / nm, ties 1/2)."""
    xm, ym = _as_matrix(x), _as_matrix(y)
    if xm.shape[1] != ym.shape[1]:
        raise ValueError(f"x and y must have the same number of tasks, got {xm.shape[1]} and {ym.shape[1]}")
    return float(_poi(xm, ym))


def probability_of_improvement_ci(
    x: np.ndarray | list,
    y: np.ndarray | list,
    rng: np.random.Generator,
    reps: int = 2000,
    confidence: float = 0.95,
) -> Interval:
    """Probability of improvement of X over Y with rliable's stratified independent bootstrap CI."""
    _check(reps, confidence)
    point = probability_of_improvement(x, y)
    xm, ym = _as_matrix(x), _as_matrix(y)
    replicates = _poi(_resample(xm, rng, reps), _resample(ym, rng, reps))
    return _percentile_interval(point, replicates, confidence)
