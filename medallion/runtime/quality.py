"""Data quality: six dimensions measured on every dataset, gates that stop a bad one, drift between batches.

A ``Profile`` watches every row a step writes (and the keys of every row it reads) and keeps only small
per-document digests. At commit ``report`` turns it into the sidecar's ``quality`` section:

- ``completeness``: rows, the non-null (and non-empty) share of each column, blank main text
- ``uniqueness``: duplicate URLs and duplicate main text
- ``validity``: contract pass rate, quarantine rate, future timestamps, malformed URLs, unknown categories
- ``timeliness``: age of the newest and oldest record at the end of the batch date
- ``consistency``: the same URL keeps its title and category from the layer below; identical text, one label
- ``accuracy``: labels against a gold-standard sample, when one is configured
- ``drift``: the batch's profile against earlier dates' (``quality_drift``)

The gates of ``medallion/config/quality.yaml`` (loading that configuration, evaluating a report against
it, printing a report as a table) are in ``quality_gates``; this module measures.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

from medallion.core import config, pipeline
from medallion.core.timestamps import end_of_day, parse_timestamp
from medallion.runtime.quality_drift import drift
from medallion.runtime.quality_gates import (
    QualityConfig,
    QualityConfigError,
    not_measured,
)
from medallion.transforms.urls import InvalidURL, canonicalize

GOLD_SAMPLE_KEY = f"{config.DATASET_ROOT}/reference/gold-sample.json"


def _stage(kind: str) -> pipeline.Stage | None:
    """The stage a dataset kind is; None for a step's extra outputs, which are not stages (label-issues)."""
    try:
        return pipeline.stage(kind)
    except KeyError:
        return None


def _digest(text: str) -> int:
    # Keys live in this process's memory only, so Python's own string hash serves: no copy of a page to
    # encode, and one collision in 2**64 pairs.
    return hash(text)


def _rate(part: int | float, whole: int | float) -> float:
    return round(part / whole, 4) if whole else 0.0


# -- measuring ---------------------------------------------------------------------------------------------


class Profile:
    """What quality needs to remember of a dataset's rows: counts and small digests per document.

    ``keys_only`` profiles an input: only each URL's title and category, to compare the output with.
    """

    def __init__(self, kind: str, date: str, keys_only: bool = False, titles: bool = True):
        self.kind = kind
        self.keys_only = keys_only
        self.track_titles = titles  # only worth the memory when there are titles to compare with
        self.end = end_of_day(date)
        stage = _stage(kind)
        self.text_column = (stage.text_column or None) if stage else None  # the column its text is about
        self.canonical_urls = stage is None or stage.layer != "bronze"  # bronze holds URLs as crawled
        self.rows = 0
        self.urls: set[int] = set()
        self.url_duplicates = 0
        self.invalid_urls = 0
        self.texts: dict[int, str | None] = {}
        self.text_duplicates = 0
        self.text_conflicts: set[int] = set()
        self.empty_text = 0
        self.text_chars = 0
        self.newest: datetime | None = None
        self.oldest: datetime | None = None
        self.future = 0
        self.bad_timestamps = 0
        self.categories: Counter[str] = Counter()
        self.languages: Counter[str] = Counter()
        self.titles: dict[int, int] = {}  # url digest -> title digest
        self.labels: dict[int, str] = {}  # url digest -> category (rows not relabeled on purpose)
        self.columns: set[str] = set()

    def add(self, row: dict) -> None:
        url = row.get("url")
        key = _digest(url) if isinstance(url, str) else None
        if key is not None and self.track_titles and isinstance(row.get("title"), str):
            self.titles[key] = _digest(row["title"])
        category = row.get("category")
        if key is not None and isinstance(category, str) and row.get("original_category") is None:
            self.labels[key] = category
        if self.keys_only:
            return
        self.rows += 1
        self.columns.update(row)
        if key is not None:
            if key in self.urls:
                self.url_duplicates += 1
            self.urls.add(key)
            if not self._valid_url(url):
                self.invalid_urls += 1
        self._add_timestamp(row.get("timestamp"))
        if isinstance(category, str):
            self.categories[category] += 1
        if "language" in row:
            self.languages[row["language"] or "unknown"] += 1
        text = row.get(self.text_column) if self.text_column else None
        if isinstance(text, str):
            self.text_chars += len(text)
            if not text or text.isspace():
                self.empty_text += 1
            digest = _digest(text)
            if digest in self.texts:
                self.text_duplicates += 1
                earlier = self.texts[digest]
                if earlier is not None and category is not None and earlier != category:
                    self.text_conflicts.add(digest)
            else:
                self.texts[digest] = category if isinstance(category, str) else None

    def _valid_url(self, url: str) -> bool:
        try:
            canonical = canonicalize(url)
        except InvalidURL:
            return False
        return canonical == url or not self.canonical_urls

    def _add_timestamp(self, value: Any) -> None:
        if value is None:
            return
        if isinstance(value, str):
            try:
                value = parse_timestamp(value)
            except ValueError:
                self.bad_timestamps += 1
                return
        if not isinstance(value, datetime):
            self.bad_timestamps += 1
            return
        self.newest = value if self.newest is None or value > self.newest else self.newest
        self.oldest = value if self.oldest is None or value < self.oldest else self.oldest
        if value >= self.end:
            self.future += 1

    def summary(self, quarantine_rate: float) -> dict:
        """The figures drift compares between batches."""
        total_categories = sum(self.categories.values())
        total_languages = sum(self.languages.values())
        return {
            "rows": self.rows,
            "quarantine_rate": quarantine_rate,
            "mean_text_length": round(self.text_chars / self.rows, 1)
            if self.rows and self.text_column
            else None,
            "categories": {k: _rate(v, total_categories) for k, v in sorted(self.categories.items())},
            "languages": {k: _rate(v, total_languages) for k, v in sorted(self.languages.items())},
        }


