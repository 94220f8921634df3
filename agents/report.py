"""One-command sim-to-real report: ``report.md`` and a single self-contained ``report.html``.

Every figure and GIF is embedded as a base64 ``data:`` URI; the HTML references nothing outside itself.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from simreal.agents import plots
from simreal.agents.statistics import Interval
from simreal.agents.summary import (
    Ablation,
    Run,
    ablations,
    aggregate_iqm,
    by_env_method,
    collect_runs,
    domain_stats,
    gaps,
    improvements,
    latency_curve,
    main_domains,
    sensitivity,
)
from simreal.atomic import atomic_write_text

STYLE = (
    "body{font-family:sans-serif;max-width:1100px;margin:auto;padding:1em}"
    "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
    "th{background:#f3f3f3}img{max-width:100%}figure{display:inline-block;margin:4px;text-align:center}"
)


@dataclass
class Doc:
    """Markdown and HTML built side by side (also the benchmark's, :mod:`simreal.experiments.benchmark`)."""

    md: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)

    def heading(self, text: str, level: int = 2) -> None:
        self.md.append(f"{'#' * level} {text}\n")
        self.html.append(f"<h{level}>{html.escape(text)}</h{level}>")

    def para(self, text: str) -> None:
        self.md.append(text + "\n")
        self.html.append(f"<p>{html.escape(text)}</p>")

    def table(self, header: list[str], rows: list[list[str]]) -> None:
        self.md.append("| " + " | ".join(header) + " |")
        self.md.append("|" + "---|" * len(header))
        self.md.extend("| " + " | ".join(r) + " |" for r in rows)
        self.md.append("")
        head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows)
        self.html.append(f"<table><tr>{head}</tr>{body}</table>")

    def links(self, items: list[tuple[str, str]]) -> None:
        """A list of ``(text, relative href)`` links."""
        self.md.extend(f"- [{text}]({href})" for text, href in items)
        self.md.append("")
        rows = "".join(f'<li><a href="{html.escape(href)}">{html.escape(text)}</a></li>' for text, href in items)
        self.html.append(f"<ul>{rows}</ul>")

    def page(self, title: str) -> str:
        """The HTML document (self-contained but for links)."""
        return (
            f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{STYLE}</style></head><body>{''.join(self.html)}</body></html>\n"
        )

    def image(self, data: bytes, mime: str, caption: str) -> None:
        self.md.append(f"_Figure: {caption} (embedded in report.html)_\n")
        uri = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
        self.html.append(
            f'<figure><img src="{uri}" alt="{html.escape(caption)}"><figcaption>{html.escape(caption)}'
            "</figcaption></figure>"
        )


def format_ci(iv: Interval) -> str:
    """``point [low, high]`` with two decimals."""
    return f"{iv.point:.2f} [{iv.low:.2f}, {iv.high:.2f}]"


def _env_section(doc: Doc, env_id: str, methods: dict[str, list[Run]], seed: int, reps: int):
    doc.heading(env_id)
    stats = domain_stats(methods, seed, reps, env_id)
    doc.heading("Success per domain (mean over seeds, 95% stratified bootstrap CI)", 3)
    doc.table(
        ["method", "domain", "seeds", "success mean [95% CI]", "success IQM [95% CI]", "mean return"],
        [
            [s.method, s.domain, str(s.n_seeds), format_ci(s.mean), format_ci(s.iqm), f"{s.mean_return:.2f}"]
            for s in stats
        ],
    )
    doc.image(plots.success_bars(stats, env_id), "image/png", f"{env_id}: success per domain")
    gap_list = gaps(methods)
    if gap_list:
        doc.heading("Sim -> real gap (mean and worst reality proxy)", 3)
        doc.table(
            ["method", "sim (canonical)", "real (mean)", "worst reality", "gap (mean)", "real / sim", "worst / sim"],
            [
                [
                    g.method,
                    f"{g.sim:.2f}",
                    f"{g.real:.2f}",
                    f"{g.worst:.2f} ({g.worst_domain})",
                    f"{g.sim - g.real:+.2f}",
                    format_pct(g.retained),
                    format_pct(g.worst_retained),
                ]
                for g in gap_list
            ],
        )
        doc.image(plots.gap_bars(gap_list, env_id), "image/png", f"{env_id}: sim vs real success")
    doc.heading("Aggregate over seeds x domains", 3)
    agg = aggregate_iqm(methods, seed, reps, env_id)
    doc.table(["method", "IQM success [95% CI]"], [[m, format_ci(iv)] for m, iv in agg.items()])
    poi = improvements(methods, seed, reps, env_id)
    if poi:
        doc.table(["P(X > Y)", "X", "Y"], [[format_ci(p.poi), p.x, p.y] for p in poi])
    if any(r.curve.timesteps for runs in methods.values() for r in runs):
        doc.heading("Learning curves", 3)
        doc.para("Periodic deterministic evaluations during training, on each method's training distribution.")
        doc.image(plots.learning_curves(methods, env_id), "image/png", f"{env_id}: learning curves")
    _latency_section(doc, env_id, methods)
    table = sensitivity(methods)
    if table:
        doc.heading("Per-axis sensitivity (success vs randomization strength)", 3)
        doc.table(
            ["axis", "method", "strength: success"],
            [
                [axis, m, ", ".join(f"{s:g}: {v:.2f}" for s, v in pts)]
                for axis, per in table.items()
                for m, pts in per.items()
            ],
        )
        doc.image(plots.sensitivity_plot(table, env_id), "image/png", f"{env_id}: sensitivity")
    write_ablation(doc, ablations(methods))
    _gifs(doc, methods)


