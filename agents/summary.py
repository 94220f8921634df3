"""Collect evaluated runs under a root directory and compute the report's statistics."""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from simreal.agents.results import (
    RESULTS_FILE,
    DomainResult,
    LearningCurve,
    Results,
    RunDirError,
    load_curve,
    load_results,
)
from simreal.agents.statistics import (
    Interval,
    iqm,
    keyed_rng,
    mean,
    probability_of_improvement_ci,
    stratified_bootstrap_ci,
)
from simreal.randomization.ablation import ablated_domain
from simreal.randomization.realities import is_reality

LATENCY_AXIS = "latency"  # sensitivity axis of evaluate's latency sweep (strength = steps of latency)


@dataclass(frozen=True)
class Run:
    """One evaluated run: its directory, results and the learning curve of the policy it evaluated."""

    path: Path
    results: Results
    curve: LearningCurve


@dataclass(frozen=True)
class DomainStat:
    """Success on one domain over seeds: mean and IQM with stratified bootstrap CIs."""

    method: str
    domain: str
    n_seeds: int
    mean: Interval
    iqm: Interval
    mean_return: float


@dataclass(frozen=True)
class Gap:
    """Sim -> real gap of one method: success on ``canonical`` vs the reality proxies (means over seeds):
    ``real`` is the mean over the realities, ``worst`` the worst reality (``worst_domain``)."""

    method: str
    sim: float
    real: float
    worst: float = float("nan")
    worst_domain: str = ""

    @property
    def retained(self) -> float:
        """Fraction of sim success kept on real (mean over realities; nan when sim success is 0)."""
        return self.real / self.sim if self.sim > 0 else float("nan")

    @property
    def worst_retained(self) -> float:
        """Fraction of sim success kept on the worst reality (nan when sim success is 0)."""
        return self.worst / self.sim if self.sim > 0 else float("nan")


@dataclass(frozen=True)
class Ablation:
    """One method on one ablated domain, means over seeds: success on the canonical scene, on the full domain and
    with each factor group removed (``without``: group -> success). ``domain`` is ``"mean"`` for the mean over
    the ablated domains."""

    method: str
    domain: str
    canonical: float
    full: float
    without: dict[str, float]

    @property
    def lost(self) -> float:
        """What the full domain costs: success on the canonical scene minus success on the full domain."""
        return self.canonical - self.full

    @property
    def recovered(self) -> dict[str, float]:
        """Group -> what removing it gives back: success without the group minus success on the full domain."""
        return {g: v - self.full for g, v in self.without.items()}

    @property
    def culprit(self) -> tuple[str, float] | None:
        """The group whose removal recovers most, and how much (None when no group was removed)."""
        return max(self.recovered.items(), key=lambda kv: kv[1]) if self.without else None


@dataclass(frozen=True)
class Improvement:
    """Probability that method ``x`` beats method ``y`` (over seeds x domains)."""

    x: str
    y: str
    poi: Interval


def collect_runs(runs_root: str | Path) -> list[Run]:
    """Every ``results.json`` under ``runs_root`` (sorted by path); errors name the offending path."""
    root = Path(runs_root)
    if not root.is_dir():
        raise RunDirError(f"runs root {root} does not exist")
    runs = []
    for file in sorted(root.rglob(RESULTS_FILE)):
        results = load_results(file)
        train_dir = (file.parent / results.run.train_dir).resolve()
        runs.append(Run(file.parent, results, load_curve(train_dir)))
    if not runs:
        raise RunDirError(f"no {RESULTS_FILE} under {root} (run `simreal evaluate` first)")
    return runs


def by_env_method(runs: list[Run]) -> dict[str, dict[str, list[Run]]]:
    """Runs grouped by env id, then method label (both sorted)."""
    groups: dict[str, dict[str, list[Run]]] = defaultdict(lambda: defaultdict(list))
    for run in runs:
        groups[run.results.run.env_id][run.results.run.method].append(run)
    return {env: dict(sorted(methods.items())) for env, methods in sorted(groups.items())}


