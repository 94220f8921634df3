"""Scalar probability distributions used by randomization specs.

Every distribution is a frozen dataclass validated on construction (bad values raise ``ValueError`` naming
the field), samples only through an explicit ``np.random.Generator`` and round-trips through plain dicts
(``{"type": "uniform", "low": 0.0, "high": 1.0}``).
One module (~360 lines) for one job: the five distributions share validation, the dict format and the overlap test.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, TypeAlias

import numpy as np

Scalar: TypeAlias = float | int | str
Sample: TypeAlias = Any  # a scalar when size is None, else an ndarray


def _finite(name: str, value: Any, allow_inf: bool = True) -> float:
    """``value`` as a float: a real number, never NaN, infinite only when ``allow_inf``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        hint = ""
        if isinstance(value, str) and re.fullmatch(r"[-+]?\d+(\.\d*)?[eE][-+]?\d+", value.strip()):
            hint = " (YAML 1.1 reads exponents without a decimal point as text: write e.g. 1.0e9)"
        raise ValueError(f"{name}: expected a number, got {type(value).__name__} {value!r}{hint}")
    try:
        value = float(value)
    except OverflowError:  # an int beyond float range
        raise ValueError(f"{name}: must be a finite number, got an integer with {len(str(value))} digits") from None
    if math.isnan(value):
        raise ValueError(f"{name}: must not be NaN")
    if not allow_inf and math.isinf(value):
        raise ValueError(f"{name}: must be finite, got {value}")
    return value


MAX_STD = 1e300  # a normal draw stays a finite float


def _fmt(x: float) -> str:
    return f"{x:g}"


class _Interval:
    """Support, membership and serialisation shared by the distributions on ``[low, high]``."""

    low: float
    high: float
    kind: ClassVar[str]

    def support(self) -> tuple[float, float]:
        return (self.low, self.high)

    def contains(self, x: Any) -> bool:
        arr = np.asarray(x, dtype=float)
        return bool(np.all((arr >= self.low) & (arr <= self.high)))

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.kind, "low": self.low, "high": self.high}


@dataclass(frozen=True)
class Uniform(_Interval):
    """Uniform on the closed interval [low, high] (low < high)."""

    low: float
    high: float
    kind: ClassVar[str] = "uniform"

    def __post_init__(self) -> None:
        object.__setattr__(self, "low", _finite("low", self.low))
        object.__setattr__(self, "high", _finite("high", self.high))
        if not (math.isfinite(self.low) and math.isfinite(self.high)):
            raise ValueError(f"low/high: must be finite, got [{self.low}, {self.high}]")
        if self.low >= self.high:
            raise ValueError(f"low: must be < high={self.high}, got {self.low}")
        if not math.isfinite(self.high - self.low):
            raise ValueError(f"high: high - low must be a finite float, got [{self.low:g}, {self.high:g}]")

    def sample(self, rng: np.random.Generator, size: int | tuple[int, ...] | None = None) -> Sample:
        if size is None:  # rng.uniform's own arithmetic on its one double, without its ~1 us of argument handling
            return self.low + (self.high - self.low) * rng.random()
        return rng.uniform(self.low, self.high, size)

    def __repr__(self) -> str:
        return f"Uniform({_fmt(self.low)}, {_fmt(self.high)})"


@dataclass(frozen=True)
class LogUniform(_Interval):
    """Log-uniform on [low, high] with 0 < low < high."""

    low: float
    high: float
    kind: ClassVar[str] = "loguniform"

    def __post_init__(self) -> None:
        object.__setattr__(self, "low", _finite("low", self.low))
        object.__setattr__(self, "high", _finite("high", self.high))
        if not self.low > 0.0:
            raise ValueError(f"low: must be > 0, got {self.low}")
        if not math.isfinite(self.high):
            raise ValueError(f"high: must be finite, got {self.high}")
        if self.low >= self.high:
            raise ValueError(f"low: must be < high={self.high}, got {self.low}")

    def sample(self, rng: np.random.Generator, size: int | tuple[int, ...] | None = None) -> Sample:
        out = np.exp(rng.uniform(math.log(self.low), math.log(self.high), size))
        out = np.clip(out, self.low, self.high)
        return float(out) if size is None else out

    def __repr__(self) -> str:
        return f"LogUniform({_fmt(self.low)}, {_fmt(self.high)})"


