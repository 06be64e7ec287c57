"""Lineage from the sidecars alone: the graph of datasets a dataset was built from, or was used to build.

Every sidecar lists its sources (URI and SHA1); following them gives the upstream graph down to the crawl
file. The downstream graph is the same edges read backwards, from every sidecar in the store.

    medallion lineage URI [--downstream] [--format text|mermaid|dot]
"""

from __future__ import annotations

import argparse
import html
from collections import deque
from dataclasses import dataclass, field

from medallion.core import datasets
from medallion.core.config import DATASET_ROOT
from medallion.core.store import split_uri
from medallion.core.store_interface import Store, StoreError


@dataclass
class Node:
    uri: str
    kind: str  # dataset, quarantine, file, api, stdin
    stage: str = ""
    version: str | None = None
    date: str = ""
    sha1: str | None = None
    rows: int | None = None
    rules: list[str] = field(default_factory=list)
    present: bool = True  # False: the sidecar names it, but it is gone from the store
    part: str = ""  # which of a stage's datasets, when not its main one (rejects, label-issues)

    @property
    def label(self) -> str:
        if self.kind in ("dataset", "quarantine") and self.stage:
            return " ".join(p for p in (self.stage, self.part, self.version or "", self.date) if p)
        return f"{self.kind} {self.uri.rsplit('/', 1)[-1]}"

    def describe(self) -> str:
        parts = [self.label]
        if self.sha1:
            parts.append(f"sha1 {self.sha1[:12]}")
        if self.rows is not None:
            parts.append(f"{self.rows:,} rows")
        if self.rules:
            parts.append("[" + ", ".join(self.rules) + "]")
        if not self.present:
            parts.append("(GONE from the store)")
        return "  ".join(parts)


@dataclass
class Graph:
    root: str
    nodes: dict[str, Node]
    edges: list[tuple[str, str]]  # (source, derived)

    def parents(self, uri: str) -> list[str]:
        return [a for a, b in self.edges if b == uri]

    def children(self, uri: str) -> list[str]:
        return [b for a, b in self.edges if a == uri]


def node_from_meta(meta: dict) -> Node:
    from medallion.core.pipeline import stage as stage_of

    name = meta["dataset"].rsplit("/", 1)[-1]
    part = "rejects" if meta.get("kind") == "quarantine" else ""
    if not part and name != stage_of(meta["stage"]["name"]).dataset:
        part = name.split(".")[0]
    return Node(
        part=part,
        uri=meta["dataset"],
        kind=meta.get("kind", "dataset"),
        stage=meta["stage"]["name"],
        version=meta["stage"].get("version"),
        date=(meta.get("release") or {}).get("name") or meta["date"],  # a release is named, not dated
        sha1=meta["sha1"],
        rows=meta["statistics"]["rows"],
        rules=[step["name"] for step in meta.get("process", [])],
    )


def read(uri: str) -> dict | None:
    """The valid sidecar of the dataset at ``uri``, or None when it is gone."""
    try:
        store, key = split_uri(uri)
    except StoreError:
        return None
    return datasets.read_meta(store, key)


def upstream(meta: dict) -> Graph:
    """Everything ``meta``'s dataset was built from, down to the crawl file."""
    root = node_from_meta(meta)
    nodes = {root.uri: root}
    edges: list[tuple[str, str]] = []
    queue = deque([meta])
    while queue:
        current = queue.popleft()
        for source in current.get("sources", []):
            uri = source["uri"]
            edges.append((uri, current["dataset"]))
            if uri in nodes:
                continue
            if source["kind"] != "dataset":
                nodes[uri] = Node(
                    uri=uri, kind=source["kind"], sha1=source.get("sha1"), rows=source.get("rows")
                )
                continue
            found = read(uri)
            if found is None:
                nodes[uri] = Node(
                    uri=uri, kind="dataset", sha1=source.get("sha1"), rows=source.get("rows"), present=False
                )
                continue
            nodes[uri] = node_from_meta(found)
            nodes[uri].present = _data_present(uri)
            queue.append(found)
    return Graph(root=root.uri, nodes=nodes, edges=sorted(set(edges)))