def write_ablation(doc: Doc, rows: list[Ablation], level: int = 3) -> None:
    """The ablation table (nothing when ``rows`` is empty): per method and ablated domain, success on the full
    domain and with each factor group removed, what that gives back, and the biggest culprit."""
    if not rows:
        return
    doc.heading("Ablation: which factor group of the reality causes the loss", level)
    doc.para(
        "Each ablated domain evaluated again with one factor group removed (set to the canonical scene), the policy "
        "unchanged; mean success over seeds. A cell is the success without that group and, in brackets, what "
        "removing it recovers (success without it minus success on the full domain). lost: canonical minus full "
        "success. Biggest culprit: the group whose removal recovers most (with its share of the loss). Paired: the "
        "removed group is still drawn, so every episode keeps the full domain's seed and the same values of every "
        "other group; a group the policy cannot sense (visual groups under state observations) recovers exactly 0."
    )
    groups = list(dict.fromkeys(g for row in rows for g in row.without))
    body = []
    for row in rows:
        recovered = row.recovered
        cells = [f"{row.without[g]:.2f} ({recovered[g]:+.2f})" if g in row.without else "-" for g in groups]
        numbers = [_num(x) for x in (row.canonical, row.full, row.lost)]
        body.append([row.method, row.domain, *numbers, *cells, _culprit(row)])
    header = ["method", "domain", "canonical", "full", "lost", *(f"without {g}" for g in groups), "biggest culprit"]
    doc.table(header, body)


def _num(x: float) -> str:
    return "-" if np.isnan(x) else f"{x:.2f}"


def _culprit(row: Ablation) -> str:
    culprit = row.culprit
    if culprit is None:
        return "-"
    group, recovered = culprit
    if recovered <= 0:
        return "none (no removal helps)"
    share = f", {recovered / row.lost:.0%} of the loss" if row.lost > 0 else ""
    return f"{group} ({recovered:+.2f}{share})"


def format_pct(x: float) -> str:
    """A ratio as a whole percentage, ``n/a`` for nan."""
    return "n/a" if np.isnan(x) else f"{x:.0%}"


def _latency_section(doc: Doc, env_id: str, methods: dict[str, list[Run]]) -> None:
    curves = latency_curve(methods)
    if not curves:
        return
    doc.heading("Latency sensitivity (success vs actuation latency)", 3)
    doc.para(
        "The evaluation domain with its actuation latency fixed to each number of control steps; mean over seeds "
        "(worst seed in brackets)."
    )
    steps = sorted({k for points in curves.values() for k, _, _ in points})
    rows = []
    for method, points in curves.items():
        by_step = {k: (m, w) for k, m, w in points}
        rows.append([method, *(f"{by_step[k][0]:.2f} [{by_step[k][1]:.2f}]" if k in by_step else "-" for k in steps)])
    doc.table(["method", *(f"{k:g} steps" for k in steps)], rows)
    doc.image(plots.latency_plot(curves, env_id), "image/png", f"{env_id}: success vs latency")


def _gifs(doc: Doc, methods: dict[str, list[Run]]) -> None:
    shown = False
    for method, runs in methods.items():
        run = runs[0]
        for domain in main_domains([run]):
            gif = run.results.domain(domain).gif
            if gif and (run.path / gif).is_file():
                if not shown:
                    doc.heading("Rollouts (first seed, first episode)", 3)
                    shown = True
                doc.image((run.path / gif).read_bytes(), "image/gif", f"{method} / {domain}")


def make_report(
    runs_root: str | Path,
    out_dir: str | Path,
    seed: int = 0,
    reps: int = 2000,
    methods: Collection[str] | None = None,
) -> Path:
    """Write ``report.md`` and ``report.html`` for every evaluated run under ``runs_root`` (only those of
    ``methods`` when given: experiments that share a runs folder report their own methods); return the HTML."""
    if reps < 1:
        raise ValueError(f"reps must be >= 1, got {reps}")
    runs = [r for r in collect_runs(runs_root) if methods is None or r.results.run.method in methods]
    if not runs:
        raise ValueError(f"no evaluated run of the methods {sorted(methods or ())} under {runs_root}")
    doc = Doc()
    doc.heading("simreal sim-to-real report", 1)
    doc.para(
        f"{len(runs)} evaluated runs from {Path(runs_root)}. Success rates are per-seed fractions of successful "
        "episodes; CIs are 95% percentile intervals of rliable's stratified bootstrap over seeds "
        f"({reps} resamples); P(X > Y) is rliable's probability of improvement."
    )
    for env_id, methods in by_env_method(runs).items():
        _env_section(doc, env_id, methods, seed, reps)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "report.md", "\n".join(doc.md) + "\n")
    return atomic_write_text(out / "report.html", doc.page("simreal report"))
