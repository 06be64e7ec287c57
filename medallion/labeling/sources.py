"""Where the gold layer's labels come from: one ``LabelSource`` per provider, picked by ``--label-source``.

A source has an identity (the dataset's parameters and its entry in the sidecar's sources and process), is
set up from the step's options before anything is opened, loads what it needs for one batch, then labels
each document or says why not (a quarantine reason). The annotation step owns the rest: the row loop, the
rejects and the commit. A new provider is one ``LabelSource`` class and one entry in ``SOURCES``.

- ``api``: the paid labeling API (``LABELER_NAME``, ``LABELER_URL``, ``LABELER_TOKEN``), asked within the
  taxonomy, through the store's label cache, so a label paid for once is never paid again;
- ``llm``: a chat model (``--llm-model``) behind an OpenAI-compatible endpoint (``OPENAI_BASE_URL``,
  ``OPENAI_API_KEY``, ``LLM_NAME``), asked within the taxonomy, through the same cache (medallion/labeling/llm.py);
- ``label-studio:FILE``: human labels from a Label Studio JSON export, the majority of each document's
  annotators; choices must be among the taxonomy's categories.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from medallion.core import config, sidecar
from medallion.core.errors import StepFailed
from medallion.core.store_interface import Store
from medallion.core.taxonomy import Taxonomy
from medallion.core.taxonomy import load as load_taxonomy
from medallion.labeling.agreement import agreement_report, majority_label
from medallion.labeling.api import LabelCache, LabelingClient, LabelingFailed, Usage, labeler_id
from medallion.labeling.labelstudio import import_labels, load_export
from medallion.labeling.llm import LlmLabels
from medallion.labeling.source import (
    Documents,
    Identity,
    Labeled,
    LabelSource,
    LabelSourceError,
    Unlabeled,
    copy_cache,
    unchanged,
)
from medallion.transforms.urls import canonicalize


class ApiLabels(LabelSource):
    """The paid labeling API, asked within the taxonomy; every paid label is cached in the store under the
    labeler's name and the taxonomy's SHA1. An answer outside the taxonomy is quarantined
    (``category-outside-taxonomy``), on every run: it is cached as given and checked when read."""

    kind = "api"

    def __init__(self, argument: str | None, args: argparse.Namespace):
        self.options = args
        self.settings = config.labeler_settings()
        self.name = ""
        self.labels: dict = {}
        self.usage = Usage()
        self.categories: Counter[str] = Counter()
        self.taxonomy: Taxonomy | None = None

    def identify(self, version: str, committed: dict | None, force: bool) -> Identity:
        labeler, recorded = self.settings, _committed_labeler(committed)
        # Nothing set (say `medallion run` after the demo): the committed labeler is assumed, for the
        # up-to-date check only; rebuilding needs the API's settings (prepare).
        self.name = name = labeler.name or recorded or labeler.require().name
        if recorded and name != recorded and not force:
            raise StepFailed(
                f"[{committed['stage']['name']}] {committed['date']} is committed with labels of {recorded!r}, "
                f"this run's labeler is {name!r}; nothing was overwritten. Set LABELER_NAME={recorded} if it is "
                "the same service (its paid labels are cached under that name), or rerun with --force to "
                "relabel (paid again)."
            )
        # The taxonomy is part of the question: another taxonomy, other labels (parameters and label cache).
        self.taxonomy = load_taxonomy()
        # The name is the labeler's identity (parameters, source, label cache); the URL is information only.
        where = {"url": labeler.url} if labeler.url else {}
        process = {
            "name": "labeling-api",
            "description": "Each document's normalized text is categorized by the external labeling API "
            "(schemas/labeling-api.openapi.yaml) within the taxonomy's categories; labels are cached by "
            "text SHA1, labeler name and taxonomy SHA1.",
            "params": {
                "labeler": name,
                "taxonomy": self.taxonomy.sha1,
                **where,
                "batch_size": self.options.batch_size,
                "concurrency": self.options.concurrency,
            },
        }
        return Identity(
            params={
                "version": version,
                "label_source": "api",
                "labeler": name,
            },
            source={"uri": f"labeler:{name}", "kind": "api", **where},
            process=[process],
        )

    def prepare(self, store: Store, documents: Documents, taxonomy: Taxonomy) -> list[str]:
        if not self.settings.name:
            self.settings.require()
        self.taxonomy = unchanged(self.taxonomy, taxonomy)
        cache = LabelCache(store, labeler_id(self.name), taxonomy.sha1)
        # Only the small (url, text) pairs are held: a few kB per document for one day's batch.
        pairs = [(row["url"], row["text"]) for row in documents.records(columns=["url", "text"])]
        labels, self.usage = cache.lookup(pairs), Usage(cached=len(pairs))
        if labels is None:  # some labels are still to be paid for: only now is the API needed
            labeler, options = self.settings.require(), self.options
            client = LabelingClient(
                labeler.url,
                labeler.token,
                taxonomy,
                batch_size=options.batch_size,
                concurrency=options.concurrency,
                timeout=options.timeout,
                max_retries=options.max_retries,
                budget=options.budget,
            )
            try:
                labels = client.label(pairs, cache)
            except LabelingFailed as exc:  # BudgetExhausted too
                raise StepFailed(f"{exc} (usage this run: {client.usage.as_dict()})") from exc
            self.usage = client.usage
        self.labels = labels
        return []

    @classmethod
    def replay(cls, meta: dict, store: Store, scratch: Store) -> tuple[list[str], dict[str, str]]:
        # Labels come from the recorded labeler's cache under the recorded taxonomy, copied into scratch:
        # no URL, nothing is paid (the taxonomy in effect must be the recorded one, or labels are missing).
        name = meta["parameters"]["labeler"]
        copy_cache(meta, store, scratch, labeler_id(name))
        return ["--label-source", cls.kind], {"LABELER_NAME": name, "LABELER_URL": ""}

    def label(self, row: dict) -> Labeled | Unlabeled:
        label = self.labels.get(row["url"])
        if label is None or not label.category:
            return Unlabeled("unlabelable", "the labeling API returned no category for this document")
        names = self.taxonomy.names
        if label.outside(names):
            return Unlabeled(
                "category-outside-taxonomy",
                f"the labeling API answered {label.category!r}, which is not in the taxonomy "
                f"({', '.join(names)})",
            )
        self.categories[label.category] += 1
        return Labeled(label.category, label.confidence, 1, f"api:{self.name}")

    def statistics(self) -> dict:
        return {"labeling": self.usage.as_dict(), "categories": dict(sorted(self.categories.items()))}

    def summary(self) -> list[str]:
        usage = self.usage
        return [
            f"labeling: {usage.paid} documents paid for, {usage.cached} from the cache, "
            f"{usage.requests} requests, {usage.retries} retries"
        ]


def _committed_labeler(committed: dict | None) -> str | None:
    """The labeler named in the committed dataset's parameters, if the API labeled it."""
    params = (committed or {}).get("parameters") or {}
    return params.get("labeler") if params.get("label_source") == "api" else None