def downstream(store: Store, meta: dict) -> Graph:
    """Every dataset in ``store`` built, directly or not, from ``meta``'s dataset."""
    root = node_from_meta(meta)
    built_from: dict[str, list[dict]] = {}
    for key in datasets.find_datasets(store, f"{DATASET_ROOT}/"):
        other = datasets.read_meta(store, key)
        for source in (other or {}).get("sources", []):
            built_from.setdefault(source["uri"], []).append(other)
    nodes = {root.uri: root}
    edges = []
    queue = deque([root.uri])
    while queue:
        uri = queue.popleft()
        for child in built_from.get(uri, []):
            edges.append((uri, child["dataset"]))
            if child["dataset"] not in nodes:
                nodes[child["dataset"]] = node_from_meta(child)
                queue.append(child["dataset"])
    return Graph(root=root.uri, nodes=nodes, edges=sorted(set(edges)))


def _data_present(uri: str) -> bool:
    store, key = split_uri(uri)
    return store.exists(key)


# -- drawing -----------------------------------------------------------------------------------------------


def text(graph: Graph, downstream_: bool = False) -> str:
    """The graph as an indented tree from the root; a node met twice is shown once, then referred to."""
    lines: list[str] = []
    shown: set[str] = set()

    def walk(uri: str, prefix: str, last: bool, depth: int) -> None:
        node = graph.nodes[uri]
        branch = "" if depth == 0 else ("└── " if last else "├── ")
        again = uri in shown
        lines.append(prefix + branch + node.describe() + ("  (see above)" if again else ""))
        shown.add(uri)
        if again:
            return
        nexts = graph.children(uri) if downstream_ else graph.parents(uri)
        nexts = sorted(nexts, key=lambda u: graph.nodes[u].label)
        extension = "" if depth == 0 else ("    " if last else "│   ")
        for i, child in enumerate(nexts):
            walk(child, prefix + extension, i == len(nexts) - 1, depth + 1)

    walk(graph.root, "", True, 0)
    return "\n".join(lines)


def _ids(graph: Graph) -> dict[str, str]:
    return {uri: f"n{i}" for i, uri in enumerate(sorted(graph.nodes))}


def mermaid(graph: Graph) -> str:
    ids = _ids(graph)
    lines = ["graph LR"]
    for uri, node in sorted(graph.nodes.items()):
        sha = f"<br/>sha1 {node.sha1[:12]}" if node.sha1 else ""
        lines.append(f'    {ids[uri]}["{node.label}{sha}"]')
    lines += [f"    {ids[a]} --> {ids[b]}" for a, b in graph.edges]
    return "\n".join(lines)


def dot(graph: Graph) -> str:
    ids = _ids(graph)
    lines = ["digraph lineage {", "  rankdir=LR;", "  node [shape=box, fontname=Helvetica];"]
    for uri, node in sorted(graph.nodes.items()):
        sha = f"\\nsha1 {node.sha1[:12]}" if node.sha1 else ""
        style = ", style=dashed" if not node.present else ""
        lines.append(f'  {ids[uri]} [label="{node.label}{sha}", tooltip="{uri}"{style}];')
    lines += [f"  {ids[a]} -> {ids[b]};" for a, b in graph.edges]
    lines.append("}")
    return "\n".join(lines)


