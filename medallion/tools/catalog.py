"""A static HTML data catalog of a store, written from the sidecars (and a few rows of the data).

index.html lists every dataset by stage, version and date, charts the daily batches over time
(catalog_history.py) and lists the releases built across days (catalog_releases.py, a page each). Each
dataset has a page with its metadata, schema, statistics, quality report, sample rows and its lineage drawn
as SVG. Each batch date has a page with the day's flow through the layers (rows in, rows out, drops by
reason) and the text-normalization versions side by side on the same documents. Plain HTML and inline SVG:
no script, no network.

    medallion catalog --store URI --out DIR|URI
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from medallion.core import datasets, pipeline
from medallion.core.config import DATASET_ROOT, default_store
from medallion.core.store import open_store
from medallion.core.store_interface import Store
from medallion.runtime.quality_gates import DIMENSIONS
from medallion.tools import catalog_history, catalog_releases, lineage
from medallion.tools.catalog_html import esc, html_page, html_table, slug


def node(meta: dict) -> lineage.Node:
    """``meta``'s lineage node; a stage this code does not know (yet) still gets one, from its sidecar."""
    try:
        return lineage.node_from_meta(meta)
    except KeyError:  # pipeline.stage() of an unknown name
        return lineage.Node(
            uri=meta["dataset"], kind=meta.get("kind", "dataset"), stage=meta["stage"]["name"],
            version=meta["stage"].get("version"), date=meta["date"], sha1=meta["sha1"],
            rows=meta["statistics"]["rows"], rules=[step["name"] for step in meta.get("process", [])],
        )  # fmt: skip


