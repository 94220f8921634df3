"""Composed spec files: ``include: [a.yaml, b.yaml]`` merges other spec files under a file's own fields.

Merge semantics (Hydra's defaults list, then the file itself): the included files are merged in order, then the
including file's own fields; **later entries override earlier ones**. Mappings (groups, entries such as
``visual.camera``, HSV colours) merge key by key; every other value replaces the earlier one whole: a
distribution (a mapping with ``type``, or a number), a string and a list (``visual.colors``,
``physics.entries``: the order of a list is the order of its draws, so lists are never concatenated).
Include paths are relative to the including file; includes nest; a cycle raises.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from simreal.randomization.specfile import parse_json, parse_yaml, read_text

INCLUDE = "include"


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``override`` on top (see the module docstring); neither input is modified."""
    out = dict(base)
    for key, value in override.items():
        old = out.get(key)
        if isinstance(old, Mapping) and isinstance(value, Mapping) and "type" not in old and "type" not in value:
            out[key] = merge(old, value)  # two groups (a distribution has a ``type``)
        else:
            out[key] = value
    return out


def read_data(path: Path) -> tuple[Any, str]:
    """The plain data of a spec file (its includes not yet resolved) and its text."""
    source = str(path)
    text = read_text(path)
    return (parse_json if source.endswith(".json") else parse_yaml)(text, source), text


def resolve_includes(data: Any, path: Path, stack: tuple[Path, ...] = ()) -> Any:
    """``data`` of the spec file ``path`` with its ``include`` list merged in (recursively); other data as is.
    Errors are ``ValueError`` naming ``include[i]``."""
    if not isinstance(data, Mapping) or INCLUDE not in data:
        return data
    includes = data[INCLUDE]
    if isinstance(includes, str) or not isinstance(includes, list) or not includes:
        raise ValueError(f"{INCLUDE}: expected a non-empty list of spec files, got {includes!r}")
    here = (*stack, path.resolve())
    merged: dict[str, Any] = {}
    for i, name in enumerate(includes):
        if not isinstance(name, str) or not name:
            raise ValueError(f"{INCLUDE}[{i}]: expected a spec file name, got {name!r}")
        target = (path.parent / name).resolve()
        if target in here:
            chain = " -> ".join(p.name for p in (*here, target))
            raise ValueError(f"{INCLUDE}[{i}]: {name!r} includes itself ({chain})")
        if not target.is_file():
            raise ValueError(f"{INCLUDE}[{i}]: no spec file {name!r} next to {path.name}")
        sub, _ = read_data(target)
        sub = resolve_includes(sub, target, here)
        if sub is not None and not isinstance(sub, Mapping):
            raise ValueError(f"{INCLUDE}[{i}]: {name!r} is not a spec mapping")
        merged = merge(merged, sub or {})
    return merge(merged, {k: v for k, v in data.items() if k != INCLUDE})
