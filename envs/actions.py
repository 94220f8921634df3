"""The action contract of every simreal env, kept by every wrapper that transforms actions.

``check_action`` is called by ``MujocoEnv.step`` and, *before* transforming an action, by each wrapper that
perturbs, delays or repeats it (``simreal.randomization.DomainRandomization``), so a bad action raises the
same ``ValueError`` wherever it enters and never reaches a queue or a noise buffer.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

_REAL_KINDS = "iuf"  # signed/unsigned integers and floats; not bool, complex, strings or objects


def action_contract(space: spaces.Box) -> str:
    """What an action must be, in words (used in every error message)."""
    low, high = np.unique(space.low), np.unique(space.high)
    clip = ""
    if len(low) == 1 and len(high) == 1:
        clip = f"; values outside [{low[0]:g}, {high[0]:g}] are clipped"
    return f"a finite real-valued array of shape {space.shape}{clip}"


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def check_action(action: Any, space: spaces.Space) -> Any:
    """``action`` as a float64 array clipped to a Box ``space``'s bounds (documented behaviour).

    Raises ValueError naming ``action``, the expected shape and dtype and finiteness, when ``action`` is not
    a real-valued (integer or float) array of exactly ``space.shape`` (no broadcasting of scalars or other
    shapes) or holds NaN/inf. For other spaces (a user's wrapper in between), ``action`` must be in ``space``.
    """
    if not isinstance(space, spaces.Box):
        if not space.contains(action):
            raise ValueError(f"action: expected an element of {space}, got {_describe(action)}")
        return action
    try:
        array = np.asarray(action)
    except (ValueError, TypeError) as err:  # e.g. a ragged list
        raise ValueError(f"action: expected {action_contract(space)}, got {_describe(action)} ({err})") from None
    if array.dtype.kind not in _REAL_KINDS:
        raise ValueError(f"action: expected {action_contract(space)}, got dtype {array.dtype}: {_describe(action)}")
    if array.shape != space.shape:
        raise ValueError(f"action: expected {action_contract(space)}, got shape {array.shape}: {_describe(action)}")
    array = array.astype(np.float64)
    if not np.isfinite(array).all():
        raise ValueError(f"action: expected {action_contract(space)}, got non-finite values {array.tolist()}")
    return _clipped(array, space)


def recheck_action(action: np.ndarray, space: spaces.Box) -> np.ndarray:
    """What :func:`check_action` returns for an ``action`` computed from checked actions by finite arithmetic
    (noise clipped to the bounds, a blend of two checked actions), without re-validating it: a new float64
    array clipped to the bounds (a blend may overshoot a bound by a rounding step)."""
    return _clipped(action.astype(np.float64), space)


def _clipped(array: np.ndarray, space: spaces.Box) -> np.ndarray:
    np.maximum(array, space.low, out=array)  # two in-place ufuncs: a few microseconds cheaper than np.clip
    return np.minimum(array, space.high, out=array)
