"""Robust fusion of one object's table position seen by several calibrated cameras.

Each view's detection, lifted to the table through that view's own camera, is a *vote* with a confidence and a
"found" verdict. A gross error (the detector picking another object) in one view rarely lands where the other views'
detections land, so :func:`fuse_views` keeps the largest group of found views that agree pairwise within
``agree_m`` (ties: the larger summed confidence) and answers with their confidence-weighted mean:

- two or more found views agree: found, their weighted mean (a single disagreeing view is outvoted);
- one found view and no other found view: found, that view (nothing contradicts it; the others saw nothing);
- found views that all disagree: "not found", the best guess being the most confident found view;
- no found view: "not found", the best guess being the most confident view whose ray met the table (NaN when none
  did; the caller supplies its fallback).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

__all__ = ["FusedViews", "fuse_views"]


@dataclass(frozen=True)
class FusedViews:
    """Per frame: the fused table position ``(N, 2)`` (NaN when no view met the table), the "found" verdict ``(N,)``
    and how many views the answer averages ``(N,)`` (0 when none met the table)."""

    positions: np.ndarray
    found: np.ndarray
    views: np.ndarray


def _check(positions: np.ndarray, confidence: np.ndarray, found: np.ndarray, agree_m: float) -> None:
    if positions.ndim != 3 or positions.shape[-1] != 2:
        raise ValueError(f"positions must have shape (N, V, 2), got {positions.shape}")
    n, v = positions.shape[:2]
    if not 1 <= v <= 8:
        raise ValueError(f"positions: 1 to 8 views per frame, got {v}")
    if confidence.shape != (n, v) or found.shape != (n, v):
        raise ValueError(f"confidence and found must have shape {(n, v)}, got {confidence.shape} and {found.shape}")
    if not np.all(np.isfinite(confidence)):
        raise ValueError("confidence: every value must be finite")
    if not (np.isfinite(agree_m) and agree_m > 0):
        raise ValueError(f"agree_m must be a positive distance in metres, got {agree_m}")


def fuse_views(positions: np.ndarray, confidence: np.ndarray, found: np.ndarray, agree_m: float) -> FusedViews:
    """Fuse ``V`` views' table positions ``(N, V, 2)`` (a NaN row: that view's ray missed the table; it is never
    found) with confidences ``(N, V)`` (>= 0) and found verdicts ``(N, V)`` by the rule in the module docstring:
    views agree when their positions are within ``agree_m`` metres of each other."""
    positions = np.asarray(positions, dtype=np.float64)
    confidence = np.asarray(confidence, dtype=np.float64)
    found = np.asarray(found, dtype=bool)
    _check(positions, confidence, found, agree_m)
    n, v = positions.shape[:2]
    valid = np.isfinite(positions).all(axis=2)
    found = found & valid
    weight = np.clip(confidence, 0.0, None) + 1e-9  # a zero-confidence view still counts in an agreeing group
    gaps = np.linalg.norm(positions[:, :, None] - positions[:, None, :], axis=3)  # (N, V, V), NaN for invalid views
    with np.errstate(invalid="ignore"):
        agree = gaps <= agree_m
    best_size, best_score = np.zeros(n, dtype=int), np.full(n, -np.inf)
    best_members = np.zeros((n, v), dtype=bool)
    for size in range(1, v + 1):
        for group in itertools.combinations(range(v), size):
            members = np.zeros(v, dtype=bool)
            members[list(group)] = True
            ok = found[:, list(group)].all(axis=1)
            for a, b in itertools.combinations(group, 2):
                ok &= agree[:, a, b]
            score = weight[:, list(group)].sum(axis=1)
            better = ok & ((size > best_size) | ((size == best_size) & (score > best_score)))
            best_size[better], best_score[better] = size, score[better]
            best_members[better] = members
    n_found = found.sum(axis=1)
    # no found view: the most confident view that met the table is the best guess
    fallback = ~best_members.any(axis=1) & valid.any(axis=1)
    guess = np.where(valid, weight, -np.inf).argmax(axis=1)
    best_members[fallback, guess[fallback]] = True
    w = np.where(best_members, weight, 0.0)
    fused = np.einsum("nv,nvk->nk", w, np.nan_to_num(positions)) / np.clip(w.sum(axis=1, keepdims=True), 1e-12, None)
    fused[~best_members.any(axis=1)] = np.nan
    is_found = (best_size >= 2) | ((best_size == 1) & (n_found == 1))
    return FusedViews(fused, is_found, best_members.sum(axis=1))
