"""The catalog's building blocks: escaping, tables, the page frame, and charts drawn as inline SVG.

Shared by the catalog's pages (catalog.py, catalog_history.py, catalog_releases.py). No script and no
network: a chart's numbers are in its ``<title>`` tooltips and in a data table beside it. The output depends
on the inputs alone (no clock, no randomness), so the same store gives the same pages byte for byte.
"""

from __future__ import annotations

import html
import math

from medallion.core.config import DATASET_ROOT

CSS = """
body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:8px 0;font-size:13px}
td,th{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f4f4f4}code,.mono{font-family:ui-monospace,monospace;font-size:12px}
.bar{background:#4a7bd0;height:10px;display:inline-block}.drop{background:#d05a4a}
.failed{color:#b00;font-weight:bold}.warn{color:#a60}.passed{color:#070}
.side{display:grid;grid-template-columns:repeat(auto-fit,minmax(280px,1fr));gap:8px}
.side div{border:1px solid #ddd;padding:6px;font-size:12px;white-space:pre-wrap}
nav a{margin-right:12px}
.chart{overflow-x:auto}.chart svg{font-family:system-ui,sans-serif}details{font-size:13px}
"""

# Colour-blind-safe (Okabe-Ito, its yellow swapped for olive to show on white, then Tol's muted): a series
# keeps its colour from chart to chart while the series are the same.
PALETTE = (
    "#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#999933", "#000000",
    "#332288", "#88ccee", "#44aa99", "#117733", "#ddcc77", "#cc6677", "#882255", "#aa4499",
)  # fmt: skip
LEFT, TOP, BOTTOM, LEGEND, PLOT_H = 64, 16, 86, 200, 220


def esc(value) -> str:
    return html.escape(str(value))


def slug(key: str) -> str:
    """The page name of the dataset at ``key``."""
    return key.removeprefix(f"{DATASET_ROOT}/").replace("/", "__") + ".html"


def html_page(title: str, body: str, root: str = "") -> str:
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<title>{esc(title)}</title><link rel="icon" href="data:,"><style>{CSS}</style></head><body>'
        f'<nav><a href="{root}index.html">Catalog</a></nav><h1>{esc(title)}</h1>{body}</body></html>\n'
    )


def html_table(header: list[str], rows: list[list], raw: bool = False) -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{c if raw else esc(c)}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def count(value) -> str:
    """A number as the catalog shows it (1,234; 0.913), anything else as it is."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "" if value is None else str(value)
    return f"{value:,}" if isinstance(value, int) else f"{value:.4g}"


def percent(share: float) -> str:
    return f"{100 * share:.1f}%"


# -- charts ------------------------------------------------------------------------------------------------


def _nice_top(value: float, shares: bool) -> float:
    """The y axis' top: 1, 2, 2.5 or 5 times a power of ten at or above ``value`` (shares: at most 100%)."""
    value = max(value, 0.01 if shares else 5)
    power = 10 ** math.floor(math.log10(value))
    top = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= value * (1 - 1e-9))
    return min(top, 1.0) if shares else top


def _frame(
    label: str, x: list[str], series: list[str], top: float, shares: bool, titles: tuple[str, str]
) -> tuple:
    """The SVG's opening, its axes, ticks, x labels and legend; returns (parts, x centre of each slot, slot
    width, y of a value)."""
    plot_w = min(760, max(240, 48 * len(x)))
    plot_h = max(PLOT_H, 18 * len(series) + 8)
    width, height = LEFT + plot_w + LEGEND, TOP + plot_h + BOTTOM
    slot = plot_w / max(len(x), 1)
    centre = [LEFT + slot * (i + 0.5) for i in range(len(x))]

    def y(value: float) -> float:
        return round(TOP + plot_h - plot_h * value / top, 2)

    parts = [
        f'<div class="chart"><svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{esc(label)}">',
        f"<title>{esc(label)}</title>",
    ]
    for k in range(6):
        value = top * k / 5
        text = percent(value).replace(".0%", "%") if shares else f"{value:,.0f}"
        parts.append(
            f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(value)}" y2="{y(value)}" stroke="#e4e4e4"/>'
            f'<text x="{LEFT - 6}" y="{y(value) + 4}" font-size="11" text-anchor="end">{text}</text>'
        )
    parts.append(
        f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + plot_h}" stroke="#555"/>'
        f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{TOP + plot_h}" y2="{TOP + plot_h}" stroke="#555"/>'
        f'<text x="14" y="{TOP + plot_h / 2}" font-size="12" text-anchor="middle" '
        f'transform="rotate(-90 14 {TOP + plot_h / 2})">{esc(titles[1])}</text>'
        f'<text x="{LEFT + plot_w / 2}" y="{height - 6}" font-size="12" text-anchor="middle">'
        f"{esc(titles[0])}</text>"
    )
    every = math.ceil(len(x) / 40)  # past 40 slots, label every other (third, ...) one and the last
    for i, name in enumerate(x):
        if i % every and i != len(x) - 1:
            continue
        ty = TOP + plot_h + 14
        parts.append(
            f'<text x="{centre[i]:.2f}" y="{ty}" font-size="11" text-anchor="end" '
            f'transform="rotate(-45 {centre[i]:.2f} {ty})">{esc(name)}</text>'
        )
    for i, name in enumerate(series):
        ly = TOP + 4 + 18 * i
        parts.append(
            f'<g class="legend"><rect x="{LEFT + plot_w + 16}" y="{ly}" width="12" height="12" '
            f'fill="{PALETTE[i % len(PALETTE)]}"/><text x="{LEFT + plot_w + 34}" y="{ly + 10}" '
            f'font-size="12">{esc(name)}</text></g>'
        )
    return parts, centre, slot, y


