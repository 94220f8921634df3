"""A guard for image translators: before one is used on a new domain, check on a sample of that domain's frames
that the task content survives translation, and warn loudly or refuse when it does not.

Why: a CycleGAN trained on a lab it does not fit can erase the very object the task is about (measured: on a
darker table the real2sim generator painted the red block over with table, and the localization error got worse
than with no adaptation at all), and nothing in the translated images looks wrong to a domain classifier.

The task content (:func:`~simreal.transfer.paired.content_geom`): the arm scene's block (Reach: its goal marker),
or the driving scene's lane markings, the lines a lane-following policy steers by. The check
(:func:`content_survival`), per sampled frame with the object visible:

- **object contrast** (needs an object mask: the simulator's segmentation, or a disc around a known object
  pixel): the colour distance between the object's pixels and a ring of pixels around them, after translation
  over before. A translator may recolour the object and the table (that is its job) but must keep the object
  standing out from its surroundings; an erased object has no contrast left. A frame keeps its content when the
  ratio is at least ``KEEP_RATIO``.
- **detector agreement** (needs a *probe*: a detector that works on both sides, e.g. the domain-randomized
  point detector): the object found at the same place (within ``tolerance_px``) before and after translation,
  on the frames where the probe is sure of the original (confidence >= ``min_confidence``, e.g. its calibrated
  "not found" threshold): where the probe itself finds nothing, agreement says nothing about the translator.

The share of frames that keep their content is the *survival*; :func:`judge` turns it into ``ok`` (>= ``WARN_BELOW``),
``warn`` or ``fail`` (< ``FAIL_BELOW``), and :func:`enforce` warns (``GuardWarning``, also printed to stderr) or
raises :class:`TranslationRefused` (mode ``refuse``). Used by :class:`~simreal.transfer.wrapper.CycleGANObservation`
(``guard=``), hence ``simreal evaluate --transfer``, and by ``simreal experiment transfer``.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal

import gymnasium as gym
import numpy as np

from simreal.data.labels import geom_segmentation
from simreal.transfer.paired import content_geom

__all__ = [
    "FAIL_BELOW",
    "KEEP_RATIO",
    "WARN_BELOW",
    "GuardReport",
    "GuardWarning",
    "TranslationRefused",
    "content_survival",
    "disc_masks",
    "enforce",
    "judge",
    "sample_env",
]

KEEP_RATIO = 0.5  # a frame keeps its object when at least half its contrast with the surroundings survives
WARN_BELOW = 0.9  # survival under this: warn
FAIL_BELOW = 0.7  # survival under this: the translator destroys the task on this domain
MIN_CONTRAST = 12.0  # frames whose object differs from its surroundings by less (0-255 RGB distance) are skipped
RING_PX = 3  # width of the ring of surrounding pixels

Verdict = Literal["ok", "warn", "fail"]
Mode = Literal["warn", "refuse"]
Probe = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]  # uint8 images -> pixels (N, 2), confidences (N,)


class GuardWarning(UserWarning):
    """A translator damages the task content of a domain (see :mod:`simreal.transfer.guard`)."""


class TranslationRefused(ValueError):
    """A translator destroys the task content of a domain and the guard's mode is ``refuse``."""


@dataclass(frozen=True)
class GuardReport:
    """What the guard measured on one domain's sample."""

    domain: str
    frames: int  # frames checked (object visible and contrasted)
    survival: float  # share of checked frames that keep their content (both checks when both ran)
    contrast_ratio: float | None  # median contrast after / before (None without masks)
    detector_agreement: float | None  # share of frames the probe finds at the same place (None without probe)
    verdict: Verdict

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def message(self) -> str:
        parts = [f"content survives in {100 * self.survival:.0f}% of {self.frames} frames"]
        if self.contrast_ratio is not None:
            parts.append(f"median object contrast kept {100 * self.contrast_ratio:.0f}%")
        if self.detector_agreement is not None:
            parts.append(f"detector agrees on {100 * self.detector_agreement:.0f}%")
        return f"translator guard on {self.domain!r}: {self.verdict.upper()}: " + ", ".join(parts)


def disc_masks(pixels: np.ndarray, size: int, radius: float = 1.5) -> np.ndarray:
    """Boolean masks (N, size, size) of the pixels within ``radius`` of each object centre ``pixels`` (N, 2)."""
    centres = np.arange(size) + 0.5
    du = centres[None, None, :] - np.asarray(pixels)[:, 0, None, None]
    dv = centres[None, :, None] - np.asarray(pixels)[:, 1, None, None]
    return du**2 + dv**2 <= radius**2


def _dilate(masks: np.ndarray, steps: int) -> np.ndarray:
    out = masks.copy()
    for _ in range(steps):
        grown = out.copy()
        grown[:, 1:] |= out[:, :-1]
        grown[:, :-1] |= out[:, 1:]
        grown[:, :, 1:] |= out[:, :, :-1]
        grown[:, :, :-1] |= out[:, :, 1:]
        out = grown
    return out