@dataclass(frozen=True)
class Normal:
    """Normal(mean, std) truncated to [low, high] (defaults: untruncated)."""

    mean: float
    std: float
    low: float = -math.inf
    high: float = math.inf
    kind: ClassVar[str] = "normal"
    _max_rounds: ClassVar[int] = 64

    def __post_init__(self) -> None:
        for name in ("mean", "std", "low", "high"):
            object.__setattr__(self, name, _finite(name, getattr(self, name)))
        if not math.isfinite(self.mean):
            raise ValueError(f"mean: must be finite, got {self.mean}")
        if not 0.0 <= self.std <= MAX_STD:
            raise ValueError(f"std: must be in [0, {MAX_STD:g}] (draws stay finite), got {self.std}")
        if self.low >= self.high:
            raise ValueError(f"low: must be < high={self.high}, got {self.low}")
        if not self.low <= self.mean <= self.high:
            raise ValueError(f"mean: must lie in [low, high] = [{self.low}, {self.high}], got {self.mean}")

    def sample(self, rng: np.random.Generator, size: int | tuple[int, ...] | None = None) -> Sample:
        shape = () if size is None else size
        narrow = self.std > 0 and (self.high - self.low) <= 3.0 * self.std
        out = np.asarray(self._propose(rng, shape, narrow), dtype=float)
        bad = self._rejected(rng, out, narrow)
        rounds = 0
        while bad.any() and rounds < self._max_rounds:  # rejection sampling (mean lies inside the window)
            out[bad] = self._propose(rng, int(bad.sum()), narrow)
            bad[bad] = self._rejected(rng, out[bad], narrow)
            rounds += 1
        out = np.clip(out, self.low, self.high)
        return float(out) if size is None else out

    def _propose(self, rng: np.random.Generator, shape: Any, narrow: bool) -> np.ndarray:
        # a window narrow next to std: propose uniformly inside it, else from the untruncated normal
        if narrow:
            return rng.uniform(self.low, self.high, shape)
        return rng.normal(self.mean, self.std, shape)

    def _rejected(self, rng: np.random.Generator, x: np.ndarray, narrow: bool) -> np.ndarray:
        if narrow:
            density = np.exp(-0.5 * ((x - self.mean) / self.std) ** 2)
            return rng.random(np.shape(x)) >= density
        return (x < self.low) | (x > self.high)

    def support(self) -> tuple[float, float]:
        if self.std == 0.0:
            return (self.mean, self.mean)
        return (self.low, self.high)

    def contains(self, x: Any) -> bool:
        arr = np.asarray(x, dtype=float)
        lo, hi = self.support()
        return bool(np.all((arr >= lo) & (arr <= hi)))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.kind, "mean": self.mean, "std": self.std}
        if math.isfinite(self.low):
            out["low"] = self.low
        if math.isfinite(self.high):
            out["high"] = self.high
        return out

    def __repr__(self) -> str:
        bounds = ""
        if math.isfinite(self.low) or math.isfinite(self.high):
            bounds = f", low={_fmt(self.low)}, high={_fmt(self.high)}"
        return f"Normal({_fmt(self.mean)}, {_fmt(self.std)}{bounds})"


@dataclass(frozen=True)
class Choice:
    """Discrete choice among ``options`` (numbers or strings) with optional ``weights``."""

    options: tuple[Scalar, ...]
    weights: tuple[float, ...] | None = None
    kind: ClassVar[str] = "choice"

    def __post_init__(self) -> None:
        if isinstance(self.options, (str, bytes)) or not isinstance(self.options, (list, tuple)):
            raise ValueError(f"options: expected a list, got {type(self.options).__name__}")
        opts = tuple(self.options)
        if not opts:
            raise ValueError("options: must not be empty")
        for i, o in enumerate(opts):
            if isinstance(o, bool) or not isinstance(o, (int, float, str)):
                raise ValueError(f"options[{i}]: expected a number or string, got {type(o).__name__}")
            if not isinstance(o, str):
                _finite(f"options[{i}]", o, allow_inf=False)
        if len(set(opts)) != len(opts):
            raise ValueError(f"options: must be unique, got {list(opts)}")
        object.__setattr__(self, "options", opts)
        if self.weights is not None:
            w = tuple(_finite(f"weights[{i}]", x, allow_inf=False) for i, x in enumerate(self.weights))
            if len(w) != len(opts):
                raise ValueError(f"weights: expected {len(opts)} values (one per option), got {len(w)}")
            if any(x < 0 for x in w) or not 0 < sum(w) < math.inf:
                raise ValueError(f"weights: must be >= 0 with a positive sum, got {list(w)}")
            object.__setattr__(self, "weights", w)

    def _cdf(self) -> np.ndarray:
        w = np.cumsum(np.asarray(self.weights, dtype=float))
        return w / w[-1]

    def sample(self, rng: np.random.Generator, size: int | tuple[int, ...] | None = None) -> Sample:
        n = len(self.options)
        if self.weights is None:  # uniform over the options; rng.integers is much cheaper than rng.choice
            idx = rng.integers(n, size=size)
        else:  # inverse CDF; a draw exactly at the float-rounded top of the CDF falls on the last option
            idx = np.minimum(np.searchsorted(self._cdf(), rng.random(size), side="right"), n - 1)
        if size is None:
            return self.options[int(idx)]
        return (
            np.asarray(self.options, dtype=object)[idx]
            if self.is_categorical
            else np.asarray(self.options, dtype=float)[idx]
        )

    @property
    def is_categorical(self) -> bool:
        return any(isinstance(o, str) for o in self.options)

    def support(self) -> frozenset[Scalar]:
        return frozenset(self.options)

    def contains(self, x: Any) -> bool:
        values = [x] if np.ndim(x) == 0 else list(np.asarray(x, dtype=object).ravel())
        allowed = set(self.options)
        return all((v.item() if isinstance(v, np.generic) else v) in allowed for v in values)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.kind, "options": list(self.options)}
        if self.weights is not None:
            out["weights"] = list(self.weights)
        return out

    def __repr__(self) -> str:
        w = "" if self.weights is None else f", weights={list(self.weights)}"
        return f"Choice({list(self.options)}{w})"


