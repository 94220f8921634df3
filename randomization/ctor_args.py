"""JSON forms of the randomization wrappers' constructor arguments.

Gymnasium records a wrapper's constructor arguments in ``env.spec`` (``RecordConstructorArgs``), and
``gym.make(EnvSpec.from_json(env.spec.to_json()))`` rebuilds the wrapper from them and checks that the rebuilt
record equals the saved one. So the wrappers record plain JSON data (the spec as its dict, a seed sequence as its
entropy and spawn key) and accept that form back.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np

from simreal.randomization.spec import RandomizationSpec

SeedArg = int | np.random.SeedSequence | Mapping[str, Any] | None


def json_data(value: Any) -> Any:
    """``value`` as it comes back from a JSON round-trip (lists for tuples, str keys)."""
    return json.loads(json.dumps(value))


def spec_arg(value: RandomizationSpec | Mapping[str, Any], name: str = "spec") -> RandomizationSpec:
    """A ``RandomizationSpec`` from a spec or its dict (``spec.to_dict()``, e.g. read back from JSON)."""
    if isinstance(value, RandomizationSpec):
        return value
    if isinstance(value, Mapping):
        return RandomizationSpec.from_dict(value)
    raise ValueError(f"{name}: expected a RandomizationSpec or its dict, got {type(value).__name__}")


def spec_json(spec: RandomizationSpec) -> dict[str, Any]:
    """The spec as JSON data (``spec_arg`` turns it back into an equal spec)."""
    return json_data(spec.to_dict())


def seed_arg(value: SeedArg, name: str = "seed") -> np.random.SeedSequence:
    """A ``SeedSequence`` from an int (or list of ints), None, a ``SeedSequence`` or its ``seed_json`` form."""
    if isinstance(value, np.random.SeedSequence):
        return value
    try:
        if isinstance(value, Mapping):
            if set(value) != {"entropy", "spawn_key"}:
                raise ValueError(f"a seed mapping needs exactly the keys entropy and spawn_key, got {sorted(value)}")
            return np.random.SeedSequence(value["entropy"], spawn_key=tuple(value["spawn_key"]))
        if isinstance(value, bool):
            raise TypeError("a bool is not a seed")
        return np.random.SeedSequence(value)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name}: expected an int >= 0, None or a SeedSequence, got {value!r} ({err})") from err


def seed_json(value: SeedArg) -> Any:
    """JSON data for a seed argument: ints and None as they are, a ``SeedSequence`` as entropy + spawn key."""
    if isinstance(value, np.random.SeedSequence):
        return json_data({"entropy": _ints(value.entropy), "spawn_key": _ints(value.spawn_key)})
    return json_data(_ints(value) if not isinstance(value, Mapping) else dict(value))


def _ints(value: Any) -> Any:
    """Python ints for numpy integers, lists of them for sequences (JSON cannot hold numpy scalars)."""
    if value is None or isinstance(value, int):
        return value
    if isinstance(value, np.integer):
        return int(value)
    return [int(v) for v in value]
