"""Generic (de)serialisation of the spec dataclasses: strict mapping -> dataclass with dotted-path errors, and
dataclass -> plain data (``None`` and empty tuples left out)."""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, Literal, get_args, get_origin

from simreal.randomization.distributions import Distribution, from_dict, is_distribution
from simreal.randomization.spec_errors import SpecError


def parse(reader: Callable[..., Any], *args: Any) -> Any:
    try:
        return reader(*args)
    except ValueError as err:
        raise SpecError(str(err)) from None


def join(path: str, key: str) -> str:
    return key if not path else f"{path}.{key}"


def _prefixed(path: str, err: ValueError) -> SpecError:
    msg = str(err)
    if isinstance(err, SpecError) or not path:
        return SpecError(msg)
    head = msg.split(":", 1)[0]
    if re.fullmatch(r"[A-Za-z_][\w.\[\]]*", head):  # message already names a sub-field
        return SpecError(f"{path}.{msg}")
    return SpecError(f"{path}: {msg}")


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def build(cls: type, data: Any, path: str) -> Any:
    if not isinstance(data, Mapping):
        raise SpecError(f"{path or '<root>'}: expected a mapping for {cls.__name__}, got {type(data).__name__}")
    hints = _hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    for key in data:
        if key not in names:
            raise SpecError(f"{join(path, str(key))}: unknown field for {cls.__name__} (allowed: {sorted(names)})")
    kwargs = {k: _convert(hints[k], v, join(path, k)) for k, v in data.items()}
    try:
        return cls(**kwargs)
    except SpecError:
        raise
    except TypeError as err:  # missing required field
        missing = re.findall(r"'(\w+)'", str(err))
        where = join(path, missing[0]) if missing else path
        raise SpecError(f"{where}: required field missing ({err})") from err
    except ValueError as err:
        raise _prefixed(path, err) from err


def _convert(tp: Any, value: Any, path: str) -> Any:  # noqa: C901 - one branch per supported type
    origin, args = get_origin(tp), get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        non_none = [a for a in args if a is not type(None)]
        if all(a in _DIST_TYPES for a in non_none):
            return _dist(value, path)
        return _convert(non_none[0], value, path)
    if tp in _DIST_TYPES:
        return _dist(value, path)
    if origin is Literal:
        if value not in args:
            raise SpecError(f"{path}: must be one of {list(args)}, got {value!r}")
        return value
    if origin is tuple:
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
            raise SpecError(f"{path}: expected a list, got {type(value).__name__}")
        item = args[0]
        return tuple(_convert(item, v, f"{path}[{i}]") for i, v in enumerate(value))
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return build(tp, value, path)
    if tp is bool:
        if not isinstance(value, bool):
            raise SpecError(f"{path}: expected true/false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise SpecError(f"{path}: expected an integer, got {value!r}")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise SpecError(f"{path}: expected a string, got {type(value).__name__} {value!r}")
        return value
    raise SpecError(f"{path}: unsupported field type {tp!r}")  # pragma: no cover - programming error


_DIST_TYPES = set(get_args(Distribution))


def _dist(value: Any, path: str) -> Distribution:
    if is_distribution(value):
        return value
    try:
        return from_dict(value)
    except ValueError as err:
        raise _prefixed(path, err) from err


def dump(obj: Any) -> Any:
    if is_distribution(obj):
        return obj.to_dict()
    if dataclasses.is_dataclass(obj):
        out = {}
        for f in dataclasses.fields(obj):
            v = getattr(obj, f.name)
            if v is None or v == ():
                continue
            out[f.name] = dump(v)
        return out
    if isinstance(obj, tuple):
        return [dump(v) for v in obj]
    return obj