class Catalog:
    """Everything the pages are made of: the store's sidecars, keyed by data key."""

    def __init__(self, store: Store):
        self.store = store
        self.metas: dict[str, dict] = {}  # the daily batches' datasets
        keys = list(datasets.find_datasets(store, f"{DATASET_ROOT}/"))
        for key in keys:
            meta = None if catalog_releases.is_release(key) else datasets.read_meta(store, key)
            if meta is not None and not catalog_releases.is_release(key, meta):
                self.metas[key] = meta
        self.releases = catalog_releases.load(store, keys)
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

    def link_key(self, key: str) -> str | None:
        return f"../datasets/{slug(key)}" if key in self.metas else None

    # -- pages ---------------------------------------------------------------------------------------------

    def index(self) -> str:
        rows = []
        for key in sorted(self.metas, key=self.order):
            meta = self.metas[key]
            entry = node(meta)
            passed = (meta.get("quality") or {}).get("passed")
            state = "" if passed is None else ("passed" if passed else "FAILED")
            rows.append(
                [
                    f'<a href="datasets/{slug(key)}">{esc(entry.stage + (" " + entry.part if entry.part else ""))}</a>',
                    esc(entry.version or "-"),
                    f'<a href="batches/{esc(meta["date"])}.html">{esc(meta["date"])}</a>',
                    f"{meta['statistics']['rows']:,}",
                    f'<span class="mono">{esc(meta["sha1"][:12])}</span>',
                    f'<span class="{state.lower()}">{state}</span>',
                ]
            )
        dates = sorted({m["date"] for m in self.metas.values()}, reverse=True)
        batches = " ".join(f'<a href="batches/{esc(d)}.html">{esc(d)}</a>' for d in dates)
        body = (
            f"<p>{len(self.metas)} datasets in <code>{esc(self.store.uri)}</code>. Batches: {batches}</p>"
            + catalog_releases.section(self.releases)
            + catalog_history.history(self.metas)
            + "<h2>Datasets</h2>"
            + html_table(["stage", "version", "date", "rows", "sha1", "quality gates"], rows, raw=True)
        )
        return html_page("HTML classification: data catalog", body)

    def dataset(self, key: str) -> str:
        meta = self.metas[key]
        try:
            drawn = lineage.svg(lineage.upstream(meta), link=lambda uri: self.link(uri, root="../"))
        except KeyError as exc:  # a source of a stage this code does not know (yet)
            drawn = f"<p>Not drawn: {esc(exc)}.</p>"
        sources = [
            [f'<a href="{self.link(s["uri"])}">{esc(s["uri"])}</a>' if self.link(s["uri"]) else esc(s["uri"]),
             esc(s["kind"]), f'<span class="mono">{esc(s.get("sha1") or "")}</span>', esc(s.get("rows", ""))]
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
            ["dataset", esc(meta["dataset"])],
            ["description", esc(meta["description"])],
            ["layer", esc(meta["stage"]["layer"])],
            ["sha1", f'<span class="mono">{esc(meta["sha1"])}</span>'],
            ["rows", f"{stats['rows']:,} (input {stats['input_rows']:,})"],
            ["bytes", f"{meta['bytes']:,}"],
            ["created", esc(meta["created_at"])],
            [
                "workflow",
                esc(
                    f"{meta['workflow']['name']} / {meta['workflow']['step']} / {meta['workflow']['run_id']}"
                ),
            ],
            ["code version", esc(meta["code_version"])],
            ["contract", esc((meta.get("contract") or {}).get("schema", ""))],
            ["parameters", f"<code>{esc(json.dumps(meta['parameters'], sort_keys=True))}</code>"],
        ]
        if meta.get("taxonomy"):  # the label set its categories come from
            known = meta["taxonomy"]
            facts.append(
                [
                    "taxonomy",
                    f"{esc(', '.join(c['name'] for c in known['categories']))} "
                    f'(<span class="mono">{esc(known["path"])}</span>, sha1 {esc(known["sha1"][:12])})',
                ]
            )
        body = (
            html_table(["", ""], facts, raw=True)
            + "<h2>Lineage</h2>"
            + drawn
            + "<h2>Sources</h2>"
            + html_table(["uri", "kind", "sha1", "rows"], sources, raw=True)
            + "<h2>Rules applied</h2>"
            + html_table(["rule", "what it does", "parameters"], process)
            + "<h2>Schema</h2>"
            + html_table(["column", "type", "meaning"], columns)
            + "<h2>Statistics</h2>"
            + html_table(["dropped", "rows"], drops or [["nothing dropped", 0]])
            + (self._quality(meta["quality"]) if meta.get("quality") else "")
            + "<h2>Sample rows</h2>"
            + html_table(sample_cols, sample)
        )
        return html_page(f"{node(meta).label}", body, root="../")

    def _quality(self, report: dict) -> str:
        gates = {g["check"]: g for g in report.get("gates", [])}
        rows = []
        for dimension in (*DIMENSIONS, "drift"):
            section = report.get(dimension) or {}
            if section.get("measured") is False:
                rows.append([dimension, "(not measured)", "", "", esc(section.get("why", ""))])
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
                    [dimension, esc(measure), esc(shown), bound, f'<span class="{status}">{status}</span>']
                )
        anomalies = "".join(
            f"<li>{esc(a['message'])}</li>" for a in (report.get("drift") or {}).get("anomalies", [])
        )
        verdict = "passed" if report.get("passed") else "failed"
        return (
            f'<h2>Quality <span class="{verdict}">({verdict})</span></h2>'
            + html_table(["dimension", "measure", "value", "gate", "status"], rows, raw=True)
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
                [f'<a href="../datasets/{slug(key)}">{esc(node(meta).label)}</a>',
                 f"{stats['input_rows']:,}", f"{stats['rows']:,}", bar,
                 esc(", ".join(f"{r} {n}" for r, n in sorted(reasons.items())) or "-")]
            )  # fmt: skip
        body = (
            "<h2>Flow through the layers</h2><p>Blue: rows kept; red: rows dropped (by reason on the right).</p>"
            + html_table(["step", "in", "out", "", "dropped by reason"], rows, raw=True)
            + self._versions_side_by_side(day)
        )
        return html_page(f"Batch {day}", body, root="../")

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
                f"<div><b>{esc(v)}</b>\n{esc(texts[v][url][:chars])}{'...' if len(texts[v][url]) > chars else ''}</div>"
                for v in sorted(texts)
            )
            parts.append(f'<p class="mono">{esc(url)}</p><div class="side">{cells}</div>')
        return "".join(parts)

    # -- writing -------------------------------------------------------------------------------------------

    def pages(self) -> dict[str, str]:
        out = {"index.html": self.index()}
        for key in self.metas:
            out[f"datasets/{slug(key)}"] = self.dataset(key)
        for day in sorted({m["date"] for m in self.metas.values()}):
            out[f"batches/{day}.html"] = self.batch(day)
        return out | catalog_releases.pages(self.releases, self.link_key)


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
