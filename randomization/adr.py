"""Automatic domain randomization (OpenAI et al. 2019, "Solving Rubik's Cube with a Robot Hand").

Each ADR parameter is a scalar distribution in a spec (addressed by its dotted path) whose range
``[low, high]`` starts narrow. With probability ``boundary_prob`` an episode pins one parameter to one of its
bounds; that episode's performance goes into the buffer of (parameter, side). A full buffer whose mean is
``>= threshold_high`` widens that side by ``step``; ``<= threshold_low`` narrows it. Ranges stay within hard
limits, the state saves/loads as JSON (atomically) and every change is logged in ``history``.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from simreal.atomic import atomic_write_text
from simreal.envs.wrappers import find_wrapper
from simreal.randomization.ctor_args import json_data
from simreal.randomization.distributions import Constant, Uniform, is_distribution
from simreal.randomization.spec import RandomizationSpec, get_at, replace_at
from simreal.randomization.specfile import parse_json, read_text
from simreal.randomization.wrapper import DomainRandomization

Boundary = tuple[str, str]  # (parameter path, "low" | "high")


def _number(name: str, value: Any, finite: bool = True) -> None:
    """Raise ValueError unless ``value`` is a real number (not NaN; finite when ``finite``)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise ValueError(f"{name}: expected a number, got {type(value).__name__} {value!r}")
    if finite and math.isinf(value):
        raise ValueError(f"{name}: must be finite, got {value}")


@dataclass(frozen=True)
class AdrParam:
    """One ADR-controlled distribution: initial range ``[low, high]`` inside hard limits ``[min_low, max_high]``."""

    path: str
    low: float
    high: float
    min_low: float = -math.inf
    max_high: float = math.inf
    step: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.path, str) or not self.path:
            raise ValueError(f"path: expected a dotted spec path such as 'physics.entries[0].dist', got {self.path!r}")
        for name in ("low", "high", "min_low", "max_high"):
            _number(name, getattr(self, name), finite=name in ("low", "high"))
        if self.step is not None:
            _number("step", self.step)
        if not self.low <= self.high:
            raise ValueError(f"low: must be <= high={self.high}, got {self.low}")
        if not self.min_low <= self.low:
            raise ValueError(f"min_low: must be <= low={self.low}, got {self.min_low}")
        if not self.high <= self.max_high:
            raise ValueError(f"max_high: must be >= high={self.high}, got {self.max_high}")
        if self.step is not None and not self.step > 0:
            raise ValueError(f"step: must be > 0, got {self.step}")


@dataclass(frozen=True)
class AdrConfig:
    """ADR thresholds on mean boundary performance, buffer size, default step and boundary probability."""

    threshold_high: float = 0.8
    threshold_low: float = 0.4
    buffer_size: int = 10
    step: float = 0.05
    boundary_prob: float = 0.5

    def __post_init__(self) -> None:
        for name in ("threshold_high", "threshold_low", "step", "boundary_prob"):
            _number(name, getattr(self, name))
        if isinstance(self.buffer_size, bool) or not isinstance(self.buffer_size, int):
            raise ValueError(f"buffer_size: expected an integer >= 1, got {self.buffer_size!r}")
        if not self.threshold_low < self.threshold_high:
            raise ValueError(f"threshold_low: must be < threshold_high={self.threshold_high}, got {self.threshold_low}")
        if self.buffer_size < 1:
            raise ValueError(f"buffer_size: must be >= 1, got {self.buffer_size}")
        if not self.step > 0:
            raise ValueError(f"step: must be > 0, got {self.step}")
        if not 0.0 <= self.boundary_prob <= 1.0:
            raise ValueError(f"boundary_prob: must be in [0, 1], got {self.boundary_prob}")


