"""Releases in the catalog: training sets built across days, listed on the index, each with its own page.

A release is ``html-classification/releases/<NAME>/documents.parquet`` (stage ``release``, or
``release-clean`` for ``<NAME>-clean``); a model trained on one is
``html-classification/models/releases/<NAME>/predictions.parquet`` (stage ``release-model``). Its page
shows the window, the days it took and the days it missed, each batch's contribution, the splits, the class
balance per split, the taxonomy, and the model's test metrics and registered version when there is one.

Sidecars are read defensively: a key that is missing shows as missing, and a sidecar that does not match
schemas/sidecar.schema.json is shown with what is wrong with it rather than hidden.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import yaml

from medallion.core import datasets, sidecar
from medallion.core.config import DATASET_ROOT
from medallion.core.store_interface import Store, StoreError
from medallion.tools.catalog_html import count, esc, html_page, html_table, percent, stacked_bars

RELEASES = f"{DATASET_ROOT}/releases/"
RELEASE_MODELS = f"{DATASET_ROOT}/models/releases/"
STAGES = ("release", "release-clean", "release-model")
SPLITS = ("train", "validation", "test")


def is_release(key: str, meta: dict | None = None) -> bool:
    """A release or a release's model (or its quarantine): not a daily batch's dataset."""
    stage = (meta or {}).get("stage") or {}
    return (
        key.startswith((RELEASES, RELEASE_MODELS))
        or stage.get("name") in STAGES
        or stage.get("layer") == "release"
    )


@dataclass
class Release:
    name: str
    key: str
    meta: dict
    problem: str = ""  # why the sidecar does not validate ("" when it does)
    model: Release | None = None

    @property
    def page(self) -> str:
        return f"releases/{self.name}.html"

    def get(self, *path: str, default=None):
        """The value at ``path`` in the sidecar, or ``default`` where any part of the path is missing."""
        tree = self.meta
        for part in path:
            if not isinstance(tree, dict) or part not in tree:
                return default
            tree = tree[part]
        return tree


def _plain(value):
    """YAML's dates (unquoted 2026-12-01) as the ISO text the sidecars otherwise hold."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k) if isinstance(k, dt.date) else k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _list(value) -> list:
    return value if isinstance(value, list) else []


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def read(store: Store, key: str) -> tuple[dict, str] | None:
    """(sidecar, why it does not validate or "") of the dataset at ``key``; None when it cannot be read."""
    try:
        text = store.read_bytes(sidecar.sidecar_key(key))
    except StoreError:  # gone since it was listed, or not readable with these credentials
        return None
    try:
        return datasets.resolve(sidecar.loads(text), store, key), ""
    except sidecar.SidecarError as exc:
        problem = str(exc)
    try:
        meta = _plain(yaml.safe_load(text))
    except yaml.YAMLError:
        meta = None
    return {**(meta if isinstance(meta, dict) else {}), "dataset": store.url(key)}, problem


def load(store: Store, keys: Iterable[str]) -> list[Release]:
    """The releases among ``keys`` (data-file keys with a sidecar), each with its model when there is one."""
    releases: dict[str, Release] = {}
    models: list[Release] = []
    for key in sorted(keys):
        root = next((r for r in (RELEASE_MODELS, RELEASES) if key.startswith(r)), "")
        name, _, rest = key[len(root) :].partition("/") if root else ("", "", "")
        if not rest or (found := read(store, key)) is None:
            continue
        entry = Release(name, key, *found)
        if root == RELEASE_MODELS:
            models.append(entry)
        elif name not in releases or key.endswith("/documents.parquet"):  # its main data file wins
            releases[name] = entry
    for release in releases.values():
        trained = (m for m in models if m.name == release.name or release.key in _source_keys(m))
        release.model = next(trained, None)
    return [releases[name] for name in sorted(releases)]


def _source_keys(release: Release) -> set[str]:
    return {s.get("key") for s in _list(release.get("sources")) if isinstance(s, dict)}


# -- the index's section -----------------------------------------------------------------------------------


def _window(release: Release) -> str:
    start, end = release.get("release", "from"), release.get("release", "to")
    return f"{start or '?'} to {end or '?'}" if start or end else str(release.get("date", default="?"))


def _batches(release: Release) -> list[dict]:
    return [b for b in _list(release.get("statistics", "batches")) if isinstance(b, dict)]


def _days(release: Release) -> list[str]:
    days = release.get("release", "days")
    return (
        [str(d) for d in days]
        if isinstance(days, list)
        else [str(b["date"]) for b in _batches(release) if "date" in b]
    )