def main_domains(runs: list[Run]) -> list[str]:
    """Domains evaluated without a sensitivity axis or an ablation, in first-seen order."""
    seen: dict[str, None] = {}
    for run in runs:
        for d in run.results.domains:
            if d.axis is None and d.without is None:
                seen.setdefault(d.domain, None)
    return list(seen)


def success_matrix(runs: list[Run], domains: list[str]) -> np.ndarray:
    """Per-seed success rates, shape (runs, domains); runs missing a domain are dropped."""
    rows = []
    for run in runs:
        names = {d.domain: d for d in run.results.domains}
        if all(d in names for d in domains):
            rows.append([names[d].success_rate for d in domains])
    return np.asarray(rows, dtype=np.float64).reshape(len(rows), len(domains))


def domain_stats(methods: dict[str, list[Run]], seed: int, reps: int, scope: str = "") -> list[DomainStat]:
    """Success per method per domain with 95% CIs over seeds; each interval's bootstrap has its own generator
    (:func:`~simreal.agents.statistics.keyed_rng` of ``seed``, ``scope``, the method and the domain)."""
    stats = []
    for method, runs in methods.items():
        for domain in main_domains(runs):
            scores = success_matrix(runs, [domain])
            returns = [r.results.domain(domain).mean_return for r in runs if _has(r, domain)]
            stats.append(
                DomainStat(
                    method=method,
                    domain=domain,
                    n_seeds=len(scores),
                    mean=stratified_bootstrap_ci(scores, mean, keyed_rng(seed, "mean", scope, method, domain), reps),
                    iqm=stratified_bootstrap_ci(scores, iqm, keyed_rng(seed, "iqm", scope, method, domain), reps),
                    mean_return=float(np.mean(returns)),
                )
            )
    return stats


def _has(run: Run, domain: str) -> bool:
    return any(d.domain == domain for d in run.results.domains)


def aggregate_iqm(methods: dict[str, list[Run]], seed: int, reps: int, scope: str = "") -> dict[str, Interval]:
    """IQM of success over seeds x domains per method, with stratified bootstrap CIs (keyed as in
    :func:`domain_stats`)."""
    out = {}
    for method, runs in methods.items():
        scores = success_matrix(runs, main_domains(runs))
        if scores.size:
            out[method] = stratified_bootstrap_ci(scores, iqm, keyed_rng(seed, "aggregate iqm", scope, method), reps)
    return out


def reality_domains(runs: list[Run]) -> list[str]:
    """The evaluated reality proxies (``real``, ``real:k``, ``real:<file>``) in first-seen order."""
    return [d for d in main_domains(runs) if is_reality(d)]


def gaps(methods: dict[str, list[Run]]) -> list[Gap]:
    """Sim (canonical) vs reality success per method (mean and worst reality), when both were evaluated."""
    out = []
    for method, runs in methods.items():
        realities = reality_domains(runs)
        scores = success_matrix(runs, ["canonical", *realities])
        if realities and len(scores):
            per_reality = scores[:, 1:].mean(axis=0)
            worst = int(np.argmin(per_reality))
            out.append(
                Gap(
                    method,
                    sim=float(scores[:, 0].mean()),
                    real=float(per_reality.mean()),
                    worst=float(per_reality[worst]),
                    worst_domain=realities[worst],
                )
            )
    return out


def improvements(methods: dict[str, list[Run]], seed: int, reps: int, scope: str = "") -> list[Improvement]:
    """Probability of improvement for every ordered pair of methods on their shared domains (keyed as in
    :func:`domain_stats`)."""
    out = []
    for x, y in itertools.permutations(methods, 2):
        shared = [d for d in main_domains(methods[x]) if d in main_domains(methods[y])]
        sx, sy = success_matrix(methods[x], shared), success_matrix(methods[y], shared)
        if shared and len(sx) and len(sy):
            rng = keyed_rng(seed, "improvement", scope, x, y)
            out.append(Improvement(x, y, probability_of_improvement_ci(sx, sy, rng, reps)))
    return out


