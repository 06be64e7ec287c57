"""Releases in the HTML catalog: hand-made release sidecars in a real local store, rendered by the real
`medallion catalog` command, read back from the pages."""

from __future__ import annotations

import html
import re
import textwrap
from pathlib import Path

import pytest
import yaml
from conftest import run_cli

from medallion.core import sidecar

SHA = "0123456789abcdef0123456789abcdef01234567"
DAYS = ["2026-12-01", "2026-12-02", "2026-12-03", "2026-12-05", "2026-12-06", "2026-12-07"]
# (date, rows in, contributed, dropped by rule): what the page's batch table must show
BATCHES = [
    (day, 1000, 900 - 10 * i, {"canonical-url": 70 + 10 * i, "near-duplicate": 30})
    for i, day in enumerate(DAYS)
]
SPLITS = {"train": 4320, "validation": 540, "test": 540}
BALANCE = {
    "train": {"sports": 800, "politics": 1000, "science": 2520},
    "validation": {"sports": 100, "politics": 125, "science": 315},
    "test": {"sports": 101, "politics": 124, "science": 315},
}


def common(stage: str, layer: str, path: str, day: str, uri: str) -> str:
    """The usual sidecar fields, as YAML text (``day`` unquoted is a YAML date, as a person may write it)."""
    return textwrap.dedent(f"""\
        dataset: {uri}
        kind: dataset
        description: A training set built across days.
        stage: {{name: {stage}, layer: {layer}, path: {path}, version: null}}
        date: {day}
        created_at: '2026-12-08T01:02:03.000Z'
        workflow: {{name: release, step: release, run_id: r1}}
        sha1: {SHA}
        format: parquet
        bytes: 1234
        schema: {{url: string, text: string, category: string, split: string}}
        columns: {{url: URL, text: text, category: label, split: "train, validation or test"}}
        sample: []
        process: [{{name: cross-day-dedup, description: duplicates across the window removed}}]
        parameters: {{}}
        code_version: 0.1.0+abc
        execution: {{start: '2026-12-08T01:00:00Z', end: '2026-12-08T01:02:00Z', duration_seconds: 120}}
        contract: {{name: release, schema: schemas/release.schema.json, sha1: {SHA}}}
        quality: {{completeness: {{}}, uniqueness: {{}}, validity: {{}}, timeliness: {{}}, consistency: {{}},
          accuracy: {{}}, drift: {{}}, gates: [], passed: true, config: {{path: q.yaml, sha1: {SHA}}}}}
        """)


def release_sidecar(root: Path, name: str, stage: str, batches: bool) -> None:
    key = f"html-classification/releases/{name}/documents.parquet"
    statistics = {
        "rows": 5400,
        "columns": 4,
        "nulls": {},
        "input_rows": 6000,
        "duplicates_removed": {"total": 600, "by_reason": {"canonical-url": 420, "near-duplicate": 180}},
        "quarantined": {"total": 0, "by_reason": {}},
        "reconciled": True,
        "splits": SPLITS,
        "class_balance": BALANCE,
    }
    if batches:
        statistics["batches"] = [
            {
                "date": day,
                "uri": f"file://{root}/html-classification/post-train/{day}/documents.parquet",
                "key": f"html-classification/post-train/{day}/documents.parquet",
                "sha1": SHA,
                "rows": rows,
                "contributed": contributed,
                "dropped": dropped,
            }
            for day, rows, contributed, dropped in BATCHES
        ]
    extra = {
        "release": {
            "name": name,
            "from": "2026-12-01",
            "to": "2026-12-07",
            "source": "post-train",
            "days": DAYS,
            "missing": ["2026-12-04"],
        },
        "statistics": statistics,
        "sources": [
            {"uri": b["uri"], "key": b["key"], "kind": "dataset", "sha1": SHA}
            for b in statistics.get("batches", [])
        ],
        "taxonomy": {
            "path": "medallion/config/taxonomy.yaml",
            "sha1": SHA,
            "categories": [
                {"name": "politics", "description": "Government and elections."},
                {"name": "science", "description": "Research and discoveries."},
                {"name": "sports", "description": "Games and athletes."},
            ],
        },
    }
    if stage == "release-clean":
        extra["release"]["cleaned_from"] = name.removesuffix("-clean")
    day = "2026-12-07" if stage == "release-clean" else "'2026-12-07'"
    text = common(stage, "release", "releases", day, f"file://{root}/{key}")
    write(root, key, text + yaml.safe_dump(extra))