@dataclass(frozen=True)
class Constant:
    """Always ``value`` (a number or string)."""

    value: Scalar
    kind: ClassVar[str] = "constant"

    def __post_init__(self) -> None:
        if isinstance(self.value, str):
            return
        object.__setattr__(self, "value", _finite("value", self.value, allow_inf=False))

    def sample(self, rng: np.random.Generator, size: int | tuple[int, ...] | None = None) -> Sample:
        if size is None:
            return self.value
        return np.full(size, self.value, dtype=object if isinstance(self.value, str) else float)

    def support(self) -> Any:
        if isinstance(self.value, str):
            return frozenset([self.value])
        return (float(self.value), float(self.value))

    def contains(self, x: Any) -> bool:
        if isinstance(self.value, str):
            return bool(np.all(np.asarray(x, dtype=object) == self.value))
        return bool(np.all(np.asarray(x, dtype=float) == self.value))

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.kind, "value": self.value}

    def __repr__(self) -> str:
        return f"Constant({self.value!r})"


Distribution: TypeAlias = Uniform | LogUniform | Normal | Choice | Constant

_TYPES: dict[str, type] = {c.kind: c for c in (Uniform, LogUniform, Normal, Choice, Constant)}
_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # kind: (required keys, optional keys)
    "uniform": (("low", "high"), ()),
    "loguniform": (("low", "high"), ()),
    "normal": (("mean", "std"), ("low", "high")),
    "choice": (("options",), ("weights",)),
    "constant": (("value",), ()),
}


def from_dict(data: Any) -> Distribution:
    """Build a distribution from ``{"type": ..., ...}``; a bare number is shorthand for ``Constant``.

    Raises ``ValueError`` whose message starts with the offending key (e.g. ``low: must be < high``).
    """
    if isinstance(data, (int, float, str)) and not isinstance(data, bool):
        return Constant(data)
    if not isinstance(data, Mapping):
        raise ValueError(f"expected a distribution mapping with a 'type' key, got {type(data).__name__}")
    kind = data.get("type")
    if not isinstance(kind, str) or kind not in _TYPES:
        raise ValueError(f"type: must be one of {sorted(_TYPES)}, got {kind!r}")
    required, optional = _FIELDS[kind]
    unknown = set(data) - {"type", *required, *optional}
    if unknown:
        raise ValueError(
            f"{sorted(map(str, unknown))[0]}: unknown key for {kind} (allowed: {list(required + optional)})"
        )
    missing = [k for k in required if k not in data]
    if missing:
        raise ValueError(f"{missing[0]}: required for {kind}")
    kwargs = {k: data[k] for k in required + optional if k in data}
    if kind == "choice":
        if not isinstance(kwargs["options"], (list, tuple)):
            raise ValueError(f"options: expected a list, got {type(kwargs['options']).__name__}")
        kwargs["options"] = tuple(kwargs["options"])
        if "weights" in kwargs:
            if not isinstance(kwargs["weights"], (list, tuple)):
                raise ValueError(f"weights: expected a list, got {type(kwargs['weights']).__name__}")
            kwargs["weights"] = tuple(kwargs["weights"])
    return _TYPES[kind](**kwargs)


def to_dict(dist: Distribution) -> dict[str, Any]:
    """Plain-dict form of ``dist`` (inverse of :func:`from_dict`)."""
    return dist.to_dict()


def is_distribution(x: Any) -> bool:
    return isinstance(x, (Uniform, LogUniform, Normal, Choice, Constant))


def supports_overlap(a: Distribution, b: Distribution) -> bool:
    """True when the supports of ``a`` and ``b`` share a value (closed intervals / common options)."""
    sa, sb = a.support(), b.support()
    if isinstance(sa, frozenset) or isinstance(sb, frozenset):
        if isinstance(sa, frozenset) and isinstance(sb, frozenset):
            return bool(sa & sb)
        interval: tuple[float, float] = sb if isinstance(sa, frozenset) else sa  # type: ignore[assignment]
        options: frozenset[Scalar] = sa if isinstance(sa, frozenset) else sb  # type: ignore[assignment]
        return any(not isinstance(o, str) and interval[0] <= float(o) <= interval[1] for o in options)
    return not (sa[1] < sb[0] or sb[1] < sa[0])
