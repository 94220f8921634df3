"""Summaries of localization results over reality proxies: mean and worst, the gross-failure targets, a table and
the error plot.

A *reality proxy* is every evaluated domain except the simulator's own ``canonical`` and ``train``: ``test``,
the reality family's members and any user spec file. A localizer is only as good as its worst lab, so the
targets hold on every proxy: median <= 1 cm, p90 <= 3 cm and fewer than 5% of frames more than 5 cm off
(``tail_5cm``, over all frames: a "not found" answer does not hide a gross error there).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from simreal.atomic import atomic_write

__all__ = [
    "METRICS",
    "TARGETS",
    "TARGET_CM",
    "format_table",
    "is_reality_proxy",
    "over_proxies",
    "plot_errors",
    "targets_met",
]

METRICS = ("median_cm", "p90_cm", "tail_5cm")
TARGETS = {"median_cm": 1.0, "p90_cm": 3.0, "tail_5cm": 0.05}  # tail_5cm must stay strictly below its target
TARGET_CM = 1.5  # Tobin et al.'s median error on real images
SIM_DOMAINS = ("canonical", "train")


def is_reality_proxy(domain: str) -> bool:
    """Every domain but the simulator's own ``canonical`` and ``train``."""
    return domain not in SIM_DOMAINS


def over_proxies(evaluation: Mapping[str, Mapping[str, float]]) -> dict[str, Any]:
    """``{"domains": [...], "mean": {metric: value}, "worst": {metric: value}, "worst_domain": {metric: name}}``
    over the reality proxies in ``evaluation`` (domain -> metrics); empty dicts when there is none."""
    proxies = [d for d in evaluation if is_reality_proxy(d)]
    out: dict[str, Any] = {"domains": proxies, "mean": {}, "worst": {}, "worst_domain": {}}
    for metric in METRICS:
        values = {d: float(evaluation[d][metric]) for d in proxies if metric in evaluation[d]}
        if values:
            worst = max(values, key=lambda d: values[d])
            out["mean"][metric] = sum(values.values()) / len(values)
            out["worst"][metric], out["worst_domain"][metric] = values[worst], worst
    return out


def targets_met(evaluation: Mapping[str, Mapping[str, float]]) -> dict[str, bool]:
    """Per reality proxy, whether all of :data:`TARGETS` hold."""
    return {
        domain: bool(
            metrics["median_cm"] <= TARGETS["median_cm"]
            and metrics["p90_cm"] <= TARGETS["p90_cm"]
            and metrics["tail_5cm"] < TARGETS["tail_5cm"]
        )
        for domain, metrics in evaluation.items()
        if is_reality_proxy(domain)
    }


def _cell(metrics: Mapping[str, float]) -> str:
    text = f"{metrics['median_cm']:.2f} / {metrics['p90_cm']:.2f} / {100 * metrics['tail_5cm']:.1f}%"
    if "not_found" in metrics:
        text += f" ({100 * metrics['not_found']:.1f}% nf)"
    return text


def format_table(rows: Mapping[str, Mapping[str, Mapping[str, float]]]) -> str:
    """Markdown table: one row per model (label -> domain -> metrics), one column per domain plus the worst
    reality proxy; cells are ``median / p90 cm / % frames > 5 cm`` and, for a detector, ``(% not found)``."""
    domains: list[str] = []
    for evaluation in rows.values():
        domains += [d for d in evaluation if d not in domains]
    lines = [
        "| model | " + " | ".join(domains) + " | worst reality proxy |",
        "|---|" + "---|" * (len(domains) + 1),
    ]
    for label, evaluation in rows.items():
        cells = [_cell(evaluation[d]) if d in evaluation else "-" for d in domains]
        worst = over_proxies(evaluation)["worst"]
        worst_cell = (
            f"{worst['median_cm']:.2f} / {worst['p90_cm']:.2f} / {100 * worst['tail_5cm']:.1f}%" if worst else "-"
        )
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {worst_cell} |")
    return "\n".join(lines)


def plot_errors(errors: Mapping[str, Mapping[str, Mapping[str, np.ndarray]]], train_domains: Mapping[str, str],
                path: Path) -> None:  # fmt: skip
    """Error CDFs (pipeline -> model name -> domain -> per-frame errors in cm): one panel per pipeline and domain,
    one curve per model labelled with ``train_domains[name]``."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    pipelines = list(errors)
    domains = list(next(iter(next(iter(errors.values())).values())))
    rows, columns = len(pipelines), len(domains)
    figure, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 3.0 * rows), sharey=True, squeeze=False)
    for row, pipeline in zip(axes, pipelines, strict=True):
        for axis, domain in zip(row, domains, strict=True):
            for name, per_domain in errors[pipeline].items():
                values = np.sort(per_domain[domain])
                axis.plot(values, np.linspace(0, 1, len(values)), label=f"trained on {train_domains[name]}")
            axis.axvline(TARGETS["p90_cm"], color="grey", linestyle="--", linewidth=1)
            axis.axhline(0.9, color="grey", linestyle=":", linewidth=1)
            axis.set(title=f"{pipeline} | {domain}", xlabel="error (cm)", xscale="log")
            axis.grid(alpha=0.3)
        row[0].set_ylabel("fraction of frames")
    axes[0][0].legend(loc="lower right", fontsize=7)
    figure.suptitle("Push block localization from one 'front' image: error CDF per domain (dashed: 3 cm)")
    figure.tight_layout()
    atomic_write(path, lambda tmp: figure.savefig(tmp, format="png", dpi=100))
    plt.close(figure)