def svg(graph: Graph, link=None) -> str:
    """The graph as an SVG drawing, sources on top: one row per distance from the crawl.

    ``link(uri)``: where a node links to (None: no link).
    """
    depth: dict[str, int] = {}

    def level(uri: str, seen: frozenset = frozenset()) -> int:
        if uri in depth:
            return depth[uri]
        parents = [p for p in graph.parents(uri) if p not in seen]
        depth[uri] = 0 if not parents else 1 + max(level(p, seen | {uri}) for p in parents)
        return depth[uri]

    for uri in graph.nodes:
        level(uri)
    for uri in graph.nodes:  # an external source (crawl file, API) sits just before what it feeds
        children = graph.children(uri)
        if not graph.parents(uri) and children:
            depth[uri] = max(0, min(depth[c] for c in children) - 1)
    columns: dict[int, list[str]] = {}
    for uri in sorted(graph.nodes, key=lambda u: graph.nodes[u].label):
        columns.setdefault(depth[uri], []).append(uri)
    box_w, box_h, gap_x, gap_y, pad = 220, 44, 24, 30, 10
    place = {}
    for row, uris in columns.items():
        for col, uri in enumerate(uris):
            place[uri] = (pad + col * (box_w + gap_x), pad + row * (box_h + gap_y))
    width = pad * 2 + max(len(u) for u in columns.values()) * (box_w + gap_x) - gap_x
    height = pad * 2 + (max(columns) + 1) * (box_h + gap_y) - gap_y
    parts = [
        '<div style="overflow-x:auto">'
        f'<svg xmlns="http://www.w3.org/2000/svg" class="lineage" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="lineage graph">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>',
    ]
    for a, b in graph.edges:
        (x1, y1), (x2, y2) = place[a], place[b]
        ax, ay, bx, by = x1 + box_w / 2, y1 + box_h, x2 + box_w / 2, y2
        bend = (
            box_w if by - ay > box_h + gap_y else 0
        )  # an edge that skips rows bows around the boxes between
        parts.append(
            f'<path d="M {ax} {ay} C {ax + bend} {ay + gap_y}, {bx + bend} {by - gap_y}, {bx} {by}" fill="none" '
            'stroke="#555" stroke-width="1.5" marker-end="url(#arrow)"/>'
        )
    for uri, node in graph.nodes.items():
        x, y = place[uri]
        fill = "#fde2e2" if not node.present else ("#e3f0ff" if uri == graph.root else "#f4f4f4")
        title = html.escape(uri)
        box = (
            f'<rect x="{x}" y="{y}" width="{box_w}" height="{box_h}" rx="6" fill="{fill}" stroke="#777"/>'
            f'<text x="{x + 8}" y="{y + 19}" font-size="12" font-family="sans-serif">{html.escape(node.label[:30])}</text>'
            f'<text x="{x + 8}" y="{y + 36}" font-size="10" font-family="monospace" fill="#444">'
            f"{html.escape(('sha1 ' + node.sha1[:12]) if node.sha1 else node.kind)}</text>"
        )
        target = link(uri) if link else None
        body = f'<g class="node"><title>{title}</title>{box}</g>'
        parts.append(f'<a href="{html.escape(target)}">{body}</a>' if target else body)
    parts.append("</svg></div>")
    return "\n".join(parts)


# -- command -----------------------------------------------------------------------------------------------


def cmd_lineage(args: argparse.Namespace) -> int:
    from medallion.tools.inventory import resolve_dataset

    store, key = resolve_dataset(args.uri)
    meta = datasets.Dataset.open(store, key).meta
    graph = downstream(store, meta) if args.downstream else upstream(meta)
    if args.format == "mermaid":
        print(mermaid(graph))
    elif args.format == "dot":
        print(dot(graph))
    else:
        print(text(graph, args.downstream))
    return 0


def add_parser(sub) -> None:
    lineage = sub.add_parser("lineage", help="a dataset's upstream graph down to raw (or --downstream)")
    lineage.add_argument("uri", help="dataset URI: its date folder or its data file")
    lineage.add_argument("--downstream", action="store_true", help="what was built from it instead")
    lineage.add_argument("--format", choices=("text", "mermaid", "dot"), default="text")
    lineage.set_defaults(func=cmd_lineage)
