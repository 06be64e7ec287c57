"""A static HTML data catalog of a store, written from the sidecars (and a few rows of the data).

index.html lists every dataset by stage, version and date. Each dataset has a page with its metadata,
schema, statistics, quality report, sample rows and its lineage drawn as SVG. Each batch date has a page
with the day's flow through the layers (rows in, rows out, drops by reason) and the text-normalization
versions side by side on the same documents. Plain HTML and inline SVG: no script, no network.

    medallion catalog --store URI --out DIR|URI
"""

from __future__ import annotations

import argparse
import html
import json
from pathlib import Path

from medallion.core import datasets, pipeline
from medallion.core.config import DATASET_ROOT, default_store
from medallion.core.store import open_store
from medallion.core.store_interface import Store
from medallion.runtime.quality_gates import DIMENSIONS
from medallion.tools import lineage

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
"""


def _e(value) -> str:
    return html.escape(str(value))


def slug(key: str) -> str:
    return key.removeprefix(f"{DATASET_ROOT}/").replace("/", "__") + ".html"


def _page(title: str, body: str, root: str = "") -> str:
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<title>{_e(title)}</title><link rel="icon" href="data:,"><style>{CSS}</style></head><body>'
        f'<nav><a href="{root}index.html">Catalog</a></nav><h1>{_e(title)}</h1>{body}</body></html>\n'
    )


def _table(header: list[str], rows: list[list], raw: bool = False) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c if raw else _e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


class Catalog:
    """Everything the pages are made of: the store's sidecars, keyed by data key."""

    def __init__(self, store: Store):
        self.store = store
        self.metas: dict[str, dict] = {}
        for key in datasets.find_datasets(store, f"{DATASET_ROOT}/"):
            meta = datasets.read_meta(store, key)
            if meta is not None:
                self.metas[key] = meta
        self.by_uri = {meta["dataset"]: key for key, meta in self.metas.items()}

    def order(self, key: str) -> tuple:
        meta = self.metas[key]
        names = list(pipeline.STAGE_NAMES)
        index = names.index(meta["stage"]["name"]) if meta["stage"]["name"] in names else len(names)
        return (
            meta.get("kind") == "quarantine",
            index,
            meta["stage"].get("version") or "",
            meta["date"],
            key,
        )

    def link(self, uri: str, root: str = "../") -> str | None:
        key = self.by_uri.get(uri)
        return f"{root}datasets/{slug(key)}" if key else None

    # -- pages ---------------------------------------------------------------------------------------------

    def index(self) -> str:
        rows = []
        for key in sorted(self.metas, key=self.order):
            meta = self.metas[key]
            node = lineage.node_from_meta(meta)
            passed = (meta.get("quality") or {}).get("passed")
            state = "" if passed is None else ("passed" if passed else "FAILED")
            rows.append(
                [
                    f'<a href="datasets/{slug(key)}">{_e(node.stage + (" " + node.part if node.part else ""))}</a>',
                    _e(node.version or "-"),
                    f'<a href="batches/{_e(meta["date"])}.html">{_e(meta["date"])}</a>',
                    f"{meta['statistics']['rows']:,}",
                    f'<span class="mono">{_e(meta["sha1"][:12])}</span>',
                    f'<span class="{state.lower()}">{state}</span>',
                ]
            )
        dates = sorted({m["date"] for m in self.metas.values()}, reverse=True)
        batches = " ".join(f'<a href="batches/{_e(d)}.html">{_e(d)}</a>' for d in dates)
        body = (
            f"<p>{len(self.metas)} datasets in <code>{_e(self.store.uri)}</code>. Batches: {batches}</p>"
            + _table(["stage", "version", "date", "rows", "sha1", "quality gates"], rows, raw=True)
        )
        return _page("HTML classification: data catalog", body)

    def dataset(self, key: str) -> str:
        meta = self.metas[key]
        node = lineage.node_from_meta(meta)
        graph = lineage.upstream(meta)
        sources = [
            [f'<a href="{self.link(s["uri"])}">{_e(s["uri"])}</a>' if self.link(s["uri"]) else _e(s["uri"]),
             _e(s["kind"]), f'<span class="mono">{_e(s.get("sha1") or "")}</span>', _e(s.get("rows", ""))]
            for s in meta["sources"]
        ]  # fmt: skip
        stats = meta["statistics"]
        drops = [[f"quarantined: {r}", n] for r, n in stats["quarantined"]["by_reason"].items()]
        drops += [[f"deduplicated: {r}", n] for r, n in stats["duplicates_removed"]["by_reason"].items()]
        columns = [[c, meta["schema"].get(c, ""), meaning] for c, meaning in meta["columns"].items()]
        sample_cols = list(meta["sample"][0]) if meta["sample"] else []
        sample = [
            [json.dumps(row.get(c), ensure_ascii=False, default=str)[:200] for c in sample_cols]
            for row in meta["sample"]
        ]
        process = [
            [p["name"], p.get("description", ""), json.dumps(p.get("params", {}), sort_keys=True)]
            for p in meta["process"]
        ]
        facts = [
            ["dataset", _e(meta["dataset"])],
            ["description", _e(meta["description"])],
            ["layer", _e(meta["stage"]["layer"])],
            ["sha1", f'<span class="mono">{_e(meta["sha1"])}</span>'],
            ["rows", f"{stats['rows']:,} (input {stats['input_rows']:,})"],
            ["bytes", f"{meta['bytes']:,}"],
            ["created", _e(meta["created_at"])],
            [
                "workflow",
                _e(f"{meta['workflow']['name']} / {meta['workflow']['step']} / {meta['workflow']['run_id']}"),
            ],
            ["code version", _e(meta["code_version"])],
            ["contract", _e((meta.get("contract") or {}).get("schema", ""))],
            ["parameters", f"<code>{_e(json.dumps(meta['parameters'], sort_keys=True))}</code>"],
        ]
        if meta.get("taxonomy"):  # the label set its categories come from
            known = meta["taxonomy"]
            facts.append(
                [
                    "taxonomy",
                    f"{_e(', '.join(c['name'] for c in known['categories']))} "
                    f'(<span class="mono">{_e(known["path"])}</span>, sha1 {_e(known["sha1"][:12])})',
                ]
            )
        body = (
            _table(["", ""], facts, raw=True)
            + "<h2>Lineage</h2>"
            + lineage.svg(graph, link=lambda uri: self.link(uri, root="../"))
            + "<h2>Sources</h2>"
            + _table(["uri", "kind", "sha1", "rows"], sources, raw=True)
            + "<h2>Rules applied</h2>"
            + _table(["rule", "what it does", "parameters"], process)
            + "<h2>Schema</h2>"
            + _table(["column", "type", "meaning"], columns)
            + "<h2>Statistics</h2>"
            + _table(["dropped", "rows"], drops or [["nothing dropped", 0]])
            + (self._quality(meta["quality"]) if meta.get("quality") else "")
            + "<h2>Sample rows</h2>"
            + _table(sample_cols, sample)
        )
        return _page(f"{node.label}", body, root="../")

    def _quality(self, report: dict) -> str:
        gates = {g["check"]: g for g in report.get("gates", [])}
        rows = []
        for dimension in (*DIMENSIONS, "drift"):
            section = report.get(dimension) or {}
            if section.get("measured") is False:
                rows.append([dimension, "(not measured)", "", "", _e(section.get("why", ""))])
                continue
            for measure, value in section.items():
                if isinstance(value, dict | list):
                    continue
                gate = gates.get(f"{dimension}.{measure}")
                bound = status = ""
                if gate:
                    op = "min" if "min" in gate else "max"
                    bound = f"{op} {gate[op]:g}"
                    status = (
                        gate["status"]
                        if not (gate["status"] == "failed" and gate["severity"] == "warn")
                        else "warn"
                    )
                shown = f"{value:.4g}" if isinstance(value, float) else value
                rows.append(
                    [dimension, _e(measure), _e(shown), bound, f'<span class="{status}">{status}</span>']
                )
        anomalies = "".join(
            f"<li>{_e(a['message'])}</li>" for a in (report.get("drift") or {}).get("anomalies", [])
        )
        verdict = "passed" if report.get("passed") else "failed"
        return (
            f'<h2>Quality <span class="{verdict}">({verdict})</span></h2>'
            + _table(["dimension", "measure", "value", "gate", "status"], rows, raw=True)
            + (f"<p>Drift anomalies:</p><ul>{anomalies}</ul>" if anomalies else "")
        )

    def batch(self, day: str) -> str:
        keys = sorted(
            (k for k, m in self.metas.items() if m["date"] == day and m.get("kind") != "quarantine"),
            key=self.order,
        )
        widest = max([self.metas[k]["statistics"]["input_rows"] for k in keys] + [1])
        rows = []
        for key in keys:
            meta = self.metas[key]
            stats = meta["statistics"]
            dropped = stats["input_rows"] - stats["rows"]
            bar = (
                f'<span class="bar" style="width:{300 * stats["rows"] // widest}px"></span>'
                f'<span class="bar drop" style="width:{300 * max(dropped, 0) // widest}px"></span>'
            )
            reasons = {
                **stats["quarantined"]["by_reason"],
                **{f"dup:{k}": v for k, v in stats["duplicates_removed"]["by_reason"].items()},
            }
            rows.append(
                [f'<a href="../datasets/{slug(key)}">{_e(lineage.node_from_meta(meta).label)}</a>',
                 f"{stats['input_rows']:,}", f"{stats['rows']:,}", bar,
                 _e(", ".join(f"{r} {n}" for r, n in sorted(reasons.items())) or "-")]
            )  # fmt: skip
        body = (
            "<h2>Flow through the layers</h2><p>Blue: rows kept; red: rows dropped (by reason on the right).</p>"
            + _table(["step", "in", "out", "", "dropped by reason"], rows, raw=True)
            + self._versions_side_by_side(day)
        )
        return _page(f"Batch {day}", body, root="../")

    def _versions_side_by_side(self, day: str, documents: int = 4, chars: int = 600) -> str:
        stage = pipeline.stage("text-normalization")
        versions = {
            self.metas[k]["stage"]["version"]: k
            for k in self.metas
            if self.metas[k]["stage"]["name"] == stage.name and self.metas[k]["date"] == day and self.metas[k].get("kind") != "quarantine"
        }  # fmt: skip
        if not versions:
            return ""
        texts: dict[str, dict[str, str]] = {}
        for version, key in sorted(versions.items()):
            dataset = datasets.Dataset(self.store, key, self.metas[key])
            texts[version] = {}
            for row in dataset.records(columns=["url", "text"]):
                texts[version][row["url"]] = row["text"]
        common = sorted(set.intersection(*(set(t) for t in texts.values())))[:documents]
        parts = [f"<h2>Text-normalization versions side by side ({', '.join(sorted(texts))})</h2>"]
        for url in common:
            cells = "".join(
                f"<div><b>{_e(v)}</b>\n{_e(texts[v][url][:chars])}{'...' if len(texts[v][url]) > chars else ''}</div>"
                for v in sorted(texts)
            )
            parts.append(f'<p class="mono">{_e(url)}</p><div class="side">{cells}</div>')
        return "".join(parts)

    # -- writing -------------------------------------------------------------------------------------------

    def pages(self) -> dict[str, str]:
        out = {"index.html": self.index()}
        for key in self.metas:
            out[f"datasets/{slug(key)}"] = self.dataset(key)
        for day in sorted({m["date"] for m in self.metas.values()}):
            out[f"batches/{day}.html"] = self.batch(day)
        return out


def write(store: Store, out: str) -> tuple[str, int]:
    """Write the catalog to a folder, or into a store (``file://`` or ``s3://`` URI). Returns where, pages."""
    pages = Catalog(store).pages()
    if "://" in out:
        target = open_store(out)
        for name, text in pages.items():
            target.write_bytes(name, text.encode())
        return target.url("index.html"), len(pages)
    folder = Path(out)
    for name, text in pages.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return str((folder / "index.html").resolve()), len(pages)


def cmd_catalog(args: argparse.Namespace) -> int:
    where, count = write(open_store(args.store), args.out)
    print(f"wrote {count} pages; open {where}")
    return 0


def add_parser(sub) -> None:
    cat = sub.add_parser("catalog", help="write a static HTML data catalog of a store")
    cat.add_argument(
        "--store", default=default_store(), help="store URI: file://PATH or s3://BUCKET[/PREFIX]"
    )
    cat.add_argument("--out", required=True, help="a folder, or a store URI to write the pages into")
    cat.set_defaults(func=cmd_catalog)
