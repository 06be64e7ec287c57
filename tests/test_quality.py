"""The quality report's six dimensions, drift and gates, on plain rows (no store)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import yaml

from medallion.core import taxonomy
from medallion.runtime import quality, quality_drift, quality_gates

DAY = "2026-11-23"
CONFIG = quality_gates.load_config()


def row(url="https://a.example/x", title="A title", text="some text", **extra):
    return {
        "url": url,
        "title": title,
        "text": text,
        "timestamp": datetime(2026, 11, 23, 6, tzinfo=UTC),
        "language": "en",
        **extra,
    }


def measure(rows, kind="text-normalization", upstream_rows=(), gold=None, history=(), quarantined=None):
    profile = quality.Profile(kind, DAY)
    for r in rows:
        profile.add(r)
    upstream = quality.Profile("html-parsing", DAY, keys_only=True)
    for r in upstream_rows:
        upstream.add(r)
    nulls = {c: sum(1 for r in rows if r.get(c) in (None, "")) for c in sorted({k for r in rows for k in r})}
    quarantined = quarantined or {}
    return quality.report(
        profile,
        nulls=nulls,
        input_rows=len(rows) + sum(quarantined.values()),
        quarantined=quarantined,
        upstream=upstream if upstream_rows else None,
        upstream_name="file:///upstream" if upstream_rows else None,
        quality_config=CONFIG,
        categories=taxonomy.load().names,
        gold=gold,
        gold_why="no gold-standard sample configured",
        history=list(history),
    )


def test_completeness_counts_nulls_and_blank_text():
    report = measure([row(), row(url="https://a.example/y", text="   ", title="")])
    assert report["completeness"]["rows"] == 2
    assert report["completeness"]["non_null"]["title"] == 0.5
    assert report["completeness"]["empty_text"] == 1
    assert report["completeness"]["empty_text_rate"] == 0.5


def test_uniqueness_counts_duplicate_urls_and_texts():
    report = measure(
        [row(), row(), row(url="https://a.example/y"), row(url="https://a.example/z", text="other")]
    )
    assert report["uniqueness"]["url_duplicates"] == 1
    assert report["uniqueness"]["text_duplicates"] == 2
    assert report["uniqueness"]["text_duplicate_rate"] == 0.5


def test_validity_finds_future_timestamps_bad_urls_unknown_categories_and_rates():
    future = row(url="https://a.example/f", timestamp=datetime(2026, 11, 24, 0, 0, 1, tzinfo=UTC))
    not_canonical = row(url="https://WWW.a.example/x?utm_source=z")
    report = measure(
        [future, not_canonical, row(url="https://a.example/c", category="weather")],
        kind="annotated",
        quarantined={"contract:text:minlength": 1, "unlabelable": 1},
    )
    validity = report["validity"]
    assert validity["future_timestamps"] == 1
    assert validity["invalid_urls"] == 1
    assert validity["unknown_categories"] == 1
    assert validity["quarantine_rate"] == round(2 / 5, 4)
    assert validity["schema_pass_rate"] == 0.75  # 3 written of 4 the contract saw


def test_raw_urls_are_valid_when_they_canonicalize():
    report = measure([row(url="https://WWW.a.example/x?utm_source=z", html="<p>x</p>")], kind="raw")
    assert report["validity"]["invalid_urls"] == 0
    bad = measure([row(url="javascript:alert(1)", html="<p>x</p>")], kind="raw")
    assert bad["validity"]["invalid_urls"] == 1


def test_timeliness_is_age_at_the_end_of_the_batch_date():
    rows = [row(), row(url="https://a.example/y", timestamp=datetime(2026, 11, 22, 12, tzinfo=UTC))]
    report = measure(rows)
    assert report["timeliness"]["newest_age_hours"] == 18.0
    assert report["timeliness"]["oldest_age_hours"] == 36.0
    assert measure([{"url": "https://a.example/x", "text": "t"}])["timeliness"]["measured"] is False


def test_consistency_compares_titles_with_the_layer_below_and_labels_of_identical_text():
    rows = [
        row(category="sports"),
        row(url="https://a.example/y", text="some text", category="politics"),  # same text, other label
        row(url="https://a.example/z", text="else", category="sports"),
    ]
    upstream = [row(title="A title"), row(url="https://a.example/y", title="Changed title")]
    report = measure(rows, kind="annotated", upstream_rows=upstream)
    consistency = report["consistency"]
    assert consistency["title_compared"] == 2
    assert consistency["title_mismatches"] == 1
    assert consistency["text_label_conflicts"] == 1
    assert consistency["compared_with"] == "file:///upstream"
    first = measure([row()], kind="raw")
    assert first["consistency"] == {
        "measured": False,
        "why": "the first layer: nothing below it to compare with",
    }


def test_relabeled_rows_are_not_category_mismatches():
    upstream = quality.Profile("annotated", DAY, keys_only=True)
    upstream.add(row(category="sports"))
    upstream.add(row(url="https://a.example/y", category="sports"))
    profile = quality.Profile("post-train", DAY)
    profile.add(row(category="politics", original_category="sports"))  # relabeled on purpose
    profile.add(row(url="https://a.example/y", category="health", original_category=None))
    consistency = quality._consistency(profile, upstream, "u")
    assert consistency["category_compared"] == 1
    assert consistency["category_mismatches"] == 1


def test_accuracy_against_a_gold_sample_or_says_why_not():
    rows = [
        row(url=f"https://a.example/{i}", text=f"t{i}", category="sports" if i < 18 else "health")
        for i in range(20)
    ]
    gold = {f"https://a.example/{i}": "sports" for i in range(20)}
    report = measure(rows, kind="annotated", gold=gold)
    assert report["accuracy"] == {"gold_documents": 20, "correct": 18, "accuracy": 0.9}
    assert measure(rows, kind="annotated")["accuracy"] == {
        "measured": False,
        "why": "no gold-standard sample configured",
    }
    few = measure(rows[:5], kind="annotated", gold=gold)["accuracy"]
    assert few["measured"] is False and "only 5 documents" in few["why"]
    assert measure([row()])["accuracy"]["measured"] is False  # no labels at all


def test_drift_flags_each_kind_of_change_and_nothing_when_batches_agree():
    base = {
        "rows": 1000,
        "quarantine_rate": 0.01,
        "mean_text_length": 3000.0,
        "categories": {"sports": 0.5, "politics": 0.5},
        "languages": {"en": 0.97, "de": 0.03},
    }
    same = quality_drift.drift(dict(base), [("2026-11-21", base), ("2026-11-22", base)])
    assert same["anomalies"] == [] and same["anomaly_count"] == 0
    assert same["baseline_dates"] == ["2026-11-21", "2026-11-22"]
    shifted = {
        "rows": 300,
        "quarantine_rate": 0.2,
        "mean_text_length": 900.0,
        "categories": {"sports": 0.9, "politics": 0.1},
        "languages": {"en": 0.5, "de": 0.5},
    }
    flagged = quality_drift.drift(shifted, [("2026-11-22", base)])
    assert {a["metric"] for a in flagged["anomalies"]} == {
        "rows",
        "quarantine_rate",
        "mean_text_length",
        "categories",
        "languages",
    }
    assert flagged["metrics"]["categories"]["distance"] == 0.4
    assert quality_drift.drift(shifted, [])["measured"] is False


def test_drift_baseline_uses_only_the_configured_history():
    old = {"rows": 10, "quarantine_rate": 0.0}
    recent = {"rows": 1000, "quarantine_rate": 0.0}
    history = [("2026-11-01", old)] + [(f"2026-11-{d:02d}", recent) for d in range(10, 17)]
    result = quality_drift.drift({"rows": 1000, "quarantine_rate": 0.0}, history, {"history": 7})
    assert "2026-11-01" not in result["baseline_dates"] and result["anomalies"] == []


def violating(gate: quality_gates.Gate) -> dict:
    """A report in which ``gate``'s measure is just past its threshold."""
    dimension, measure_ = gate.check.split(".", 1)
    value = gate.threshold - 0.5 if gate.op == "min" else gate.threshold + 0.5
    return {dimension: {measure_: value}}