def sensitivity(methods: dict[str, list[Run]]) -> dict[str, dict[str, list[tuple[float, float]]]]:
    """axis -> method -> sorted (strength, mean success over seeds) from sensitivity evaluations."""
    table: dict[str, dict[str, dict[float, list[float]]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    for method, runs in methods.items():
        for run in runs:
            for d in run.results.domains:
                if d.axis is not None and d.axis != LATENCY_AXIS and d.strength is not None:
                    table[d.axis][method][d.strength].append(d.success_rate)
    return {
        axis: {m: sorted((s, float(np.mean(v))) for s, v in points.items()) for m, points in per.items()}
        for axis, per in sorted(table.items())
    }


def latency_curve(methods: dict[str, list[Run]]) -> dict[str, list[tuple[float, float, float]]]:
    """method -> sorted (latency steps, mean success over seeds, worst seed) from evaluate's latency sweep."""
    out: dict[str, list[tuple[float, float, float]]] = {}
    for method, runs in methods.items():
        points: dict[float, list[float]] = defaultdict(list)
        for run in runs:
            for d in run.results.domains:
                if d.axis == LATENCY_AXIS and d.strength is not None:
                    points[d.strength].append(d.success_rate)
        if points:
            out[method] = sorted((k, float(np.mean(v)), float(np.min(v))) for k, v in points.items())
    return out


def ablations(methods: dict[str, list[Run]]) -> list[Ablation]:
    """Per method, one :class:`Ablation` per ablated domain (first-seen order) and, when several, their mean
    (``domain="mean"``: the mean full success, and each group's recovery averaged over the domains it was removed
    from)."""
    out = []
    for method, runs in methods.items():
        cells: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))  # domain -> group -> rates
        fulls: dict[str, list[float]] = defaultdict(list)  # domain -> per run, its success on the ablated episodes
        for run in runs:
            evaluated = {d.domain: d for d in run.results.domains if d.without is None and d.axis is None}
            paired: dict[str, float] = {}
            for d in run.results.domains:
                if d.without is not None:
                    base = ablated_domain(d.domain, d.without)
                    if base in evaluated:
                        cells[base][d.without].append(d.success_rate)
                        paired.setdefault(base, _success_on(evaluated[base], d.episode_seeds))
            for base, rate in paired.items():
                fulls[base].append(rate)
        if not cells:
            continue
        canonical = _mean_success(runs, "canonical")
        rows = [
            Ablation(
                method, base, canonical, float(np.mean(fulls[base])), {g: float(np.mean(v)) for g, v in per.items()}
            )
            for base, per in cells.items()
        ]
        if len(rows) > 1:
            full = float(np.mean([r.full for r in rows]))
            groups = dict.fromkeys(g for row in rows for g in row.without)  # mean recovery over the rows with g
            without = {g: full + float(np.mean([r.recovered[g] for r in rows if g in r.without])) for g in groups}
            rows.append(Ablation(method, "mean", canonical, full, without))
        out += rows
    return out


def _success_on(result: DomainResult, episode_seeds: tuple[int, ...]) -> float:
    """``result``'s success rate over its episodes with these seeds (an ablation cell evaluated on the first
    ``ablation_episodes`` of them), or over all of them when it shares none (another evaluation seed)."""
    wanted = set(episode_seeds)
    hits = [ok for ok, seed in zip(result.successes, result.episode_seeds, strict=True) if seed in wanted]
    return float(np.mean(hits)) if hits else result.success_rate


def _mean_success(runs: list[Run], domain: str) -> float:
    """Mean success over the runs that evaluated ``domain`` (nan when none did)."""
    rates = [d.success_rate for r in runs for d in r.results.domains if d.domain == domain and d.without is None]
    return float(np.mean(rates)) if rates else float("nan")