class LabelStudioLabels(LabelSource):
    """Human labels from a Label Studio JSON export, matched to documents by canonical URL.

    With several annotators per document the majority label wins, and agreement (Cohen's and Fleiss'
    kappa, accuracy against the ``--gold`` sample) is measured; agreement below the threshold is a warning.
    Tasks that match no document are counted and reported."""

    kind = "label-studio"
    argument = "FILE"
    AGREEMENT_THRESHOLD = 0.8

    @classmethod
    def check(cls, argument: str | None) -> None:
        if not Path(argument or "").is_file():
            raise LabelSourceError(
                f"--label-source {cls.kind}:{argument}: there is no such Label Studio export file"
            )

    def __init__(self, argument: str | None, args: argparse.Namespace):
        self.path = Path(argument or "")
        self.sha1 = sidecar.file_sha1(self.path)
        try:
            self.export = load_export(self.path.read_bytes())
        except ValueError as exc:
            raise StepFailed(f"cannot read the Label Studio export {argument}: {exc}") from exc
        gold_path = getattr(args, "gold", None)
        self.gold = _load_gold(gold_path) if gold_path else None
        self.report = None
        self.agreement: dict = {}

    def identify(self, version: str, committed: dict | None, force: bool) -> Identity:
        params = {
            "version": version,
            "label_source": "label-studio",
            "export_sha1": self.sha1,
            "agreement_threshold": self.AGREEMENT_THRESHOLD,
        }
        process = {
            "name": "label-studio-majority",
            "description": "Human labels from a Label Studio export, "
            "matched by canonical URL; the majority label of each document's annotators.",
            "params": params,
        }
        source = {"uri": str(self.path.resolve()), "kind": "file", "sha1": self.sha1}
        return Identity(params=params, source=source, process=[process])

    def prepare(self, store: Store, documents: Documents, taxonomy: Taxonomy) -> list[str]:
        urls = [row["url"] for row in documents.records(columns=["url"])]
        self.report = import_labels(self.export, urls, categories=taxonomy.names)
        self.agreement = agreement_report(
            self.report.per_document, gold=self.gold, threshold=self.AGREEMENT_THRESHOLD
        )
        return [f"warning: {warning}" for warning in self.agreement.get("warnings", [])]

    @classmethod
    def replay(cls, meta: dict, store: Store, scratch: Store) -> tuple[list[str], dict[str, str]]:
        (export,) = [s for s in meta["sources"] if s["kind"] == "file"]
        return ["--label-source", f"{cls.kind}:{export['uri']}"], {}

    def label(self, row: dict) -> Labeled | Unlabeled:
        votes = self.report.per_document.get(row["url"], {})
        label = majority_label(list(votes.values()))
        if label is None:
            return Unlabeled("no-human-label", "no annotator labeled this document")
        share = sum(1 for v in votes.values() if v == label) / len(votes)
        return Labeled(label, round(share, 4), len(votes), "label-studio")

    def statistics(self) -> dict:
        report = self.report
        return {
            "human_labels": {
                "tasks": report.tasks,
                "annotations": report.annotations,
                "unmatched_tasks": len(report.unmatched_tasks),
                "invalid": len(report.invalid),
                "unlabeled_documents": len(report.unlabeled_documents),
            },
            "agreement": self.agreement,
        }