ALL_GATES = [(stage, gate) for stage, gates in CONFIG.gates.items() for gate in gates]


@pytest.mark.parametrize("stage,gate", ALL_GATES, ids=[f"{s}:{g.check}" for s, g in ALL_GATES])
def test_every_configured_gate_fails_past_its_threshold(stage, gate):
    results = quality_gates.evaluate(violating(gate), (gate,))
    assert results[0]["status"] == "failed"
    assert quality_gates.failures(results, gate.severity) == results
    message = quality_gates.describe_failure(results[0])
    assert gate.check in message and f"{gate.threshold:g}" in message
    held = {gate.check.split(".")[0]: {gate.check.split(".")[1]: gate.threshold}}
    assert quality_gates.evaluate(held, (gate,))[0]["status"] == "passed"


def test_every_stage_has_gates_and_each_gate_applies_to_a_measure_the_report_has():
    from medallion.core import pipeline

    measured = measure([row(category="sports")], kind="annotated", upstream_rows=[row()])
    drift = quality_drift.drift(
        {"rows": 1, "quarantine_rate": 0}, [("2026-11-22", {"rows": 1, "quarantine_rate": 0})]
    )
    measured["drift"] = drift
    measured["accuracy"] = {"accuracy": 1.0}
    measured["consistency"] |= {"category_mismatches": 0}
    for name in pipeline.STAGE_NAMES:
        gates = CONFIG.gates_for(name)
        assert gates, name
        for gate in gates:
            assert quality_gates.lookup(measured, gate.check)[0] is not None, (name, gate.check)


def test_a_gate_on_an_unmeasured_dimension_is_skipped_with_why():
    gate = quality_gates.Gate("accuracy.accuracy", "min", 0.8)
    results = quality_gates.evaluate({"accuracy": quality_gates.not_measured("no gold sample")}, (gate,))
    assert results[0]["status"] == "skipped" and results[0]["why"] == "no gold sample"
    assert quality_gates.failures(results) == []


@pytest.mark.parametrize(
    "gates,message",
    [
        ({"raw": {"rows": {"min": 1}}}, "must be <dimension>.<measure>"),
        ({"raw": {"validity.quarantine_rate": {"min": 0, "max": 1}}}, "exactly one of min/max"),
        ({"raw": {"validity.quarantine_rate": {"max": 1, "severity": "fatal"}}}, "severity error or warn"),
    ],
)
def test_a_malformed_gate_config_names_the_file_and_the_gate(tmp_path, gates, message):
    path = tmp_path / "quality.yaml"
    path.write_text(yaml.safe_dump({"gates": gates}))
    with pytest.raises(quality_gates.QualityConfigError, match=message) as info:
        quality_gates.load_config(path)
    assert str(path) in str(info.value)


def test_the_table_shows_values_gates_and_outcomes():
    report = measure([row()], kind="annotated")
    results = quality_gates.evaluate(report, CONFIG.gates_for("annotated"))
    text = quality_gates.table({**report, "gates": results, "passed": not quality_gates.failures(results)})
    lines = text.splitlines()
    assert lines[0].split() == ["dimension", "measure", "value", "gate", "status"]
    assert any(line.split()[:2] == ["validity", "quarantine_rate"] and "max" in line for line in lines)
    assert "accuracy     (not measured)" in text
    assert lines[-1] == "gates: passed"