def _contrast(images: np.ndarray, masks: np.ndarray, rings: np.ndarray) -> np.ndarray:
    pixels = images.astype(np.float64)
    inside = (pixels * masks[..., None]).sum(axis=(1, 2)) / np.maximum(masks.sum(axis=(1, 2)), 1)[:, None]
    around = (pixels * rings[..., None]).sum(axis=(1, 2)) / np.maximum(rings.sum(axis=(1, 2)), 1)[:, None]
    return np.linalg.norm(inside - around, axis=1)


def content_survival(
    originals: np.ndarray,
    translated: np.ndarray,
    masks: np.ndarray | None = None,
    probe: Probe | None = None,
    tolerance_px: float = 3.0,
    domain: str = "",
    min_confidence: float = 0.0,
) -> GuardReport:
    """Measure how much task content survives translation (module docstring) on uint8 ``originals`` and their
    ``translated`` versions (N, H, W, 3), given object ``masks`` (bool (N, H, W)) and/or a ``probe``."""
    if originals.shape != translated.shape or originals.ndim != 4 or originals.shape[-1] != 3:
        raise ValueError(
            f"originals, translated: need equal (N, H, W, 3) shapes, got {originals.shape} and {translated.shape}"
        )
    if masks is None and probe is None:
        raise ValueError("masks, probe: give object masks, a probe detector or both")
    keep = np.ones(len(originals), dtype=bool)
    checked = np.ones(len(originals), dtype=bool)
    ratio = agreement = None
    if masks is not None:
        masks = np.asarray(masks, dtype=bool)
        if masks.shape != originals.shape[:3]:
            raise ValueError(f"masks must have shape {originals.shape[:3]}, got {masks.shape}")
        rings = _dilate(masks, RING_PX) & ~_dilate(masks, 1)
        before, after = _contrast(originals, masks, rings), _contrast(translated, masks, rings)
        checked &= masks.any(axis=(1, 2)) & (before >= MIN_CONTRAST)
        ratios = after / np.maximum(before, 1e-9)
        keep &= ratios >= KEEP_RATIO
        ratio = float(np.median(ratios[checked])) if checked.any() else None
    if probe is not None:
        found_before, confidence = probe(originals)
        found_after, _ = probe(translated)
        sure = confidence >= min_confidence
        same = np.linalg.norm(found_after - found_before, axis=1) <= tolerance_px
        keep &= same | ~sure
        judged = checked & sure
        agreement = float(same[judged].mean()) if judged.any() else None
    frames = int(checked.sum())
    survival = float(keep[checked].mean()) if frames else 1.0
    return GuardReport(domain, frames, survival, ratio, agreement, judge(survival, frames))


def judge(survival: float, frames: int) -> Verdict:
    """``ok`` / ``warn`` / ``fail`` from the survival share (``warn`` when no frame could be checked)."""
    if frames == 0:
        return "warn"
    if survival < FAIL_BELOW:
        return "fail"
    return "warn" if survival < WARN_BELOW else "ok"


def enforce(report: GuardReport, mode: Mode = "warn") -> GuardReport:
    """Act on ``report``: nothing when ``ok``; otherwise print the message to stderr and warn (``GuardWarning``);
    with ``mode="refuse"`` a ``fail`` raises :class:`TranslationRefused` instead."""
    if mode not in ("warn", "refuse"):
        raise ValueError(f"mode must be 'warn' or 'refuse', got {mode!r}")
    if report.verdict == "ok":
        return report
    if report.verdict == "fail" and mode == "refuse":
        raise TranslationRefused(report.message + "; refusing to use this translator here")
    text = report.message + ("; the translator destroys the task here, do not trust it" if report.verdict == "fail"
                             else "; the translator damages the task here")  # fmt: skip
    print(f"WARNING: {text}", file=sys.stderr, flush=True)
    warnings.warn(text, GuardWarning, stacklevel=2)
    return report


def _image(observation: Any, camera: str) -> np.ndarray:
    if isinstance(observation, dict):
        for key in ("pixels", camera):
            if key in observation and np.ndim(observation[key]) == 3:
                return np.asarray(observation[key])
        raise ValueError(f"observation: no image of camera {camera!r} among {sorted(observation)}")
    return np.asarray(observation)


def sample_env(env: gym.Env, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` reset observations of a simreal env (seeds ``seed``, ``seed + 1``, ...): the image of its first
    camera (N, H, W, 3) and the mask of the task content there (:func:`content_geom`) from the simulator's
    segmentation. Resets ``env``."""
    base: Any = env.unwrapped
    target = content_geom(base.model) if hasattr(base, "model") else -1
    if target < 0 or not hasattr(base, "render_frame"):
        raise ValueError(
            "env: the guard's sample needs a simreal env with task content (a block, a goal marker or lane markings)"
        )
    camera = base.camera_names[0]
    images, masks = [], []
    for k in range(n):
        observation, _ = env.reset(seed=seed + k)
        image = _image(observation, camera)
        raw = base.render_frame(camera, "segmentation", image.shape[0])
        images.append(image)
        masks.append(geom_segmentation(raw) == target)
    return np.stack(images), np.stack(masks)
