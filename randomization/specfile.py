"""Reading spec text (YAML or JSON) into plain data, with errors of the form ``SOURCE:LINE: what``.

YAML syntax errors, duplicate keys (which PyYAML would silently resolve to the last value), unreadable files
and over-deep nesting all become ``ValueError``; so do field errors raised while building the spec, which
:func:`locate` prefixes with the line of the offending field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from yaml.constructor import ConstructorError

T = TypeVar("T")
_HEAD = re.compile(r"^([A-Za-z_][\w.\[\]]*):")


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate and unhashable mapping keys (naming their line)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.setdefault(key, key_node.start_mark.line)
            except TypeError:
                raise ConstructorError(None, None, "a mapping key must be a plain value", key_node.start_mark) from None
            if first != key_node.start_mark.line:
                raise ConstructorError(
                    None, None, f"duplicate key {key!r} (first set at line {first + 1})", key_node.start_mark
                )
        return super().construct_mapping(node, deep=deep)


def _yaml_error(source: str, err: yaml.YAMLError) -> ValueError:
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    line = f":{mark.line + 1}" if mark is not None else ""
    problem = getattr(err, "problem", None) or str(err)
    context = getattr(err, "context", None)
    where = f" ({context})" if context and problem != str(err) else ""
    return ValueError(f"{source}{line}: YAML: {problem}{where}")


def parse_yaml(text: str, source: str = "<string>") -> Any:
    """Plain data from YAML text; syntax errors and duplicate keys raise ``ValueError('SOURCE:LINE: ...')``."""
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError as err:
        raise _yaml_error(source, err) from None
    except RecursionError:
        raise ValueError(f"{source}: YAML nesting too deep") from None


def parse_json(text: str, source: str = "<string>") -> Any:
    """Plain data from JSON text; errors raise ``ValueError('SOURCE:LINE: ...')``."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"{source}:{err.lineno}: JSON syntax: {err.msg} (column {err.colno})") from None
    except RecursionError:
        raise ValueError(f"{source}: JSON nesting too deep") from None


def read_text(path: Path) -> str:
    """The UTF-8 text of ``path``; unreadable files raise ``ValueError('PATH: ...')``."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    except OSError as err:
        raise ValueError(f"{path}: cannot read the spec file ({err.strerror or err})") from None


def _line_map(text: str) -> dict[str, int]:
    """1-based line of every dotted field path in a YAML document (``a.b[2].c``); aliases are not followed."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except (yaml.YAMLError, RecursionError):
        return {}
    out: dict[str, int] = {}
    seen: set[int] = set()
    stack: list[tuple[Any, str]] = [(root, "")] if root is not None else []
    while stack:
        node, path = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                sub = f"{path}.{key.value}" if path else str(key.value)
                out.setdefault(sub, key.start_mark.line + 1)
                stack.append((value, sub))
        elif isinstance(node, yaml.SequenceNode):
            for i, value in enumerate(node.value):
                sub = f"{path}[{i}]"
                out.setdefault(sub, value.start_mark.line + 1)
                stack.append((value, sub))
    return out


def locate(build: Callable[[Any], T], data: Any, text: str, source: str) -> T:
    """``build(data)``, with a ValueError's message prefixed by ``SOURCE:LINE:`` of the field it names (lines
    come from composing ``text`` as YAML, which also reads JSON)."""
    try:
        return build(data)
    except ValueError as err:
        msg = str(err)
        head = _HEAD.match(msg)
        line = ""
        if head:
            lines = _line_map(text)
            path = head.group(1)
            while path and path not in lines:  # the deepest field of the path that the text spells out
                path = path[: max(path.rfind("."), path.rfind("["), 0)]
            line = f":{lines[path]}" if path else ""
        raise type(err)(f"{source}{line}: {msg}") from err
