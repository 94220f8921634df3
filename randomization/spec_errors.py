"""The error every invalid randomization spec raises, and the helpers that check a spec entry's fields."""

from __future__ import annotations


class SpecError(ValueError):
    """Invalid spec; the message starts with the dotted path of the offending field."""


def check_names(names: tuple[str, ...], fname: str = "names") -> None:
    if not names:
        raise ValueError(f"{fname}: must name at least one element pattern")
    for i, n in enumerate(names):
        if not isinstance(n, str) or not n:
            raise ValueError(f"{fname}[{i}]: expected a non-empty name or glob pattern, got {n!r}")


def check_in(value: str, allowed: tuple[str, ...], fname: str) -> None:
    if value not in allowed:
        raise ValueError(f"{fname}: must be one of {list(allowed)}, got {value!r}")


def check_subset(values: tuple[str, ...], allowed: tuple[str, ...], fname: str) -> None:
    if not values:
        raise ValueError(f"{fname}: must not be empty (allowed: {list(allowed)})")
    for i, v in enumerate(values):
        if v not in allowed:
            raise ValueError(f"{fname}[{i}]: must be one of {list(allowed)}, got {v!r}")
