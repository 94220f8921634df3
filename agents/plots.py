"""Report figures as PNG bytes (matplotlib ``Figure`` objects only: no pyplot state, Agg canvas)."""

from __future__ import annotations

import io

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from simreal.agents.summary import DomainStat, Gap, Run

DPI = 100


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    return buf.getvalue()


def _colors(methods: list[str]) -> dict[str, tuple]:
    cmap = colormaps["tab10"]
    return {m: cmap(i % 10) for i, m in enumerate(methods)}


def success_bars(stats: list[DomainStat], title: str) -> bytes:
    """Grouped bars: mean success per domain per method with 95% bootstrap CIs."""
    methods = list(dict.fromkeys(s.method for s in stats))
    domains = list(dict.fromkeys(s.domain for s in stats))
    colors = _colors(methods)
    fig = Figure(figsize=(1.6 + 1.3 * len(domains) * max(1, len(methods)) / 2, 3.4), layout="constrained")
    ax = fig.subplots()
    width = 0.8 / max(1, len(methods))
    for i, method in enumerate(methods):
        for j, domain in enumerate(domains):
            match = [s for s in stats if s.method == method and s.domain == domain]
            if not match:
                continue
            ci = match[0].mean
            x = j + (i - (len(methods) - 1) / 2) * width
            err = [[ci.point - ci.low], [ci.high - ci.point]]
            ax.bar(
                x,
                ci.point,
                width,
                yerr=err,
                capsize=3,
                color=colors[method],
                label=method if j == 0 else None,
            )
    ax.set_xticks(range(len(domains)), domains)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("success rate")
    ax.set_title(title)
    ax.legend(fontsize=8, loc="lower left")
    return _png(fig)


def learning_curves(methods: dict[str, list[Run]], title: str) -> bytes:
    """Success and return vs env steps: thin line per seed, thick line for the mean over seeds."""
    colors = _colors(list(methods))
    fig = Figure(figsize=(9, 3.2), layout="constrained")
    ax_s, ax_r = fig.subplots(1, 2)
    for method, runs in methods.items():
        curves = [r.curve for r in runs if r.curve.timesteps]
        for curve in curves:
            ax_s.plot(curve.timesteps, curve.success_rate, color=colors[method], alpha=0.3, lw=0.8)
            ax_r.plot(curve.timesteps, curve.mean_return, color=colors[method], alpha=0.3, lw=0.8)
        if curves:
            grid = np.unique(np.concatenate([c.timesteps for c in curves]))
            succ = np.mean([np.interp(grid, c.timesteps, c.success_rate) for c in curves], axis=0)
            ret = np.mean([np.interp(grid, c.timesteps, c.mean_return) for c in curves], axis=0)
            ax_s.plot(grid, succ, color=colors[method], lw=2, label=method)
            ax_r.plot(grid, ret, color=colors[method], lw=2, label=method)
    ax_s.set(xlabel="env steps", ylabel="eval success rate", ylim=(-0.02, 1.02), title=f"{title}: success")
    ax_r.set(xlabel="env steps", ylabel="eval return", title=f"{title}: return")
    ax_s.legend(fontsize=8)
    return _png(fig)


def gap_bars(gap_list: list[Gap], title: str) -> bytes:
    """Sim (canonical) vs real success per method."""
    fig = Figure(figsize=(1.5 + 1.2 * len(gap_list), 3.2), layout="constrained")
    ax = fig.subplots()
    x = np.arange(len(gap_list))
    ax.bar(x - 0.27, [g.sim for g in gap_list], 0.27, label="sim (canonical)", color="tab:blue")
    ax.bar(x, [g.real for g in gap_list], 0.27, label="real (mean of realities)", color="tab:red")
    ax.bar(x + 0.27, [g.worst for g in gap_list], 0.27, label="worst reality", color="tab:brown")
    ax.set_xticks(x, [g.method for g in gap_list])
    ax.set(ylim=(0, 1.05), ylabel="success rate", title=title)
    ax.legend(fontsize=8)
    return _png(fig)


def sensitivity_plot(table: dict[str, dict[str, list[tuple[float, float]]]], title: str) -> bytes:
    """Success vs randomization strength, one panel per randomization group (axis)."""
    axes_names = list(table)
    methods = list(dict.fromkeys(m for per in table.values() for m in per))
    colors = _colors(methods)
    fig = Figure(figsize=(3.2 * len(axes_names), 3.0), layout="constrained")
    axs = np.atleast_1d(fig.subplots(1, len(axes_names)))
    for ax, name in zip(axs, axes_names, strict=True):
        for method, points in table[name].items():
            xs, ys = zip(*points, strict=True)
            ax.plot(xs, ys, marker="o", color=colors[method], label=method)
        ax.set(xlabel="strength", ylabel="success rate", ylim=(-0.02, 1.02), title=f"{title}: {name}")
    axs[0].legend(fontsize=8)
    return _png(fig)


def latency_plot(curves: dict[str, list[tuple[float, float, float]]], title: str) -> bytes:
    """Success vs actuation latency (control steps) per method: mean over seeds (solid) and worst seed (dashed)."""
    colors = _colors(list(curves))
    fig = Figure(figsize=(4.2, 3.0), layout="constrained")
    ax = fig.subplots()
    for method, points in curves.items():
        steps, means, worst = zip(*points, strict=True)
        ax.plot(steps, means, marker="o", color=colors[method], label=method)
        ax.plot(steps, worst, linestyle="--", color=colors[method], alpha=0.6)
    ax.set(xlabel="actuation latency (control steps)", ylabel="success rate", ylim=(-0.02, 1.02), title=title)
    ax.legend(fontsize=8)
    return _png(fig)
