"""Label Studio: import human labels from a JSON export, and export unlabeled documents as tasks."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from xml.sax.saxutils import quoteattr

from medallion.transforms.urls import InvalidURL, canonicalize


@dataclass(frozen=True)
class HumanLabel:
    url: str
    annotator: str
    category: str


@dataclass
class ImportReport:
    tasks: int = 0
    annotations: int = 0
    labels: list[HumanLabel] = field(default_factory=list)
    unmatched_tasks: list[str] = field(default_factory=list)
    unlabeled_documents: list[str] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)
    per_document: dict[str, dict[str, str]] = field(default_factory=dict)


def load_export(data: bytes | str | list) -> list[dict]:
    """The export's tasks; a clear ValueError when it is not a Label Studio JSON export."""
    if isinstance(data, list):
        tasks = data
    else:
        try:
            tasks = json.loads(data)
        except json.JSONDecodeError as exc:
            raise ValueError(
                f"not JSON ({exc.msg} at line {exc.lineno}): export the project as 'JSON'"
            ) from exc
    if not isinstance(tasks, list) or not all(isinstance(t, dict) for t in tasks):
        raise ValueError("expected a JSON list of tasks, each an object with 'data' and 'annotations'")
    return tasks


def _annotator(annotation: dict) -> str:
    who = annotation.get("completed_by")
    if isinstance(who, dict):
        return str(who.get("email") or who.get("id") or "unknown")
    return str(who) if who is not None else "unknown"


def import_labels(
    export: list[dict],
    document_urls: Iterable[str],
    categories: Iterable[str] | None = None,
    from_name: str | None = None,
) -> ImportReport:
    """Match tasks to documents by canonical URL and collect each annotator's choice."""
    documents = set(document_urls)
    known = set(categories) if categories is not None else None
    report = ImportReport(tasks=len(export))
    for task in export:
        task_id = str(task.get("id", "?"))
        raw_url = (task.get("data") or {}).get("url")
        try:
            url = canonicalize(raw_url)
        except InvalidURL as exc:
            report.invalid.append(f"task {task_id}: data.url {raw_url!r} is not a usable URL ({exc.reason})")
            continue
        if url not in documents:
            report.unmatched_tasks.append(f"task {task_id}: {url}")
            continue
        for annotation in task.get("annotations") or []:
            if annotation.get("was_cancelled"):
                continue
            choices = [
                choice
                for result in annotation.get("result") or []
                if result.get("type") == "choices"
                and (from_name is None or result.get("from_name") == from_name)
                for choice in (result.get("value") or {}).get("choices") or []
            ]
            if not choices:
                continue
            report.annotations += 1
            category = choices[0]
            if known is not None and category not in known:
                report.invalid.append(f"task {task_id}: unknown category {category!r}")
                continue
            annotator = _annotator(annotation)
            report.labels.append(HumanLabel(url, annotator, category))
            report.per_document.setdefault(url, {})[annotator] = category
    report.unlabeled_documents = sorted(documents - set(report.per_document))
    return report


def export_tasks(documents: Iterable[Mapping], categories: Sequence[str]) -> list[dict]:
    """Documents as Label Studio tasks, in input order."""
    return [
        {"data": {"url": d["url"], "title": d.get("title", ""), "text": d.get("text", "")}} for d in documents
    ]


def labeling_config(categories: Sequence[str], hints: Mapping[str, str] | None = None) -> str:
    """The project's labeling interface: the text and one choice of category, each with its description as
    the hint an annotator sees (``hints``: name -> description)."""
    hints = hints or {}
    choices = "".join(
        f"<Choice value={quoteattr(c)}" + (f" hint={quoteattr(hints[c])}" if hints.get(c) else "") + "/>"
        for c in categories
    )
    return (
        '<View><Header value="$title"/><Text name="text" value="$text"/>'
        f'<Choices name="category" toName="text" choice="single" showInline="true">{choices}</Choices></View>'
    )
