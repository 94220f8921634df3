"""Pure sampling: ``sample(spec, model, rng) -> Params``.

A ``Sampler`` compiles a spec against a model once, factor by factor (``factors.REGISTRY``: glob patterns ->
element ids, checked: a pattern that matches nothing raises naming the spec path) and then draws ``Params``
cheaply. It never writes the model.
"""

from __future__ import annotations

import mujoco
import numpy as np

from simreal.randomization.draws import Draws, Recorder, UniformPlan
from simreal.randomization.factors import REGISTRY
from simreal.randomization.factors.base import Compiler, Out, Step
from simreal.randomization.factors.control import PerStepControl
from simreal.randomization.params import Params
from simreal.randomization.spec import RandomizationSpec


class Sampler:
    """A spec compiled against a model; ``sampler(rng)`` draws ``Params``; ``sampler.per_step(rng)`` draws the
    settings that change every control step (action repeat, control-period jitter)."""

    def __init__(self, spec: RandomizationSpec, model: mujoco.MjModel) -> None:
        self.spec = spec
        self.spec_hash = spec.hash()
        compiler = Compiler(model)
        steps: list[Step] = []
        for factor in REGISTRY:
            for path, entry in factor.entries(spec):
                steps += factor.compile(entry, path, compiler)
        self._steps = tuple(steps)
        self.fields: set[str] = compiler.fields
        self.texture_ids: set[int] = compiler.texture_ids
        self.per_step = PerStepControl.of(spec.control)
        recorder = Recorder(np.random.default_rng(0))  # the draw sequence is fixed by the spec: record it once
        self._plan: UniformPlan | None = None
        self._draw(recorder)
        self._plan = UniformPlan.from_calls(recorder.calls)

    def __call__(self, rng: np.random.Generator) -> Params:
        return self._draw(Draws(rng, self._plan))

    def _draw(self, draws: Draws) -> Params:
        out = Out()
        for step in self._steps:
            step(draws, out)
        return Params(
            spec_hash=self.spec_hash,
            fields=tuple(out.fields),
            textures=tuple(out.textures),
            sensor=tuple(out.sensor),
            control=tuple(out.control),
            seed=int(draws.rng.integers(2**31)),
            draws=tuple((k, tuple(v)) for k, v in draws.record.items()),
        )


def sample(spec: RandomizationSpec, model: mujoco.MjModel, rng: np.random.Generator) -> Params:
    """Draw one ``Params`` of ``spec`` for ``model`` (compile once with ``Sampler`` when sampling often)."""
    return Sampler(spec, model)(rng)
