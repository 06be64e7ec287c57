"""Round trips per format, the sidecar schema and the commit protocol."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
import pytest

from medallion.core import datasets, sidecar
from medallion.core.store import open_store


def _meta(**over):
    meta = {
        "dataset": "x",
        "description": "test dataset",
        "stage": {"name": "raw", "layer": "bronze", "path": "raw", "version": None},
        "date": "2026-11-23",
        "sources": [{"uri": "/tmp/crawl.jsonl", "kind": "file", "sha1": "a" * 40, "rows": 2}],
        "created_at": "2026-11-24T00:00:00.000Z",
        "workflow": {"name": "w", "step": "raw", "run_id": "r"},
        "sha1": "0" * 40,
        "format": "parquet",
        "bytes": 0,
        "schema": {"url": "string"},
        "columns": {"url": "the URL"},
        "statistics": {
            "rows": 2,
            "columns": 1,
            "nulls": {"url": 0},
            "input_rows": 2,
            "duplicates_removed": {"total": 0, "by_reason": {}},
            "quarantined": {"total": 0, "by_reason": {}},
            "reconciled": True,
        },
        "sample": [],
        "process": [],
        "parameters": {},
        "code_version": "0.1.0+abc",
        "contract": {"name": "raw", "schema": "schemas/raw.schema.json", "sha1": "b" * 40},
        "execution": {
            "start": "2026-11-24T00:00:00Z",
            "end": "2026-11-24T00:00:01Z",
            "duration_seconds": 1.0,
        },
    }
    meta.update(over)
    return meta


ROWS = [
    {
        "url": "https://a.example/x",
        "n": 1,
        "when": datetime(2026, 11, 23, 8, tzinfo=UTC),
        "text": "héllo\nworld",
    },
    {"url": "https://b.example/y", "n": None, "when": datetime(2026, 11, 23, 9, tzinfo=UTC), "text": ""},
]
SCHEMA = pa.schema(
    [("url", pa.string()), ("n", pa.int64()), ("when", pa.timestamp("us", tz="UTC")), ("text", pa.string())]
)


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_round_trip(fmt, tmp_path):
    schema = SCHEMA if fmt == "parquet" else {"url": "string", "n": "int", "text": "string"}
    rows = ROWS if fmt == "parquet" else [{k: v for k, v in r.items() if k != "when"} for r in ROWS]
    writer = datasets.DatasetWriter(fmt, schema, tmp_path)
    for row in rows:
        writer.write(row)
    writer.close()
    back = list(datasets.iter_file(writer.path, fmt))
    assert back == rows
    assert writer.stats.rows == 2
    assert writer.stats.nulls["n"] == 1 and writer.stats.nulls["text"] == 1
    if fmt == "parquet":
        import pyarrow.parquet as pq

        assert pq.read_schema(writer.path).equals(SCHEMA)


def test_writes_are_byte_identical(tmp_path):
    hashes = set()
    for attempt in range(2):
        folder = tmp_path / str(attempt)
        folder.mkdir()
        writer = datasets.DatasetWriter("parquet", SCHEMA, folder)
        for row in ROWS * 600:  # more than one row group
            writer.write(row)
        writer.close()
        hashes.add(sidecar.file_sha1(writer.path))
    assert len(hashes) == 1


NESTED = pa.schema(
    [
        ("url", pa.string()),
        ("tags", pa.list_(pa.string())),
        ("scores", pa.struct([("label", pa.string()), ("p", pa.float64())])),
        ("flag", pa.bool_()),
    ]
)
NESTED_ROWS = [
    {"url": "https://a.example/x", "tags": ["a", "b"], "scores": {"label": "x", "p": 0.5}, "flag": True},
    {"url": "https://b.example/y", "tags": None, "scores": None, "flag": None},  # every column null
    {"url": "https://c.example/z", "tags": [], "extra": "not in the schema"},  # missing and extra columns
]


def test_rows_are_written_and_read_as_pyarrow_converts_them(tmp_path):
    """Column-by-column conversion, both ways, gives exactly what Table.from_pylist / to_pylist give."""
    import pyarrow.parquet as pq

    writer = datasets.DatasetWriter("parquet", NESTED, tmp_path)
    for row in NESTED_ROWS:
        writer.write(row)
    writer.close()
    table = pq.read_table(writer.path)
    assert table.equals(pa.Table.from_pylist(NESTED_ROWS, schema=NESTED))
    assert datasets.rows_of(table) == table.to_pylist() == list(datasets.iter_file(writer.path, "parquet"))
    assert datasets.rows_of(table.select([])) == [{}, {}, {}]  # no columns read: still one row each


def test_sidecar_schema_accepts_good_and_names_bad_fields():
    sidecar.validate(_meta())
    with pytest.raises(sidecar.SidecarError, match="sha1"):
        sidecar.validate(_meta(sha1="not-a-sha"))
    bad = _meta()
    del bad["statistics"]["input_rows"]
    with pytest.raises(sidecar.SidecarError, match="input_rows"):
        sidecar.validate(bad)
    with pytest.raises(sidecar.SidecarError, match="reconciled"):
        sidecar.validate(_meta(statistics={**_meta()["statistics"], "reconciled": False}))
    with pytest.raises(sidecar.SidecarError, match="contract"):
        sidecar.validate({k: v for k, v in _meta().items() if k != "contract"})
    # a dataset (not a quarantine) must carry its quality report
    with pytest.raises(sidecar.SidecarError, match="quality"):
        sidecar.validate(_meta(kind="dataset"))


def test_commit_writes_sidecar_last_and_readers_need_it(tmp_path):
    store = open_store(f"file://{tmp_path}")
    key = "html-classification/raw/2026-11-23/data.parquet"
    writer = datasets.DatasetWriter("parquet", SCHEMA, tmp_path)
    for row in ROWS:
        writer.write(row)
    writer.close()
    store.upload(writer.path, key)  # data without a sidecar: a crashed step
    with pytest.raises(datasets.DatasetNotFound, match="no sidecar"):
        datasets.Dataset.open(store, key)
    expected_sha1 = sidecar.file_sha1(writer.path)
    meta = datasets.commit(store, key, writer.path, _meta())
    assert meta["sha1"] == expected_sha1
    dataset = datasets.Dataset.open(store, key)
    assert list(dataset.records()) == ROWS
    assert list(datasets.find_datasets(store, "html-classification/")) == [key]
    # a sidecar that does not validate hides the dataset
    store.write_bytes(sidecar.sidecar_key(key), b"description: [broken")
    assert datasets.read_meta(store, key) is None
    with pytest.raises(sidecar.SidecarError):
        datasets.Dataset.open(store, key)


def test_code_version_is_stable():
    assert sidecar.code_version("steps.ingest") == sidecar.code_version("steps.ingest")
    assert sidecar.code_version("steps.ingest").startswith("0.1.0+")