class AutomaticDomainRandomization:
    """ADR over scalar distributions of ``base_spec``; ``propose`` -> episode -> ``update``."""

    def __init__(
        self, base_spec: RandomizationSpec, params: Sequence[AdrParam], config: AdrConfig | None = None
    ) -> None:
        if not params:
            raise ValueError("params: ADR needs at least one parameter")
        for i, p in enumerate(params):
            try:
                target = get_at(base_spec, p.path)
            except (AttributeError, IndexError, TypeError) as err:
                raise ValueError(f"params[{i}].path: {p.path!r} does not exist in the spec") from err
            if not is_distribution(target):
                raise ValueError(f"params[{i}].path: {p.path!r} is not a distribution")
        self.base_spec = base_spec
        self.params = {p.path: p for p in params}
        self.config = config or AdrConfig()
        self.ranges: dict[str, list[float]] = {p.path: [p.low, p.high] for p in params}
        for i, p in enumerate(params):
            try:
                replace_at(base_spec, p.path, Uniform(p.low, p.high) if p.high > p.low else Constant(p.low))
            except ValueError as err:
                raise ValueError(f"params[{i}]: initial range of {p.path} breaks its bounds: {err}") from err
        self.buffers: dict[str, list[float]] = {self._key((p.path, s)): [] for p in params for s in ("low", "high")}
        self.episodes = 0
        self.history: list[dict[str, Any]] = [self._snapshot("init")]

    def to_dict(self) -> dict[str, Any]:
        """Construction data as JSON (base spec, params, config; not the learned ranges): ``from_dict`` rebuilds it."""
        return json_data(
            {
                "base_spec": self.base_spec.to_dict(),
                "params": [asdict(p) for p in self.params.values()],
                "config": asdict(self.config),
            }
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AutomaticDomainRandomization:
        """An ADR with initial ranges from ``to_dict`` data."""
        if not isinstance(data, Mapping) or set(data) != {"base_spec", "params", "config"}:
            raise ValueError(f"adr: expected a mapping with keys base_spec, params, config, got {data!r:.200}")
        params = [AdrParam(**p) for p in data["params"]]
        return cls(RandomizationSpec.from_dict(data["base_spec"]), params, AdrConfig(**data["config"]))

    @staticmethod
    def _key(boundary: Boundary) -> str:
        return f"{boundary[0]}@{boundary[1]}"

    def _snapshot(self, event: str) -> dict[str, Any]:
        return {"episode": self.episodes, "event": event, "ranges": {k: list(v) for k, v in self.ranges.items()}}

    # ------------------------------------------------------------------------------------- sampling
    def spec(self, boundary: Boundary | None = None) -> RandomizationSpec:
        """The base spec with current ranges (``boundary`` pins that parameter to that bound)."""
        spec = self.base_spec
        for path, (lo, hi) in self.ranges.items():
            if boundary is not None and boundary[0] == path:
                dist: Any = Constant(lo if boundary[1] == "low" else hi)
            else:
                dist = Uniform(lo, hi) if hi > lo else Constant(lo)
            spec = replace_at(spec, path, dist)
        return spec

    def propose(self, rng: np.random.Generator) -> tuple[RandomizationSpec, Boundary | None]:
        """Spec for the next episode and the boundary it evaluates (None: plain sampling)."""
        boundary: Boundary | None = None
        if rng.random() < self.config.boundary_prob:
            paths = list(self.ranges)
            boundary = (paths[int(rng.integers(len(paths)))], "low" if rng.random() < 0.5 else "high")
        return self.spec(boundary), boundary

    # ------------------------------------------------------------------------------------- updating
    def update(self, boundary: Boundary | None, performance: float) -> None:
        """Record one episode's performance; widen/narrow the boundary when its buffer is full."""
        self.episodes += 1
        if boundary is None:
            return
        key = self._key(boundary)
        if key not in self.buffers:
            raise ValueError(f"boundary: unknown ADR boundary {boundary!r}")
        buf = self.buffers[key]
        buf.append(float(performance))
        if len(buf) < self.config.buffer_size:
            return
        mean = float(np.mean(buf))
        buf.clear()
        if mean >= self.config.threshold_high:
            self._move(boundary, widen=True)
        elif mean <= self.config.threshold_low:
            self._move(boundary, widen=False)

    def _move(self, boundary: Boundary, widen: bool) -> None:
        path, side = boundary
        p = self.params[path]
        step = p.step if p.step is not None else self.config.step
        lo, hi = self.ranges[path]
        if side == "low":
            lo = max(p.min_low, lo - step) if widen else min(hi, lo + step)
        else:
            hi = min(p.max_high, hi + step) if widen else max(lo, hi - step)
        if widen and not self._valid(path, lo, hi):  # never past the field's physical bounds
            return
        if [lo, hi] != self.ranges[path]:
            self.ranges[path] = [lo, hi]
            self.history.append(self._snapshot(f"{'widen' if widen else 'narrow'} {path} {side}"))

    def _valid(self, path: str, lo: float, hi: float) -> bool:
        """Whether ``path`` may range over ``[lo, hi]`` (the spec's per-field bounds, checked on load)."""
        try:
            replace_at(self.base_spec, path, Uniform(lo, hi) if hi > lo else Constant(lo))
        except ValueError:
            return False
        return True

    # ------------------------------------------------------------------------------------- state
    def state_dict(self) -> dict[str, Any]:
        return {
            "version": 1,
            "spec_hash": self.base_spec.hash(),
            "config": asdict(self.config),
            "params": [asdict(p) for p in self.params.values()],
            "ranges": self.ranges,
            "buffers": self.buffers,
            "episodes": self.episodes,
            "history": self.history,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a ``state_dict``; a malformed state raises ValueError naming the field and changes nothing."""
        if not isinstance(state, dict):
            raise ValueError(f"state: expected a mapping, got {type(state).__name__}")
        missing = sorted({"spec_hash", "ranges", "buffers", "episodes", "history"} - set(state))
        if missing:
            raise ValueError(f"state.{missing[0]}: required")
        if state["spec_hash"] != self.base_spec.hash():
            raise ValueError(f"state.spec_hash: {state['spec_hash']!r} does not match this ADR's base spec")
        ranges, buffers = state["ranges"], state["buffers"]
        if not isinstance(ranges, dict) or set(ranges) != set(self.ranges):
            names = sorted(map(str, ranges)) if isinstance(ranges, dict) else ranges
            raise ValueError(f"state.ranges: parameters {names} != {sorted(self.ranges)}")
        for key, value in ranges.items():
            if not (isinstance(value, list) and len(value) == 2):
                raise ValueError(f"state.ranges[{key!r}]: expected [low, high], got {value!r}")
            for name, x in zip(("low", "high"), value, strict=True):
                _number(f"state.ranges[{key!r}].{name}", x)
            if not (value[0] <= value[1] and self._valid(key, float(value[0]), float(value[1]))):
                raise ValueError(f"state.ranges[{key!r}]: {value} is empty or outside the field's bounds")
        if not isinstance(buffers, dict) or set(buffers) != set(self.buffers):
            raise ValueError(f"state.buffers: expected the keys {sorted(self.buffers)}")
        for key, values in buffers.items():
            if not isinstance(values, list):
                raise ValueError(f"state.buffers[{key!r}]: expected a list of performances, got {values!r}")
            for i, x in enumerate(values):
                _number(f"state.buffers[{key!r}][{i}]", x)
        episodes = state["episodes"]
        if isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 0:
            raise ValueError(f"state.episodes: expected an integer >= 0, got {episodes!r}")
        if not isinstance(state["history"], list):
            raise ValueError(f"state.history: expected a list, got {type(state['history']).__name__}")
        self.ranges = {k: [float(v[0]), float(v[1])] for k, v in ranges.items()}
        self.buffers = {k: [float(x) for x in v] for k, v in buffers.items()}
        self.episodes = episodes
        self.history = list(state["history"])

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the state as JSON atomically."""
        atomic_write_text(Path(path), json.dumps(self.state_dict(), indent=1, allow_nan=True))

    def load(self, path: str | os.PathLike[str]) -> None:
        """Restore a state saved by ``save``; errors are ValueErrors starting with ``PATH[:LINE]:``."""
        state = parse_json(read_text(Path(path)), str(path))
        try:
            self.load_state_dict(state)
        except ValueError as err:
            raise ValueError(f"{path}: {err}") from err


class AdrWrapper(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Drives ADR from episodes of a ``DomainRandomization``-wrapped env: each reset proposes a spec, each
    episode end reports ``info[performance_key]`` (default ``is_success``) as performance.

    ``adr`` may also be its ``to_dict()`` data, which ``env.spec`` records (so the spec round-trips through JSON;
    a re-made env starts from the initial ranges)."""

    def __init__(
        self,
        env: gym.Env,
        adr: AutomaticDomainRandomization | Mapping[str, Any],
        performance_key: str = "is_success",
        seed: int | None = None,
    ) -> None:
        if not isinstance(adr, AutomaticDomainRandomization):
            adr = AutomaticDomainRandomization.from_dict(adr)
        if not isinstance(performance_key, str) or not performance_key:
            raise ValueError(f"performance_key: expected an info key (str), got {performance_key!r}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
            raise ValueError(f"seed: expected an int >= 0 or None, got {seed!r}")
        gym.utils.RecordConstructorArgs.__init__(self, adr=adr.to_dict(), performance_key=performance_key, seed=seed)
        gym.Wrapper.__init__(self, env)
        inner = find_wrapper(env, DomainRandomization)
        if inner is None:
            raise ValueError("env: AdrWrapper needs a DomainRandomization wrapper inside env")
        self._dr = inner
        self.adr = adr
        self.performance_key = performance_key
        self._rng = np.random.default_rng(seed)
        self._boundary: Boundary | None = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict]:
        if seed is not None:
            self._rng = np.random.default_rng([seed, 0xADF])
        spec, self._boundary = self.adr.propose(self._rng)
        self._dr.set_spec(spec)
        obs, info = self.env.reset(seed=seed, options=options)
        info["adr_boundary"] = None if self._boundary is None else list(self._boundary)
        return obs, info

    def step(self, action: Any) -> tuple[Any, Any, bool, bool, dict]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        if terminated or truncated:
            self.adr.update(self._boundary, float(info.get(self.performance_key, 0.0)))
            self._boundary = None
        return obs, reward, terminated, truncated, info