def _metrics(model: Release) -> dict[str, float]:
    return {k: v for k, v in _dict(model.get("statistics", "metrics")).items() if isinstance(v, int | float)}


def _mlflow(model: Release) -> dict:
    """Where the model was logged and registered: ``statistics.mlflow`` (or a top-level ``mlflow``)."""
    return _dict(model.get("statistics", "mlflow")) or _dict(model.get("mlflow"))


def _model_summary(model: Release | None) -> str:
    if model is None:
        return "-"
    version, accuracy = _mlflow(model).get("model_version"), _metrics(model).get("test_accuracy")
    shown = [
        f"version {version}" if version is not None else "",
        f"test accuracy {count(accuracy)}" if accuracy is not None else "",
    ]
    return esc(", ".join(s for s in shown if s) or "trained")


def section(releases: list[Release]) -> str:
    """The index's Releases section (empty when the store holds none)."""
    if not releases:
        return ""
    rows = [
        [
            f'<a href="{esc(r.page)}">{esc(r.name)}</a>',
            esc(r.get("stage", "name", default="?")),
            esc(_window(r)),
            str(len(_days(r))),
            esc(", ".join(map(str, _list(r.get("release", "missing")))) or "-"),
            esc(r.get("release", "source", default="?")),
            esc(count(r.get("statistics", "rows"))),
            _model_summary(r.model),
        ]
        for r in releases
    ]
    header = ["release", "stage", "window", "days", "missing days", "built from", "rows", "model"]
    return "<h2>Releases</h2><p>Training sets built across days.</p>" + html_table(header, rows, raw=True)


# -- a release's page --------------------------------------------------------------------------------------


def _reasons(counts) -> str:
    by_reason = _dict(counts).get("by_reason")
    if not isinstance(by_reason, dict):
        return "-"
    return ", ".join(f"{reason} {count(n)}" for reason, n in sorted(by_reason.items())) or "none"


def _facts(release: Release, names: set[str]) -> str:
    stats = _dict(release.get("statistics"))
    days, missing = _days(release), [str(d) for d in _list(release.get("release", "missing"))]
    cleaned = release.get("release", "cleaned_from")
    rows = [
        ["dataset", esc(release.get("dataset", default=""))],
        ["stage", esc(release.get("stage", "name", default="?"))],
        ["window", esc(_window(release))],
        ["built from", esc(release.get("release", "source", default="?"))],
        *([["cleaned from", _release_link(cleaned, names)]] if cleaned else []),
        ["days", f"{len(days)}: {esc(', '.join(days)) or '-'}"],
        ["missing days", f"{len(missing)}: {esc(', '.join(missing))}" if missing else "none"],
        ["rows", esc(f"{count(stats.get('rows'))} (input {count(stats.get('input_rows'))})")],
        ["duplicates removed", esc(_reasons(stats.get("duplicates_removed")))],
        ["quarantined", esc(_reasons(stats.get("quarantined")))],
        ["sha1", f'<span class="mono">{esc(release.get("sha1", default=""))}</span>'],
        ["created", esc(release.get("created_at", default=""))],
        ["code version", esc(release.get("code_version", default=""))],
    ]
    return html_table(["", ""], rows, raw=True)


def _release_link(name, names: set[str]) -> str:
    return f'<a href="{esc(name)}.html">{esc(name)}</a>' if name in names else esc(name)


def _batch_table(release: Release, link: Callable[[str], str | None]) -> str:
    batches = sorted(_batches(release), key=lambda b: str(b.get("date", "")))
    if not batches:
        return "<p>This release's sidecar lists no batches (<code>statistics.batches</code>).</p>"
    rules = sorted({rule for b in batches for rule in _dict(b.get("dropped"))})
    rows, numbers = [], []
    for b in batches:
        href = link(b["key"]) if isinstance(b.get("key"), str) else None
        day = esc(b.get("date", "?"))
        numbers.append(
            [b.get("rows"), b.get("contributed"), *(_dict(b.get("dropped")).get(r, 0) for r in rules)]
        )
        sha1 = f'<span class="mono">{esc(str(b.get("sha1") or "")[:12])}</span>'
        rows.append(
            [f'<a href="{esc(href)}">{day}</a>' if href else day, sha1, *(esc(count(n)) for n in numbers[-1])]
        )
    totals = [sum(n for n in column if isinstance(n, int)) for column in zip(*numbers, strict=True)]
    rows.append(["<b>total</b>", "", *(f"<b>{count(n)}</b>" for n in totals)])
    header = ["date", "batch sha1", "rows in", "contributed", *(f"dropped: {r}" for r in rules)]
    return html_table(header, rows, raw=True)


