"""Data quality: six dimensions measured on every dataset, gates that stop a bad one, drift between batches.

A ``Profile`` watches every row a step writes (and the keys of every row it reads) and keeps only small
per-document digests. At commit ``report`` turns it into the sidecar's ``quality`` section:

- ``completeness``: rows, the non-null (and non-empty) share of each column, blank main text
- ``uniqueness``: duplicate URLs and duplicate main text
- ``validity``: contract pass rate, quarantine rate, future timestamps, malformed URLs, unknown categories
- ``timeliness``: age of the newest and oldest record at the end of the batch date
- ``consistency``: the same URL keeps its title and category from the layer below; identical text, one label
- ``accuracy``: labels against a gold-standard sample, when one is configured
- ``drift``: the batch's profile against earlier dates'

``evaluate`` checks the report against the gates of ``config/quality.yaml``.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from medallion.core import config
from medallion.core.timestamps import end_of_day, parse_timestamp
from medallion.transforms.urls import InvalidURL, canonicalize

DIMENSIONS = ("completeness", "uniqueness", "validity", "timeliness", "consistency", "accuracy")
# The column whose text a dataset is about: blank or duplicated, it makes the row worthless.
TEXT_COLUMN = {
    "raw": "html",
    "url-normalization": "html",
    "html-parsing": "content",
    "text-normalization": "text",
    "annotated": "text",
    "post-train": "text",
}
GOLD_SAMPLE_KEY = f"{config.DATASET_ROOT}/reference/gold-sample.json"


class QualityConfigError(config.ConfigError):
    """``config/quality.yaml`` is missing or malformed."""


def _digest(text: str) -> int:
    # Keys live in this process's memory only, so Python's own string hash serves: no copy of a page to
    # encode, and one collision in 2**64 pairs.
    return hash(text)


def _rate(part: int | float, whole: int | float) -> float:
    return round(part / whole, 4) if whole else 0.0


# -- configuration -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Gate:
    check: str  # <dimension>.<measure>
    op: str  # min or max
    threshold: float
    severity: str = "error"  # error fails the step; warn only reports

    def holds(self, value: float) -> bool:
        return value >= self.threshold if self.op == "min" else value <= self.threshold


@dataclass(frozen=True)
class QualityConfig:
    path: Path
    sha1: str
    categories: tuple[str, ...]
    gold_sample: str
    min_gold_overlap: int
    drift: dict[str, float]
    gates: dict[str, tuple[Gate, ...]]  # stage name (or "*") -> gates

    def gates_for(self, stage: str) -> tuple[Gate, ...]:
        chosen = {gate.check: gate for gate in self.gates.get("*", ())}
        chosen.update({gate.check: gate for gate in self.gates.get(stage, ())})
        return tuple(chosen.values())


def config_path() -> Path:
    return config.config_dir() / "quality.yaml"


def load_config(path: Path | None = None) -> QualityConfig:
    path = path or config_path()
    try:
        raw = path.read_bytes()
        data = yaml.safe_load(raw)
    except OSError as exc:
        raise QualityConfigError(f"cannot read the quality configuration {path}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise QualityConfigError(f"{path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise QualityConfigError(f"{path} must be a mapping with categories, accuracy, drift and gates")
    gates: dict[str, tuple[Gate, ...]] = {}
    for stage, checks in (data.get("gates") or {}).items():
        parsed = []
        for check, rule in (checks or {}).items():
            if check.split(".", 1)[0] not in (*DIMENSIONS, "drift") or "." not in check:
                raise QualityConfigError(
                    f"{path}: gate {check!r} of {stage} must be <dimension>.<measure>, dimension one of "
                    f"{', '.join(DIMENSIONS)}, drift"
                )
            ops = [op for op in ("min", "max") if op in (rule or {})]
            severity = (rule or {}).get("severity", "error")
            if len(ops) != 1 or severity not in ("error", "warn"):
                raise QualityConfigError(
                    f"{path}: gate {stage}.{check} needs exactly one of min/max and severity error or warn"
                )
            parsed.append(Gate(check, ops[0], float(rule[ops[0]]), severity))
        gates[stage] = tuple(parsed)
    accuracy = data.get("accuracy") or {}
    return QualityConfig(
        path=path,
        sha1=hashlib.sha1(raw).hexdigest(),
        categories=tuple(data.get("categories") or ()),
        gold_sample=accuracy.get("gold_sample") or "",
        min_gold_overlap=int(accuracy.get("min_overlap", 20)),
        drift={k: float(v) for k, v in (data.get("drift") or {}).items()},
        gates=gates,
    )


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
        self.text_column = TEXT_COLUMN.get(kind)
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
        # Bronze holds URLs as crawled; every later layer must hold the canonical form.
        return self.kind == "raw" or canonical == url

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


def not_measured(why: str) -> dict:
    return {"measured": False, "why": why}


def report(
    profile: Profile,
    *,
    nulls: dict[str, int],
    input_rows: int,
    quarantined: dict[str, int],
    upstream: Profile | None,
    upstream_name: str | None,
    quality_config: QualityConfig,
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
        known = set(quality_config.categories)
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
    from medallion.core.store import NotFound, open_store

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
        return None, f"no gold-standard sample at {where} (set accuracy.gold_sample in config/quality.yaml)"
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


# -- drift -------------------------------------------------------------------------------------------------

DRIFT_DEFAULTS = {
    "history": 7,
    "rows_change": 0.5,
    "quarantine_rate_increase": 0.05,
    "text_length_change": 0.3,
    "distribution_distance": 0.15,
}


def _distance(a: dict[str, float], b: dict[str, float]) -> float:
    """Total variation distance between two share distributions (0 same, 1 disjoint)."""
    return round(sum(abs(a.get(k, 0.0) - b.get(k, 0.0)) for k in set(a) | set(b)) / 2, 4)


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def _mean_shares(distributions: list[dict[str, float]]) -> dict[str, float]:
    keys = sorted(set().union(*distributions))
    return {k: round(_mean([d.get(k, 0.0) for d in distributions]), 4) for k in keys}


def drift(current: dict, history: list[tuple[str, dict]], settings: dict[str, float] | None = None) -> dict:
    """This batch's profile against the mean of earlier batches'; each figure beyond its limit is an anomaly."""
    limits = {**DRIFT_DEFAULTS, **(settings or {})}
    history = history[-int(limits["history"]) :]
    if not history:
        return {**not_measured("no earlier batch of this dataset to compare with"), "profile": current}
    past = [profile for _date, profile in history]
    anomalies: list[dict] = []
    metrics: dict[str, dict] = {}

    def relative(name: str, limit: float) -> None:
        values = [p[name] for p in past if p.get(name) is not None]
        if current.get(name) is None or not values:
            return
        base = _mean(values)
        change = round((current[name] - base) / base, 4) if base else (0.0 if not current[name] else 1.0)
        metrics[name] = {"value": current[name], "baseline": round(base, 4), "change": change}
        if abs(change) > limit:
            anomalies.append(
                {"metric": name, "value": current[name], "baseline": round(base, 4), "change": change,
                 "limit": limit, "message": f"{name} changed by {change:+.0%} against the earlier batches "
                 f"(limit ±{limit:.0%})"}
            )  # fmt: skip

    relative("rows", limits["rows_change"])
    relative("mean_text_length", limits["text_length_change"])
    base_rate = _mean([p.get("quarantine_rate", 0.0) for p in past])
    increase = round(current["quarantine_rate"] - base_rate, 4)
    metrics["quarantine_rate"] = {
        "value": current["quarantine_rate"],
        "baseline": round(base_rate, 4),
        "change": increase,
    }
    if increase > limits["quarantine_rate_increase"]:
        anomalies.append(
            {"metric": "quarantine_rate", "value": current["quarantine_rate"], "baseline": round(base_rate, 4),
             "change": increase, "limit": limits["quarantine_rate_increase"],
             "message": f"quarantine rate rose by {increase:.1%} points against the earlier batches"}
        )  # fmt: skip
    for name in ("categories", "languages"):
        earlier = [p[name] for p in past if p.get(name)]
        if not current.get(name) or not earlier:
            continue
        baseline = _mean_shares(earlier)
        distance = _distance(current[name], baseline)
        metrics[name] = {"distance": distance, "baseline": baseline}
        if distance > limits["distribution_distance"]:
            moved = sorted(
                set(current[name]) | set(baseline),
                key=lambda k: -abs(current[name].get(k, 0) - baseline.get(k, 0)),
            )
            anomalies.append(
                {"metric": name, "distance": distance, "limit": limits["distribution_distance"],
                 "message": f"{name} mix moved by {distance:.2f} (total variation) against the earlier "
                 f"batches, most in: {', '.join(moved[:3])}"}
            )  # fmt: skip
    return {
        "baseline_dates": [day for day, _ in history],
        "metrics": metrics,
        "anomalies": anomalies,
        "anomaly_count": len(anomalies),
        "profile": current,
    }


# -- gates -------------------------------------------------------------------------------------------------


def lookup(report_: dict, check: str) -> tuple[float | None, str]:
    """The measured value of ``<dimension>.<measure>``, or None and why it was not measured."""
    dimension, measure = check.split(".", 1)
    section = report_.get(dimension) or {}
    if section.get("measured") is False:
        return None, section.get("why", "not measured")
    value = section.get(measure)
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None, f"{check} does not apply to this dataset"
    return value, ""


def evaluate(report_: dict, gates: tuple[Gate, ...]) -> list[dict]:
    """Each gate's outcome: passed, failed (with the measured value and threshold), or skipped (with why)."""
    results = []
    for gate in gates:
        value, why = lookup(report_, gate.check)
        result = {"check": gate.check, gate.op: gate.threshold, "severity": gate.severity}
        if value is None:
            results.append({**result, "status": "skipped", "why": why})
        else:
            results.append({**result, "value": value, "status": "passed" if gate.holds(value) else "failed"})
    return results


