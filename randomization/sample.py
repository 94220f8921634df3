"""Pure sampling: ``sample(spec, model, rng) -> Params``.

A ``Sampler`` compiles a spec against a model once, factor by factor (``factors.REGISTRY``: glob patterns ->
element ids, checked: a pattern that matches nothing raises naming the spec path) and then draws ``Params``
cheaply. It never writes the model.

The factors of a spec's ``without`` parts (an ablation) are compiled and drawn like the others, so every random
number of the draw, and so every value of the kept factors, is the one the spec without ``without`` gives under
the same generator (common random numbers: the ablation is paired); their outputs go to a second ``Params``
(:meth:`Sampler.draw`) instead of the applied one, which leaves the scene at its nominal values there.
"""

from __future__ import annotations

from typing import Any

import mujoco
import numpy as np

from simreal.randomization.draws import Draws, Recorder, UniformPlan
from simreal.randomization.factors import REGISTRY, in_group
from simreal.randomization.factors.base import Compiler, Out, Step
from simreal.randomization.factors.control import CONTROL, PerStepControl
from simreal.randomization.params import Params
from simreal.randomization.spec import RandomizationSpec


class Sampler:
    """A spec compiled against a model; ``sampler(rng)`` draws ``Params``; ``sampler.per_step(rng)`` draws the
    settings that change every control step (action repeat, control-period jitter). ``muted``: the paths of the
    factors in the spec's ``without`` (drawn, not applied)."""

    def __init__(self, spec: RandomizationSpec, model: mujoco.MjModel) -> None:
        self.spec = spec
        self.spec_hash = spec.hash()
        self.muted = frozenset(f.path for f in REGISTRY if any(in_group(f.path, part) for part in spec.without))
        compiler = Compiler(model)
        steps: list[tuple[Step, bool]] = []
        for factor in REGISTRY:
            for path, entry in factor.entries(spec):
                steps += ((step, factor.path in self.muted) for step in factor.compile(entry, path, compiler))
        self._steps = tuple(steps)
        self.fields: set[str] = compiler.fields
        self.texture_ids: set[int] = compiler.texture_ids
        self.per_step = PerStepControl.of(spec.control, muted=CONTROL.path in self.muted)
        recorder = Recorder(np.random.default_rng(0))  # the draw sequence is fixed by the spec: record it once
        self._plan: UniformPlan | None = None
        self._draw(recorder)
        self._plan = UniformPlan.from_calls(recorder.calls)

    def __call__(self, rng: np.random.Generator) -> Params:
        return self._draw(Draws(rng, self._plan))[0]

    def draw(self, rng: np.random.Generator) -> tuple[Params, Params]:
        """The params to apply and those of the muted factors (drawn from the same generator, not applied; empty
        without ``without``). Both have the spec's hash and the same ``seed``."""
        return self._draw(Draws(rng, self._plan))

    def _draw(self, draws: Draws) -> tuple[Params, Params]:
        out, muted = Out(), Out()
        record: dict[str, list[Any]] = draws.record
        muted_record: dict[str, list[Any]] = {}
        for step, off in self._steps:
            if off:  # drawn in its place in the sequence, recorded and collected apart
                draws.record = muted_record
                step(draws, muted)
                draws.record = record
            else:
                step(draws, out)
        seed = int(draws.rng.integers(2**31))
        return self._params(out, record, seed), self._params(muted, muted_record, seed)

    def _params(self, out: Out, record: dict[str, list[Any]], seed: int) -> Params:
        return Params(
            spec_hash=self.spec_hash,
            fields=tuple(out.fields),
            textures=tuple(out.textures),
            sensor=tuple(out.sensor),
            control=tuple(out.control),
            seed=seed,
            draws=tuple((k, tuple(v)) for k, v in record.items()),
        )


def sample(spec: RandomizationSpec, model: mujoco.MjModel, rng: np.random.Generator) -> Params:
    """Draw one ``Params`` of ``spec`` for ``model`` (compile once with ``Sampler`` when sampling often)."""
    return Sampler(spec, model)(rng)