def line_chart(
    label: str,
    x: list[str],
    series: dict[str, list],
    unit: str,
    shares: bool = False,
    titles: tuple[str, str] = ("batch date", ""),
) -> str:
    """One line per series over the ``x`` slots (None: no value there), a titled point per value.

    ``unit``: what a value counts (rows); ``shares``: values are fractions, shown as percentages;
    ``titles``: the x and y axes' titles (y: ``unit`` when blank)."""
    values = [v for points in series.values() for v in points if v is not None]
    top = _nice_top(max(values, default=0), shares)
    parts, centre, _slot, y = _frame(label, x, list(series), top, shares, (titles[0], titles[1] or unit))
    for i, (name, points) in enumerate(series.items()):
        colour = PALETTE[i % len(PALETTE)]
        runs: list[list[str]] = [[]]
        for j, value in enumerate(points):
            if value is None:
                runs.append([])
            else:
                runs[-1].append(f"{centre[j]:.2f},{y(value)}")
        lines = "".join(
            f'<polyline points="{" ".join(run)}" fill="none" stroke="{colour}" stroke-width="2"/>'
            for run in runs
            if len(run) > 1
        )
        dots = "".join(
            f'<circle class="point" cx="{centre[j]:.2f}" cy="{y(value)}" r="4" fill="{colour}">'
            f"<title>{esc(x[j])} · {esc(name)}: {percent(value) if shares else count(value)}"
            f"{'' if shares else ' ' + esc(unit)}</title></circle>"
            for j, value in enumerate(points)
            if value is not None
        )
        parts.append(f'<g class="series" data-series="{esc(name)}">{lines}{dots}</g>')
    parts.append("</svg></div>")
    return "\n".join(parts)


def stacked_bars(
    label: str,
    x: list[str],
    stacks: list[dict[str, int]],
    parts_order: list[str],
    x_title: str = "batch date",
) -> str:
    """One bar per ``x`` slot, stacked by ``parts_order`` (their counts in ``stacks``), each part's height its
    share of the bar: the mix, comparable whatever the bar's total. Tooltips give counts and shares."""
    parts, centre, slot, y = _frame(label, x, parts_order, 1.0, True, (x_title, "share of rows"))
    width = min(44.0, slot * 0.7)
    for i, stack in enumerate(stacks):
        total = sum(stack.values())
        done = 0
        rects = []
        for k, name in enumerate(parts_order):
            n = stack.get(name, 0)
            if not n:
                continue
            y0, y1 = y((done + n) / total), y(done / total)
            rects.append(
                f'<rect x="{centre[i] - width / 2:.2f}" y="{y0}" width="{width:.2f}" height="{y1 - y0:.2f}" '
                f'fill="{PALETTE[k % len(PALETTE)]}"><title>{esc(x[i])} · {esc(name)}: {n:,} '
                f"({percent(n / total)} of {total:,})</title></rect>"
            )
            done += n
        parts.append(f'<g class="column" data-x="{esc(x[i])}" data-total="{total}">{"".join(rects)}</g>')
    parts.append("</svg></div>")
    return "\n".join(parts)


def data_table(header: list[str], rows: list[list]) -> str:
    """A chart's numbers as a table, folded away under it (for screen readers and for copying)."""
    return f"<details><summary>the numbers</summary>{html_table(header, rows)}</details>"
