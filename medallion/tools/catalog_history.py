"""The daily batches over time, for the catalog's index: three inline SVG charts from the sidecars alone.

Per batch date: the rows of each stage's main dataset; the share of each stage's input it quarantined
(``statistics.quarantined.total`` / ``statistics.input_rows``); and the category mix of the gold layer
(``annotated``'s ``statistics.categories``, or its quality profile's category shares where the counts are
missing). Datasets of a stage this code does not know, quarantines and side datasets (label issues) are
left out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from medallion.core import pipeline
from medallion.tools.catalog_html import count, data_table, line_chart, percent, stacked_bars

GOLD = "annotated"


def main_datasets(metas: dict[str, dict]) -> dict[tuple[str, str], dict]:
    """(series label, date) to the sidecar of that stage's (and version's) main dataset that day."""
    stages = {stage.name: stage for stage in pipeline.STAGES}  # not pipeline.stage(): unknown names pass
    found = {}
    for key, meta in metas.items():
        stage = stages.get(meta["stage"]["name"])
        if meta.get("kind") == "quarantine" or stage is None or not key.endswith("/" + stage.dataset):
            continue
        version = meta["stage"].get("version")
        found[(stage.name + (f" {version}" if version else ""), meta["date"])] = meta
    return found


def _series_order(labels: set[str]) -> list[str]:
    names = list(pipeline.STAGE_NAMES)
    return sorted(labels, key=lambda label: (names.index(label.split(" ")[0]), label))


def category_counts(meta: dict) -> dict[str, int]:
    """Rows per category of a labeled dataset: its recorded counts, else its profile's shares times rows."""
    counts = (meta.get("statistics") or {}).get("categories")
    if isinstance(counts, dict) and all(isinstance(n, int) for n in counts.values()):
        return dict(counts)
    profile = ((meta.get("quality") or {}).get("drift") or {}).get("profile") or {}
    shares = profile.get("categories")
    if isinstance(shares, dict):
        rows = meta["statistics"]["rows"]
        return {name: round(share * rows) for name, share in shares.items() if isinstance(share, int | float)}
    return {}


def _category_order(metas: list[dict], seen: set[str]) -> list[str]:
    """The taxonomy's order (of the latest batch that records one), then any other category by name."""
    listed: list[str] = []
    for meta in reversed(metas):
        categories = (meta.get("taxonomy") or {}).get("categories") or []
        listed = [c["name"] for c in categories if isinstance(c, dict) and "name" in c]
        if listed:
            break
    return [c for c in listed if c in seen] + sorted(seen - set(listed))


def quarantine_rate(meta: dict) -> float | None:
    """The share of a dataset's input rows it quarantined (None: it had no input)."""
    stats = meta["statistics"]
    return stats["quarantined"]["total"] / stats["input_rows"] if stats.get("input_rows") else None


def _per_date(found: dict, series: list[str], dates: list[str], value: Callable[[dict], Any]) -> dict:
    """Per series, ``value`` of its sidecar on each date (None where it has no dataset that day)."""
    return {s: [value(found[(s, d)]) if (s, d) in found else None for d in dates] for s in series}


def _numbers(dates: list[str], values: dict[str, list], shown: Callable[[Any], str]) -> str:
    rows = [[d, *("" if v[i] is None else shown(v[i]) for v in values.values())] for i, d in enumerate(dates)]
    return data_table(["date", *values], rows)


def history(metas: dict[str, dict]) -> str:
    """The index's History section (empty when there is no batch)."""
    found = main_datasets(metas)
    if not found:
        return ""
    dates = sorted({day for _label, day in found})
    series = _series_order({label for label, _day in found})
    span = f"{len(dates)} batch date{'s' if len(dates) != 1 else ''}, {dates[0]} to {dates[-1]}"
    rows = _per_date(found, series, dates, lambda meta: meta["statistics"]["rows"])
    rates = _per_date(found, series, dates, quarantine_rate)
    parts = [
        "<h2>History</h2>",
        f"<p>The daily batches over time ({span}). Hover a point or a bar for its numbers.</p>",
        "<h3>Rows of each stage's main dataset</h3>",
        line_chart(f"Rows of each stage's main dataset per batch date: {span}", dates, rows, "rows"),
        _numbers(dates, rows, count),
        "<h3>Quarantine rate (quarantined / input rows)</h3>",
        line_chart(
            f"Share of each stage's input rows quarantined per batch date: {span}",
            dates,
            rates,
            "quarantined",
            shares=True,
            titles=("batch date", "quarantined / input rows"),
        ),
        _numbers(dates, rates, percent),
    ]
    gold = [found[(GOLD, d)] for d in dates if (GOLD, d) in found]
    mixes = [category_counts(meta) for meta in gold]
    categories = _category_order(gold, {c for mix in mixes for c in mix})
    if categories:
        gold_dates = [meta["date"] for meta in gold]
        counts = {c: [mix.get(c, 0) for mix in mixes] for c in categories}
        counts["total"] = [sum(mix.values()) for mix in mixes]
        parts += [
            f"<h3>Category mix of {GOLD}</h3>",
            stacked_bars(f"Category mix of {GOLD} per batch date: {span}", gold_dates, mixes, categories),
            _numbers(gold_dates, counts, count),
        ]
    return "\n".join(parts)