def _load_gold(path: str) -> dict[str, str]:
    """A gold-standard sample: JSON {url: category} (canonical URLs)."""
    return {canonicalize(url): category for url, category in json.loads(Path(path).read_text()).items()}


# kind -> source; --label-source is "<kind>" or "<kind>:<argument>".
SOURCES: dict[str, type[LabelSource]] = {
    "api": ApiLabels,
    "llm": LlmLabels,
    "label-studio": LabelStudioLabels,
}


def forms() -> str:
    """How --label-source may be written: 'api' or 'llm' or 'label-studio:FILE'."""
    return " or ".join(
        f"'{kind}:{cls.argument}'" if cls.argument else f"'{kind}'" for kind, cls in SOURCES.items()
    )


def parse(spec: str) -> tuple[type[LabelSource], str | None]:
    """The source ``spec`` names and its argument, checked; a LabelSourceError when it is wrong."""
    kind, colon, argument = spec.partition(":")
    cls = SOURCES.get(kind)
    if cls is None or bool(colon) != (cls.argument is not None):
        raise LabelSourceError(f"--label-source must be {forms()}, got {spec!r}")
    cls.check(argument if colon else None)
    return cls, argument if colon else None


def create(spec: str, args: argparse.Namespace) -> LabelSource:
    """The source ``spec`` names, set up from the step's options."""
    cls, argument = parse(spec)
    return cls(argument, args)