def write(root: Path, key: str, text: str) -> None:
    path = root / f"{key}.meta.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def model_sidecar(root: Path, name: str) -> None:
    key = f"html-classification/models/releases/{name}/predictions.parquet"
    extra = {
        "sources": [
            {
                "uri": f"file://{root}/html-classification/releases/{name}/documents.parquet",
                "key": f"html-classification/releases/{name}/documents.parquet",
                "kind": "dataset",
            }
        ],
        "statistics": {
            "rows": 540,
            "columns": 3,
            "nulls": {},
            "input_rows": 540,
            "reconciled": True,
            "duplicates_removed": {"total": 0, "by_reason": {}},
            "quarantined": {"total": 0, "by_reason": {}},
            "metrics": {
                "test_accuracy": 0.9137,
                "test_macro_f1": 0.9021,
                "test_f1_sports": 0.88,
                "cv_accuracy": 0.5,
            },
            "mlflow": {"run_id": "run-42", "model_name": "html-classifier", "model_version": 7},
        },
    }
    text = common("release-model", "release", "models/releases", "'2026-12-07'", f"file://{root}/{key}")
    write(root, key, text + yaml.safe_dump(extra))


def valid_sidecar_of_an_unknown_stage(root: Path) -> None:
    """A sidecar that validates, of a stage this code has never heard of."""
    key = "html-classification/sampling/2026-12-01/documents.parquet"
    extra = {
        "sources": [{"uri": "file:///elsewhere/crawl.jsonl", "kind": "file", "sha1": SHA}],
        "statistics": {
            "rows": 10,
            "columns": 4,
            "nulls": {},
            "input_rows": 12,
            "reconciled": True,
            "duplicates_removed": {"total": 2, "by_reason": {"title": 2}},
            "quarantined": {"total": 0, "by_reason": {}},
        },
    }
    text = common("sampling", "gold", "sampling", "'2026-12-01'", f"file://{root}/{key}")
    write(root, key, text + yaml.safe_dump(extra))


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("releases") / "store"
    release_sidecar(root, "weekly", "release", batches=True)
    release_sidecar(root, "weekly-clean", "release-clean", batches=False)
    model_sidecar(root, "weekly")
    write(root, "html-classification/releases/broken/documents.parquet", "- not: [a, mapping\n")
    valid_sidecar_of_an_unknown_stage(root)
    out = root.parent / "catalog"
    result = run_cli("medallion", "catalog", "--store", f"file://{root}", "--out", str(out))
    assert result.returncode == 0, result.stderr.decode()[-3000:]
    return out


def tables(page: str) -> list[list[list[str]]]:
    """Every table of a page as rows of cell texts (tags stripped)."""
    found = []
    for table in re.findall(r"<table>(.*?)</table>", page, re.S):
        rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)
        found.append(
            [
                [
                    html.unescape(re.sub(r"<[^>]+>", "", c))
                    for c in re.findall(r"<t[dh]>(.*?)</t[dh]>", r, re.S)
                ]
                for r in rows
            ]
        )
    return found


def validates(pages: Path, name: str) -> bool:
    """Whether the release's sidecar matches the sidecar schema as it is in this tree."""
    text = (
        pages.parent / f"store/html-classification/releases/{name}/documents.parquet.meta.yaml"
    ).read_text()
    try:
        sidecar.loads(text)
    except sidecar.SidecarError:
        return False
    return True


def table_with(page: str, header: list[str]) -> list[list[str]]:
    (found,) = [t for t in tables(page) if t and t[0][: len(header)] == header]
    return found[1:]


def test_the_index_lists_the_releases_with_their_window_and_model(pages):
    index = (pages / "index.html").read_text()
    rows = table_with(index, ["release", "stage", "window", "days", "missing days"])
    by_name = {r[0]: r for r in rows}
    assert set(by_name) == {"broken", "weekly", "weekly-clean"}
    assert by_name["weekly"][1:6] == ["release", "2026-12-01 to 2026-12-07", "6", "2026-12-04", "post-train"]
    assert by_name["weekly"][7] == "version 7, test accuracy 0.9137"
    assert by_name["weekly-clean"][1] == "release-clean" and by_name["weekly-clean"][7] == "-"
    assert 'href="releases/weekly.html"' in index
    # a release is no daily batch: no batch page for its window's last day, and not among the datasets
    assert not (pages / "batches" / "2026-12-07.html").exists()
    assert "releases__" not in index


