"""Tables, the plot and the output files of the transfer experiment (:mod:`simreal.experiments.transfer`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from simreal.atomic import atomic_write, atomic_write_text
from simreal.experiments.block_frames import write_json

__all__ = ["plot_gap", "summary_markdown", "summary_table", "write_results"]

_LABELS = {
    "no_adaptation": "no adaptation",
    "cyclegan": "real2sim CycleGAN (per domain)",
    "semantic_cyclegan": "CyCADA semantic-consistent CycleGAN (per domain)",
    "rcan": "RCAN randomized->canonical (no real images)",
}


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.0f}%"


def _cell(entry: dict[str, Any]) -> str:
    error = entry["error"]
    text = f"{error['median_cm']:.2f} / {error['p90_cm']:.2f} / {100 * error['tail_5cm']:.0f}%"
    if "guard" in entry:
        text += f" ({_pct(entry['gap_closed']['median_cm'])}, guard {entry['guard']['verdict']})"
    return text


def summary_table(results: dict[str, Any]) -> str:
    """Markdown: one row per method, one column per domain; cells ``median / p90 cm / % > 5 cm (gap closed on the
    median, guard verdict)``; then mean / worst gap closed and the domains made worse."""
    domains = list(results["domains"])
    methods = list(_LABELS)
    canonical = results["canonical"]["error"]
    lines = [
        f"canonical (reference): {canonical['median_cm']:.2f} / {canonical['p90_cm']:.2f} cm / "
        f"{100 * canonical['tail_5cm']:.0f}% > 5 cm",
        "",
        "| method | " + " | ".join(domains) + " | mean / worst gap closed | domains made worse |",
        "|---|" + "---|" * (len(domains) + 2),
    ]
    per_method = results["summary"]["per_method"]
    for method in methods:
        cells = [_cell(results["domains"][d][method]) if method in results["domains"][d] else "-" for d in domains]
        summary = per_method.get(method)
        closed = f"{_pct(summary['mean_gap_closed'])} / {_pct(summary['worst_gap_closed'])}" if summary else "-"
        worse = (", ".join(summary["worse_domains"]) or "none") if summary else "-"
        lines.append(f"| {_LABELS[method]} | " + " | ".join(cells) + f" | {closed} | {worse} |")
    return "\n".join(lines)


def summary_markdown(results: dict[str, Any]) -> str:
    """``summary.md``: settings, the table, the best translator and the guard's record."""
    s = results["settings"]
    best = results["summary"]["best"]
    lines = [
        "# Transfer experiment: canonical-trained block detector + calibrated camera, on every reality proxy",
        "",
        f"Settings: {s}",
        "",
        "gap closed = (err_noadapt - err_method) / (err_noadapt - err_canonical) on the median; the guard checks on "
        "a sample of each domain's frames whether the block keeps its contrast with its surroundings after "
        "translation (ok / warn / fail; fail = refuse and fall back to no adaptation).",
        "",
        summary_table(results),
        "",
        f"Best translator by worst-case gap closed: {best} (target: >= 50% on every domain and no domain worse: "
        f"{'met' if results['summary']['target_met'] else 'NOT met'}).",
    ]
    for method, summary in results["summary"]["per_method"].items():
        if summary["worse_domains"]:
            flagged = "flagged by the guard" if summary["guard_flagged_every_worse_domain"] else "NOT all flagged"
            lines.append(f"- {method} made {', '.join(summary['worse_domains'])} worse: {flagged}.")
    lines.append(f"\nTimings (s): {results['timings_s']}")
    return "\n".join(lines) + "\n"


def plot_gap(results: dict[str, Any], path: Path) -> None:
    """Median error per domain and method (bars), canonical as a dashed line."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    domains = list(results["domains"])
    figure, axis = plt.subplots(figsize=(max(6.0, 1.6 * len(domains)), 3.6))
    width = 0.8 / len(_LABELS)
    for k, method in enumerate(_LABELS):
        values = [
            results["domains"][d][method]["error"]["median_cm"] if method in results["domains"][d] else np.nan
            for d in domains
        ]
        axis.bar(np.arange(len(domains)) + (k - 1.5) * width, values, width=width, label=_LABELS[method])
    axis.axhline(results["canonical"]["error"]["median_cm"], color="grey", linestyle="--", label="canonical")
    axis.set_xticks(np.arange(len(domains)), domains)
    axis.set(ylabel="median block error (cm)", yscale="log", title="Localization after translation, per domain")
    axis.legend(fontsize=7)
    figure.tight_layout()
    atomic_write(path, lambda tmp: figure.savefig(tmp, format="png", dpi=110))
    plt.close(figure)


def write_results(out: Path, results: dict[str, Any]) -> None:
    """``results.json``, ``summary.md`` and ``gap.png`` in ``out``."""
    write_json(out / "results.json", results)
    atomic_write_text(out / "summary.md", summary_markdown(results))
    plot_gap(results, out / "gap.png")