def report(
    profile: Profile,
    *,
    nulls: dict[str, int],
    input_rows: int,
    quarantined: dict[str, int],
    upstream: Profile | None,
    upstream_name: str | None,
    quality_config: QualityConfig,
    categories: tuple[str, ...] = (),
    gold: dict[str, str] | None,
    gold_why: str,
    history: list[tuple[str, dict]],
) -> dict:
    """The quality report of a dataset (without gate results; see ``evaluate``)."""
    rows = profile.rows
    total_quarantined = sum(quarantined.values())
    contract_rejects = sum(n for reason, n in quarantined.items() if reason.startswith("contract:"))
    text = profile.text_column
    completeness = {
        "rows": rows,
        "non_null": {
            column: _rate(rows - missing, rows) if rows else 0.0 for column, missing in nulls.items()
        },
    }
    if text:
        completeness |= {"empty_text": profile.empty_text, "empty_text_rate": _rate(profile.empty_text, rows)}
    uniqueness = {
        "url_duplicates": profile.url_duplicates,
        "url_duplicate_rate": _rate(profile.url_duplicates, rows),
    }
    if text:
        uniqueness |= {
            "text_duplicates": profile.text_duplicates,
            "text_duplicate_rate": _rate(profile.text_duplicates, rows),
        }
    validity = {
        "contract_checked": rows + contract_rejects,
        "schema_pass_rate": _rate(rows, rows + contract_rejects) if rows + contract_rejects else 1.0,
        "quarantined": total_quarantined,
        "quarantine_rate": _rate(total_quarantined, input_rows),
        "future_timestamps": profile.future,
        "bad_timestamps": profile.bad_timestamps,
        "invalid_urls": profile.invalid_urls,
    }
    if profile.categories or "category" in profile.columns:
        known = set(categories)  # the taxonomy's names
        unknown = sum(n for c, n in profile.categories.items() if c not in known)
        validity |= {"unknown_categories": unknown, "unknown_category_rate": _rate(unknown, rows)}
    return {
        "completeness": completeness,
        "uniqueness": uniqueness,
        "validity": validity,
        "timeliness": _timeliness(profile),
        "consistency": _consistency(profile, upstream, upstream_name),
        "accuracy": _accuracy(profile, gold, gold_why, quality_config.min_gold_overlap),
        "drift": drift(profile.summary(validity["quarantine_rate"]), history, quality_config.drift),
    }


