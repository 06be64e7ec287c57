"""Human labels: agreement measures, Label Studio import/export, and the annotation step's human path."""

from __future__ import annotations

import json

import pytest
from conftest import build, run_cli

from medallion.core import datasets, pipeline
from medallion.core.store import open_store
from medallion.labeling.agreement import (
    agreement_report,
    annotator_accuracy,
    cohen_kappa,
    fleiss_kappa,
    majority_label,
)
from medallion.labeling.labelstudio import export_tasks, import_labels, labeling_config, load_export

DAY = "2026-11-23"


def test_majority_and_ties():
    assert majority_label(["b", "a", "b"]) == "b"
    assert majority_label(["b", "a"]) == "a"
    assert majority_label([]) is None


def test_cohen_kappa_textbook_example():
    # 50 items: both yes 20, both no 15, a-yes/b-no 5, a-no/b-yes 10 -> po 0.7, pe 0.5, kappa 0.4
    a = ["y"] * 20 + ["n"] * 15 + ["y"] * 5 + ["n"] * 10
    b = ["y"] * 20 + ["n"] * 15 + ["n"] * 5 + ["y"] * 10
    assert cohen_kappa(a, b) == pytest.approx(0.4)
    assert cohen_kappa(["x", "x"], ["x", "x"]) == 1.0
    with pytest.raises(ValueError, match="different numbers"):
        cohen_kappa(["a"], ["a", "b"])