def failures(results: list[dict], severity: str = "error") -> list[dict]:
    return [r for r in results if r["status"] == "failed" and r["severity"] == severity]


def describe_failure(result: dict) -> str:
    op = "min" if "min" in result else "max"
    word = "below the minimum" if op == "min" else "above the maximum"
    return f"{result['check']} = {result['value']:g} is {word} {result[op]:g}"


# -- reading -----------------------------------------------------------------------------------------------


def table(quality: dict) -> str:
    """The report as a fixed-width table: dimension, measure, value, gate and its outcome."""
    gates = {r["check"]: r for r in quality.get("gates", [])}
    lines = [f"{'dimension':<13}{'measure':<26}{'value':>12}  {'gate':<14}status"]
    notes: list[str] = []
    for dimension in (*DIMENSIONS, "drift"):
        section = quality.get(dimension) or {}
        if section.get("measured") is False:
            lines.append(f"{dimension:<13}{'(not measured)':<26}{'':>12}  {'':<14}{section.get('why', '')}")
            continue
        for measure, value in section.items():
            if isinstance(value, dict | list) or measure in ("measured",):
                continue
            gate = gates.get(f"{dimension}.{measure}")
            bound = ""
            status = ""
            if gate:
                op = "min" if "min" in gate else "max"
                bound = f"{op} {gate[op]:g}"
                status = gate["status"].upper() if gate["status"] == "failed" else gate["status"]
                if gate["status"] == "failed" and gate["severity"] == "warn":
                    status = "WARN"
            if isinstance(value, str):
                notes.append(f"{dimension}.{measure}: {value}")
                continue
            shown = f"{value:.4g}" if isinstance(value, float) else str(value)
            lines.append(f"{dimension:<13}{measure:<26}{shown:>12}  {bound:<14}{status}")
        if dimension == "completeness":
            for column, share in (section.get("non_null") or {}).items():
                lines.append(f"{'':<13}{'non_null.' + column:<26}{share:>12.4g}")
    lines += notes
    for anomaly in (quality.get("drift") or {}).get("anomalies", []):
        lines.append(f"drift anomaly: {anomaly['message']}")
    for gate in quality.get("gates", []):
        if gate["status"] == "skipped":
            lines.append(f"gate {gate['check']} skipped: {gate['why']}")
    verdict = "passed" if quality.get("passed", True) else "FAILED"
    lines.append(f"gates: {verdict}")
    return "\n".join(lines)


def earlier_profiles(store, folder: str, dataset: str, date: str, n: int) -> list[tuple[str, dict]]:
    """The drift profiles of the ``n`` latest batches before ``date`` of the dataset in ``folder``<date>/."""
    from medallion.core.datasets import read_meta
    from medallion.core.sidecar import SIDECAR_SUFFIX

    days = []
    for key in store.list(folder):
        day, _, name = key[len(folder) :].partition("/")
        if name == dataset + SIDECAR_SUFFIX and len(day) == 10 and day < date:
            days.append(day)
    found = []
    for day in sorted(days)[-n:] if n > 0 else []:
        meta = read_meta(store, f"{folder}{day}/{dataset}") or {}
        profile = ((meta.get("quality") or {}).get("drift") or {}).get("profile")
        if profile:
            found.append((day, profile))
    return found
