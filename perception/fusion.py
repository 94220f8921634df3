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

:func:`fuse_heatmaps` fuses the views' *evidence* instead of their answers: every point of a table grid is scored
by the sum over views of the log-probability that view's heatmap, mixed with a little of a uniform one (an
outlier term), gives the pixel where the point appears (a view that does not see the point adds the uniform
log-probability), and the answer is the best point. A view that is
unsure (a flat heatmap) weighs little, and a weak view still helps where its best cell is wrong but its second is
right; this is the product of the views' likelihoods under independent errors, as in multi-view pose estimation.
The grid's answer picks the object; :func:`supported_answer` then averages the views' own sub-pixel answers that
lie near it (bilinear or bicubic samples of a heatmap peak between its cell centres, so the grid alone is off by a
fraction of a cell).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["FusedViews", "fuse_heatmaps", "fuse_views", "supported_answer"]


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


def _vertex(scores: torch.Tensor, peak: torch.Tensor, size: int) -> torch.Tensor:
    """Sub-step offset of the peak along one axis: the vertex of the parabola through the scores at
    ``peak - 1, peak, peak + 1`` (``scores`` (N, size) along that axis; 0 at a border or without curvature)."""
    index = torch.arange(len(scores))
    middle = peak.clamp(1, size - 2)
    before, centre, after = (scores[index, middle + k] for k in (-1, 0, 1))
    curvature = 2.0 * centre - before - after
    offset = (after - before) / (2.0 * curvature.clamp_min(1e-9))
    inner = (peak > 0) & (peak < size - 1) & (curvature > 1e-9)
    return torch.where(inner, offset.clamp(-0.5, 0.5), torch.zeros_like(offset))