def _order(found, first: Iterable[str]) -> list[str]:
    """``first`` (those of them found), then the rest of ``found`` by name."""
    first = [name for name in first if name in found]
    return first + sorted(set(found) - set(first))


def _splits(release: Release) -> str:
    parts = []
    splits = {s: n for s, n in _dict(release.get("statistics", "splits")).items() if isinstance(n, int)}
    if splits:
        total = sum(splits.values()) or 1
        rows = [[s, count(splits[s]), percent(splits[s] / total)] for s in _order(splits, SPLITS)]
        parts.append("<h2>Splits</h2>" + html_table(["split", "rows", "share"], rows))
    balance = _dict(release.get("statistics", "class_balance"))
    names = _order(balance, SPLITS)
    stacks = [{c: n for c, n in _dict(balance[s]).items() if isinstance(n, int)} for s in names]
    if any(stacks):
        taxonomy = [
            c.get("name") for c in _list(release.get("taxonomy", "categories")) if isinstance(c, dict)
        ]
        classes = _order({c for stack in stacks for c in stack}, taxonomy)
        rows = [
            [c, *(count(st.get(c, 0)) for st in stacks), count(sum(st.get(c, 0) for st in stacks))]
            for c in classes
        ]
        chart = stacked_bars(
            f"Class balance of release {release.name} per split", names, stacks, classes, "split"
        )
        parts += ["<h2>Class balance per split</h2>", html_table(["class", *names, "all"], rows), chart]
    return "".join(parts)


def _taxonomy(release: Release) -> str:
    categories = [c for c in _list(release.get("taxonomy", "categories")) if isinstance(c, dict)]
    if not categories:
        return ""
    where = " ".join(str(v) for v in (release.get("taxonomy", "path"), release.get("taxonomy", "sha1")) if v)
    rows = [[c.get("name", "?"), c.get("description", "")] for c in categories]
    return (
        "<h2>Taxonomy</h2>"
        + (f'<p class="mono">{esc(where)}</p>' if where else "")
        + html_table(["category", "description"], rows)
    )


def _model(model: Release | None) -> str:
    if model is None:
        return "<h2>Model</h2><p>No model has been trained on this release yet.</p>"
    metrics = _metrics(model)
    tested = {k: v for k, v in metrics.items() if k.startswith("test_")} or metrics
    rows = [[k, count(tested[k])] for k in _order(tested, ("test_accuracy", "test_macro_f1"))]
    mlflow = _mlflow(model)
    registered = (
        f"{mlflow.get('model_name', '?')} version {mlflow.get('model_version', '?')}"
        if mlflow.get("model_name") or mlflow.get("model_version") is not None
        else "not registered"
    )
    facts = [
        ["dataset", model.get("dataset", default="")],
        ["stage", model.get("stage", "name", default="?")],
        ["registered model", registered],
        ["MLflow run", mlflow.get("run_id", "-")],
    ]
    return (
        "<h2>Model</h2>"
        + (f"<p>Its sidecar does not validate:</p><pre>{esc(model.problem)}</pre>" if model.problem else "")
        + html_table(["", ""], facts)
        + ("<h3>Test metrics</h3>" + html_table(["metric", "value"], rows) if rows else "<p>No metrics.</p>")
    )


def page(release: Release, link: Callable[[str], str | None], names: set[str] = frozenset()) -> str:
    """The release's page; ``link(key)``: the catalog page of the dataset at ``key`` (None: it has none);
    ``names``: the releases that have a page."""
    problem = (
        '<p class="warn">This sidecar does not validate against schemas/sidecar.schema.json; what it holds '
        f"is shown as it is:</p><pre>{esc(release.problem)}</pre>"
        if release.problem
        else ""
    )
    body = (
        problem
        + _facts(release, names)
        + "<h2>Batches</h2><p>What each day's batch brought in, and what the release's rules dropped.</p>"
        + _batch_table(release, link)
        + _splits(release)
        + _taxonomy(release)
        + _model(release.model)
    )
    return html_page(f"Release {release.name}", body, root="../")


def pages(releases: list[Release], link: Callable[[str], str | None]) -> dict[str, str]:
    names = {release.name for release in releases}
    return {release.page: page(release, link, names) for release in releases}