def test_fleiss_kappa_wikipedia_example():
    # Fleiss (1971) as worked on Wikipedia: 10 items, 14 raters, 5 categories -> kappa 0.210
    table = [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
    ratings = [[str(c) for c, n in enumerate(row) for _ in range(n)] for row in table]
    assert fleiss_kappa(ratings) == pytest.approx(0.210, abs=0.001)
    assert fleiss_kappa([["a", "a"], ["a", "a"]]) == 1.0


def test_agreement_report_warns_below_threshold():
    per_item = {
        "u1": {"ann": "sports", "bob": "sports"},
        "u2": {"ann": "health", "bob": "politics"},
        "u3": {"ann": "science", "bob": "health"},
        "u4": {"ann": "sports", "bob": "sports"},
    }
    report = agreement_report(per_item, gold={"u1": "sports", "u2": "health"})
    assert report["below_threshold"] and report["warnings"] and "ann|bob" in report["pairwise_cohen_kappa"]
    assert report["annotator_accuracy"] == {
        "ann": {"accuracy": 1.0, "items": 2},
        "bob": {"accuracy": 0.5, "items": 2},
    }
    assert annotator_accuracy(per_item, {}) == {}


EXPORT = [
    {
        "id": 1,
        "data": {"url": "https://www.a.example/x?utm_source=t", "text": "..."},
        "annotations": [
            {
                "completed_by": {"email": "ann@x"},
                "result": [{"type": "choices", "from_name": "category", "value": {"choices": ["sports"]}}],
            },
            {
                "completed_by": 7,
                "result": [
                    {"type": "choices", "value": {"choices": ["sports"]}},
                    {"type": "textarea", "value": {}},
                ],
            },
            {
                "completed_by": 8,
                "was_cancelled": True,
                "result": [{"type": "choices", "value": {"choices": ["health"]}}],
            },
        ],
    },
    {"id": 2, "data": {"url": "https://other.example/y"}, "annotations": []},
    {
        "id": 3,
        "data": {"url": "https://a.example/z"},
        "annotations": [
            {"completed_by": 7, "result": [{"type": "choices", "value": {"choices": ["cooking"]}}]}
        ],
    },
    {"id": 4, "data": {"url": "javascript:1"}, "annotations": []},
]


def test_import_matches_canonical_urls_and_reports_everything():
    report = import_labels(
        EXPORT,
        ["https://a.example/x", "https://a.example/z", "https://a.example/w"],
        categories=["sports", "health"],
    )
    assert report.per_document == {"https://a.example/x": {"ann@x": "sports", "7": "sports"}}
    assert report.unmatched_tasks == ["task 2: https://other.example/y"]
    assert any("unknown category 'cooking'" in i for i in report.invalid) and any(
        "task 4" in i for i in report.invalid
    )
    assert report.unlabeled_documents == ["https://a.example/w", "https://a.example/z"]
    with pytest.raises(ValueError, match="not JSON"):
        load_export(b"{broken")
    with pytest.raises(ValueError, match="list of tasks"):
        load_export(b'{"a": 1}')


def test_export_then_import_round_trip():
    tasks = export_tasks([{"url": "https://a.example/1", "title": "t", "text": "x"}], ["sports"])
    tasks[0]["annotations"] = [
        {"completed_by": 1, "result": [{"type": "choices", "value": {"choices": ["sports"]}}]}
    ]
    assert import_labels(load_export(json.dumps(tasks)), ["https://a.example/1"]).per_document == {
        "https://a.example/1": {"1": "sports"}
    }
    assert '<Choice value="sports"/>' in labeling_config(["sports"])


@pytest.mark.slow
def test_annotation_from_label_studio_export(tmp_path, small_crawl):
    store = f"file://{tmp_path / 'store'}"
    build(store, small_crawl, "text-normalization")
    out = tmp_path / "tasks.json"
    exported = run_cli(
        "medallion", "labels", "export-tasks", "--store", store, "--date", DAY, "--out", str(out)
    )
    assert exported.returncode == 0, exported.stderr.decode()
    tasks = json.loads(out.read_text())
    assert tasks and (tmp_path / "tasks.labeling-config.xml").is_file()
    # three annotators label all but the last task; they disagree on every fourth document
    for i, task in enumerate(tasks[:-1]):
        votes = ["sports", "sports", "sports" if i % 4 else "health"]
        task["annotations"] = [
            {"completed_by": n, "result": [{"type": "choices", "value": {"choices": [v]}}]}
            for n, v in enumerate(votes)
        ]
    tasks.append({"data": {"url": "https://nowhere.example/a"}, "annotations": []})
    export = tmp_path / "export.json"
    export.write_text(json.dumps(tasks))
    result = run_cli(
        "-m", "steps.annotation", "--store", store, "--date", DAY, "--label-source", f"label-studio:{export}"
    )
    assert result.returncode == 0, result.stderr.decode()
    assert b"warning: Fleiss' kappa" in result.stdout
    meta = datasets.read_meta(open_store(store), pipeline.dataset_key(pipeline.stage("annotated"), DAY))
    stats = meta["statistics"]
    assert stats["rows"] == len(tasks) - 2 and stats["quarantined"]["by_reason"] == {"no-human-label": 1}
    assert stats["human_labels"]["unmatched_tasks"] == 1
    assert stats["agreement"]["below_threshold"] is True
    assert {"kind": "file", "uri": str(export.resolve())}.items() <= meta["sources"][0].items()
    again = run_cli("medallion", "labels", "export-tasks", "--store", store, "--date", DAY, "--out", str(out))
    assert json.loads(out.read_text())[0]["data"]["url"] == tasks[-2]["data"]["url"] and again.returncode == 0
    # A team's own taxonomy: the labeling interface offers the configured categories, never the demo's.
    import shutil

    import yaml

    from medallion.core.config import CONFIG_DIR

    own = tmp_path / "own-config"
    shutil.copytree(CONFIG_DIR, own)
    labels = [{"name": name, "description": f"about {name}"} for name in ("billing", "shipping")]
    (own / "taxonomy.yaml").write_text(yaml.safe_dump({"categories": labels}))
    env = {"MEDALLION_CONFIG_DIR": str(own)}
    theirs = run_cli(
        "medallion", "labels", "export-tasks", "--store", store, "--date", DAY, "--out", str(out), env=env
    )
    assert theirs.returncode == 0, theirs.stderr.decode()
    interface = (tmp_path / "tasks.labeling-config.xml").read_text()
    assert '<Choice value="billing" hint="about billing"/>' in interface and "sports" not in interface