def fuse_heatmaps(
    log_probs: torch.Tensor, projections: np.ndarray, stride: float, region: list[list[float]], height: float,
    step: float = 0.0025, outlier: float = 0.05,
) -> np.ndarray:  # fmt: skip
    """Table positions ``(N, 2)`` from ``V`` views' heatmaps ``log_probs`` (N, V, M, M) (log-probabilities; cell
    ``[r, c]`` centred on pixel ``((c + 0.5) * stride, (r + 0.5) * stride)``) and each view's camera ``projections``
    (N, V, 3, 4) (world points to pixels, as :func:`simreal.envs.camera.projection_matrix`), by the rule in the
    module docstring: the points of a ``step`` grid over the table rectangle ``region`` ``[[x_low, y_low], [x_high,
    y_high]]`` at height ``height`` (the object's centre plane) are scored, the best refined along each axis by a
    parabola through its neighbours' scores. Heatmaps are sampled bilinearly between cell centres. Each view's
    heatmap is mixed with a uniform one at weight ``outlier`` (a robust likelihood: a view that picked another
    object costs every point the same beyond its own peak, so two agreeing views outweigh it instead of being
    pulled towards it, as a product of Gaussians would be)."""
    if log_probs.ndim != 4 or log_probs.shape[2] != log_probs.shape[3] or log_probs.shape[2] < 2:
        raise ValueError(f"log_probs must have shape (N, V, M, M) with M >= 2, got {tuple(log_probs.shape)}")
    n, views, cells = log_probs.shape[:3]
    if projections.shape != (n, views, 3, 4):
        raise ValueError(f"projections must have shape {(n, views, 3, 4)}, got {projections.shape}")
    for name, value in (("stride", stride), ("step", step)):
        if not (np.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be positive, got {value}")
    if not 0.0 < outlier < 1.0:
        raise ValueError(f"outlier must be in (0, 1), got {outlier}")
    (x_low, y_low), (x_high, y_high) = region
    xs, ys = np.arange(x_low, x_high + step / 2, step), np.arange(y_low, y_high + step / 2, step)
    if len(xs) < 3 or len(ys) < 3:
        raise ValueError(f"region: the grid needs at least 3 x 3 points of step {step} m, got {len(xs)} x {len(ys)}")
    gx, gy = np.meshgrid(xs, ys, indexing="ij")
    points = np.stack([gx.ravel(), gy.ravel(), np.full(gx.size, height), np.ones(gx.size)], axis=1)
    uniform = -float(np.log(cells * cells))
    robust = torch.logaddexp(log_probs.float() + float(np.log1p(-outlier)), torch.tensor(uniform + np.log(outlier)))
    answers = [np.empty((0, 2))]
    for k in range(0, n, _CHUNK):  # a chunk's grid scores at a time (~0.5 MB per frame and view)
        scores = _grid_scores(robust[k : k + _CHUNK], projections[k : k + _CHUNK], points, stride, uniform)
        best = scores.argmax(dim=1)
        i, j = best // len(ys), best % len(ys)
        grid, index = scores.view(-1, len(xs), len(ys)), torch.arange(len(scores))
        dx = _vertex(grid[index, :, j], i, len(xs))  # along x, at the peak's y
        dy = _vertex(grid[index, i, :], j, len(ys))
        answers.append(np.stack([xs[i.numpy()] + dx.numpy() * step, ys[j.numpy()] + dy.numpy() * step], axis=1))
    return np.concatenate(answers)


_CHUNK = 64  # frames scored at once


def _grid_scores(
    robust: torch.Tensor, projections: np.ndarray, points: np.ndarray, stride: float, uniform: float
) -> torch.Tensor:
    """Each grid point's summed log-probability over the views (N, P) (see :func:`fuse_heatmaps`)."""
    n, views, cells = robust.shape[:3]
    total = torch.zeros(n, len(points), dtype=torch.float64)
    for v in range(views):
        pixels = np.einsum("nij,pj->npi", projections[:, v], points)  # (N, P, 3)
        depth = pixels[..., 2]
        safe = np.where(np.abs(depth) < 1e-12, 1e-12, depth)
        cell = pixels[..., :2] / safe[..., None] / stride - 0.5  # (column, row) in cell units
        seen = (depth > 0) & (cell >= 0).all(axis=-1) & (cell <= cells - 1).all(axis=-1)
        grid = torch.from_numpy(np.clip(cell, 0, cells - 1) / (cells - 1) * 2.0 - 1.0).float().view(n, 1, -1, 2)
        sampled = torch.nn.functional.grid_sample(robust[:, v : v + 1], grid, align_corners=True)
        total += torch.where(torch.from_numpy(seen), sampled.view(n, -1).double(), uniform)
    return total


def supported_answer(
    answer: np.ndarray, positions: np.ndarray, confidence: np.ndarray, found: np.ndarray, agree_m: float
) -> FusedViews:
    """The fused table positions ``answer`` (N, 2) (e.g. :func:`fuse_heatmaps`'s) checked and refined by the views
    that back it: the found views (``found`` (N, V)) whose own position (``positions`` (N, V, 2), each decoded to
    sub-pixel precision, which the table grid is not) lies within ``agree_m`` of it. Their confidence-weighted mean
    (``confidence`` (N, V)) replaces the answer; it is found when at least one view backs it, else "not found"
    with the grid's answer as the best guess."""
    positions = np.asarray(positions, dtype=np.float64)
    confidence = np.asarray(confidence, dtype=np.float64)
    found = np.asarray(found, dtype=bool)
    _check(positions, confidence, found, agree_m)
    if answer.shape != (len(positions), 2):
        raise ValueError(f"answer must have shape {(len(positions), 2)}, got {answer.shape}")
    with np.errstate(invalid="ignore"):
        backing = found & (np.linalg.norm(positions - answer[:, None], axis=2) <= agree_m)
    weight = np.where(backing, np.clip(confidence, 0.0, None) + 1e-9, 0.0)
    total = weight.sum(axis=1)
    mean = np.einsum("nv,nvk->nk", weight, np.nan_to_num(positions)) / np.clip(total, 1e-12, None)[:, None]
    refined = np.where(backing.any(axis=1)[:, None], mean, answer)
    return FusedViews(refined, backing.any(axis=1), backing.sum(axis=1))