def _timeliness(profile: Profile) -> dict:
    if profile.newest is None:
        return not_measured("the dataset has no timestamps")
    hours = lambda moment: round((profile.end - moment).total_seconds() / 3600, 2)  # noqa: E731
    return {
        "reference": profile.end.isoformat().replace("+00:00", "Z"),
        "newest": profile.newest.isoformat().replace("+00:00", "Z"),
        "oldest": profile.oldest.isoformat().replace("+00:00", "Z"),
        "newest_age_hours": hours(profile.newest),
        "oldest_age_hours": hours(profile.oldest),
    }


def _consistency(profile: Profile, upstream: Profile | None, upstream_name: str | None) -> dict:
    result: dict[str, Any] = {}
    if profile.texts and any(c is not None for c in profile.texts.values()):
        labeled = sum(1 for c in profile.texts.values() if c is not None)
        result |= {
            "text_label_conflicts": len(profile.text_conflicts),
            "text_label_conflict_rate": _rate(len(profile.text_conflicts), labeled),
        }
    compared = False
    if upstream is not None and profile.titles and upstream.titles:
        shared = [k for k in profile.titles if k in upstream.titles]
        mismatches = sum(1 for k in shared if profile.titles[k] != upstream.titles[k])
        result |= {"title_compared": len(shared), "title_mismatches": mismatches}
        compared = True
    if upstream is not None and profile.labels and upstream.labels:
        shared = [k for k in profile.labels if k in upstream.labels]
        mismatches = sum(1 for k in shared if profile.labels[k] != upstream.labels[k])
        result |= {"category_compared": len(shared), "category_mismatches": mismatches}
        compared = True
    if compared:
        result["compared_with"] = upstream_name
    if not result:
        return not_measured(
            "neither this dataset nor the layer below it has titles or labels to compare"
            if upstream_name
            else "the first layer: nothing below it to compare with"
        )
    return result


def _accuracy(profile: Profile, gold: dict[str, str] | None, gold_why: str, min_overlap: int) -> dict:
    if not profile.labels and not profile.categories:
        return not_measured(
            "the dataset has no labels (extraction accuracy is measured by bench/extraction.py)"
        )
    if gold is None:
        return not_measured(gold_why)
    keyed = {_digest(url): category for url, category in gold.items()}
    shared = [k for k in profile.labels if k in keyed]
    if len(shared) < min_overlap:
        return not_measured(
            f"only {len(shared)} documents of the gold-standard sample are in this batch; "
            f"at least {min_overlap} are needed"
        )
    correct = sum(1 for k in shared if profile.labels[k] == keyed[k])
    return {"gold_documents": len(shared), "correct": correct, "accuracy": _rate(correct, len(shared))}


def load_gold(store, quality_config: QualityConfig) -> tuple[dict[str, str] | None, str]:
    """The gold-standard sample ``{canonical url: category}`` and, when there is none, why."""
    from medallion.core.store import open_store
    from medallion.core.store_interface import NotFound

    source = quality_config.gold_sample
    try:
        if source:
            if "://" in source:
                folder, _, name = source.rpartition("/")
                text = open_store(folder).read_bytes(name)
            else:
                text = Path(source).read_bytes()
        else:
            text = store.read_bytes(GOLD_SAMPLE_KEY)
    except (NotFound, FileNotFoundError):
        where = source or store.url(GOLD_SAMPLE_KEY)
        return (
            None,
            f"no gold-standard sample at {where} (set accuracy.gold_sample in medallion/config/quality.yaml)",
        )
    try:
        sample = json.loads(text)
    except ValueError as exc:
        raise QualityConfigError(f"the gold-standard sample is not JSON {{url: category}}: {exc}") from exc
    out = {}
    for url, category in sample.items():
        try:
            out[canonicalize(url)] = category
        except InvalidURL:
            continue
    return out, ""
