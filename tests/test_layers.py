"""The package's layers import only to their left: envs -> randomization -> data -> perception -> transfer -> agents
-> experiments, with ``cli.py`` on top; ``atomic.py`` and ``parallel/`` are infrastructure usable by every layer.

Every module's imports are read with :mod:`ast` (lazy imports inside functions included), so a module that
imports a higher layer fails here even when the import only runs on some code path.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]  # the repo root is the ``simreal`` package
LAYERS = ("envs", "randomization", "data", "perception", "transfer", "agents", "experiments", "cli")
INFRASTRUCTURE = ("atomic", "parallel")
# The gym registration builds randomized envs, so it (and the package root that runs it) sits with randomization.
# Importing the package root is allowed from every layer: a worker process needs the ids before its first gym.make.
ROOT_PACKAGE = "__init__"
PLACED = {ROOT_PACKAGE: "randomization", "registration": "randomization"}
NOT_PACKAGE = ("tests", "benchmarks", "docs", ".venv", "build", "runs")


def unit_of(module: str) -> str:
    """``simreal.perception.detector`` -> ``perception``; ``simreal`` -> ``__init__``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def imported_units(source: str) -> set[str]:
    """The top-level units of ``simreal`` that ``source`` imports (``from simreal import x`` counts as ``x``)."""
    units = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            units |= {unit_of(a.name) for a in node.names if a.name.split(".")[0] == "simreal"}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "simreal":
                units |= {a.name for a in node.names}
            elif node.module.startswith("simreal."):
                units.add(unit_of(node.module))
    return units


def layer_violations(
    sources: Mapping[str, str],
    layers: Sequence[str] = LAYERS,
    infrastructure: Sequence[str] = INFRASTRUCTURE,
    placed: Mapping[str, str] = PLACED,
) -> list[str]:
    """``"<module> imports <unit>"`` for each import of a higher layer (or, from infrastructure, of any layer).

    ``sources``: dotted module name (``simreal.data.labels``) -> its source text. A unit is a layer's position in
    ``layers``, or the position ``placed`` gives it; imports of units that are neither (third-party-like helpers
    at the root) are not judged.
    """
    rank = {name: i for i, name in enumerate(layers)} | {k: layers.index(v) for k, v in placed.items()}
    problems = []
    for module, source in sorted(sources.items()):
        unit = unit_of(module)
        for target in sorted(imported_units(source) - {unit, ROOT_PACKAGE}):
            if target in infrastructure or target not in rank:
                continue
            if unit in infrastructure:
                problems.append(f"{module} imports {target} (infrastructure imports no layer)")
            elif unit not in rank:
                problems.append(f"{module}: its unit {unit!r} has no layer")
            elif rank[target] > rank[unit]:
                problems.append(f"{module} imports {target} (a higher layer)")
    return problems


def package_sources() -> dict[str, str]:
    """Every module of the package: dotted name -> source."""
    sources = {}
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT)
        if relative.parts[0] in NOT_PACKAGE or relative.parts[0].startswith("."):
            continue
        sources[".".join(("simreal", *relative.with_suffix("").parts)).removesuffix(".__init__")] = path.read_text()
    return sources


def test_every_module_imports_only_lower_layers() -> None:
    sources = package_sources()
    assert {unit_of(m) for m in sources} >= {*LAYERS, *INFRASTRUCTURE}  # the walk found every layer
    assert layer_violations(sources) == []


def test_every_top_level_unit_has_a_place() -> None:
    units = {unit_of(m) for m in package_sources()}
    known = {*LAYERS, *INFRASTRUCTURE, *PLACED}
    assert units <= known, units - known


def test_the_checker_catches_an_upward_import() -> None:
    sources = {
        "simreal.envs.base": "import numpy\nimport simreal\nfrom simreal.envs import config\n",
        "simreal.data.labels": "def f():\n    from simreal.agents.train import train\n",  # lazy import
        "simreal.perception.detector": "from simreal import transfer\nimport simreal.data.labels\n",
        "simreal.parallel.local": "from simreal.atomic import atomic_write\nimport simreal.envs\n",
        "simreal.experiments.cli": "from simreal.agents import train\nfrom simreal.cli import main\n",
    }
    assert layer_violations(sources) == [
        "simreal.data.labels imports agents (a higher layer)",
        "simreal.experiments.cli imports cli (a higher layer)",
        "simreal.parallel.local imports envs (infrastructure imports no layer)",
        "simreal.perception.detector imports transfer (a higher layer)",
    ]


@pytest.mark.parametrize(
    "wrong",
    [
        ("envs", "randomization", "data", "transfer", "perception", "agents", "experiments", "cli"),  # swapped
        ("envs", "randomization", "data", "perception", "transfer", "experiments", "agents", "cli"),  # swapped top
    ],
)
def test_the_checker_fails_the_real_code_under_a_wrong_layer_order(wrong: tuple[str, ...]) -> None:
    assert layer_violations(package_sources(), layers=wrong)