def test_a_release_page_shows_each_batch_contribution_the_splits_and_the_class_balance(pages):
    page = (pages / "releases" / "weekly.html").read_text()
    # shown either way; flagged when the schema does not (yet) accept it
    assert ("This sidecar does not validate" in page) == (not validates(pages, "weekly"))
    facts = dict(r for r in tables(page)[0] if len(r) == 2)
    assert facts["window"] == "2026-12-01 to 2026-12-07" and facts["built from"] == "post-train"
    assert facts["days"] == "6: " + ", ".join(DAYS) and facts["missing days"] == "1: 2026-12-04"
    assert facts["duplicates removed"] == "canonical-url 420, near-duplicate 180"

    batches = table_with(page, ["date", "batch sha1", "rows in", "contributed"])
    expected = [
        [
            day,
            SHA[:12],
            f"{rows:,}",
            f"{contributed:,}",
            str(dropped["canonical-url"]),
            str(dropped["near-duplicate"]),
        ]
        for day, rows, contributed, dropped in BATCHES
    ]
    assert batches[:-1] == expected
    assert batches[-1][2:] == ["6,000", f"{sum(b[2] for b in BATCHES):,}", "570", "180"]  # the totals

    assert table_with(page, ["split", "rows", "share"]) == [
        ["train", "4,320", "80.0%"],
        ["validation", "540", "10.0%"],
        ["test", "540", "10.0%"],
    ]
    balance = table_with(page, ["class", "train", "validation", "test", "all"])
    assert balance == [  # in the taxonomy's order
        ["politics", "1,000", "125", "124", "1,249"],
        ["science", "2,520", "315", "315", "3,150"],
        ["sports", "800", "100", "101", "1,001"],
    ]
    svg = re.search(
        r'<svg [^>]*role="img" aria-label="Class balance of release weekly per split">.*?</svg>', page, re.S
    )
    assert svg, "no class-balance chart"
    columns = re.findall(r'<g class="column" data-x="([^"]+)" data-total="(\d+)">', svg.group(0))
    assert columns == [("train", "4320"), ("validation", "540"), ("test", "540")]
    assert "<title>validation · science: 315 (58.3% of 540)</title>" in svg.group(0)

    assert table_with(page, ["category", "description"])[0] == ["politics", "Government and elections."]
    metrics = table_with(page, ["metric", "value"])
    assert metrics == [["test_accuracy", "0.9137"], ["test_macro_f1", "0.9021"], ["test_f1_sports", "0.88"]]
    assert "html-classifier version 7" in page and "run-42" in page


def test_a_release_without_batches_or_a_readable_sidecar_still_renders(pages):
    clean = (pages / "releases" / "weekly-clean.html").read_text()
    assert "This sidecar does not validate" in clean and "date: datetime.date(2026, 12, 7)" in clean
    assert "lists no batches (<code>statistics.batches</code>)" in clean
    assert ["train", "4,320", "80.0%"] in table_with(clean, ["split", "rows", "share"])
    assert "No model has been trained on this release yet." in clean
    assert '<td>cleaned from</td><td><a href="weekly.html">weekly</a></td>' in clean
    broken = (pages / "releases" / "broken.html").read_text()
    assert "does not validate against schemas/sidecar.schema.json" in broken and "lists no batches" in broken


def test_a_dataset_of_a_stage_the_code_does_not_know_does_not_break_the_catalog(pages):
    index = (pages / "index.html").read_text()
    assert 'href="datasets/sampling__2026-12-01__documents.parquet.html">sampling</a>' in index
    page = (pages / "datasets" / "sampling__2026-12-01__documents.parquet.html").read_text()
    assert "<h1>sampling 2026-12-01</h1>" in page and "<td>deduplicated: title</td><td>2</td>" in page
    assert "Not drawn: " in page  # lineage cannot place an unknown stage, and says so
    assert (pages / "batches" / "2026-12-01.html").is_file()
