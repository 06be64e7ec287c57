"""Croissant metadata of real datasets: built by the pipeline, validated and read back by mlcroissant."""

from __future__ import annotations

import hashlib
import itertools
import json

import mlcroissant as mlc
import pandas as pd
import pytest
from conftest import build

from medallion.core import datasets, pipeline
from medallion.core.store import open_store
from medallion.tools import croissant, inventory

DAY = "2026-11-23"
RAW = pipeline.dataset_key(pipeline.stage("raw"), DAY)
PARSED = pipeline.dataset_key(pipeline.stage("html-parsing"), DAY)
NORMALIZED = pipeline.dataset_key(pipeline.stage("text-normalization"), DAY, "v1")
REJECTS = pipeline.quarantine_key(pipeline.stage("raw"), DAY)
KEYS = {"raw": RAW, "html-parsing": PARSED, "text-normalization-v1": NORMALIZED, "raw-rejects": REJECTS}


@pytest.fixture(scope="module")
def store(tmp_path_factory, small_crawl):
    """A local store built by the real pipeline through text-normalization."""
    store_uri = f"file://{tmp_path_factory.mktemp('croissant') / 'store'}"
    build(store_uri, small_crawl, "text-normalization", day=DAY)
    return open_store(store_uri)


def _load(store, key, tmp_path, mapping=None) -> tuple[dict, mlc.Dataset]:
    """Write the dataset's JSON-LD to a file and load that file with mlcroissant, as a consumer would."""
    path = tmp_path / "croissant.json"
    written = croissant.write(store, key, path)
    assert json.loads(path.read_text()) == written
    return written, mlc.Dataset(jsonld=str(path), mapping=mapping)


@pytest.mark.parametrize("name", list(KEYS))
def test_metadata_validates_and_matches_the_sidecar(store, tmp_path, name):
    key = KEYS[name]
    meta = datasets.Dataset.open(store, key).meta
    # mlcroissant validates while loading: it raises ValidationError on errors, and records every issue
    # (errors and warnings) in the metadata's context.
    written, dataset = _load(store, key, tmp_path)
    issues = dataset.metadata.ctx.issues
    assert not issues.errors, issues.report()
    assert not issues.warnings, issues.report()

    with datasets.local_copy(store, key) as path:
        expected_sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    (file_object,) = dataset.metadata.distribution
    assert file_object.sha256 == expected_sha256
    assert file_object.content_url == store.url(key)
    assert file_object.content_size == f"{meta['bytes']} B"
    assert file_object.encoding_formats == [croissant.ENCODING_FORMATS[meta["format"]]]

    (record_set,) = dataset.metadata.record_sets
    assert [field.name for field in record_set.fields] == list(meta["schema"])
    assert [field.description for field in record_set.fields] == [meta["columns"][c] for c in meta["schema"]]

    # Properties Croissant 1.0 does not define survive mlcroissant's round trip as extra properties.
    # (mlcroissant writes a one-element list as its element.)
    round_trip = dataset.metadata.to_json()
    based_on = round_trip["isBasedOn"]
    based_on = [based_on] if isinstance(based_on, str) else based_on
    assert based_on == written["isBasedOn"] == [source["uri"] for source in meta["sources"]]
    assert round_trip["distribution"][0]["sha1"] == meta["sha1"]
    assert written["datePublished"] == meta["created_at"]
    assert written["conformsTo"] == "http://mlcommons.org/croissant/1.0"


def test_lineage_names_the_upstream_datasets(store):
    assert croissant.croissant(store, NORMALIZED)["isBasedOn"] == [store.url(PARSED)]
    upstream = pipeline.dataset_key(pipeline.stage("url-normalization"), DAY)
    assert croissant.croissant(store, PARSED)["isBasedOn"] == [store.url(upstream)]
    description = croissant.croissant(store, NORMALIZED)["description"]
    meta = datasets.Dataset.open(store, NORMALIZED).meta
    assert meta["code_version"] in description
    assert meta["workflow"]["name"] in description


def test_names_and_types(store):
    assert (
        croissant.croissant(store, NORMALIZED)["name"] == f"html-classification-text-normalization-v1-{DAY}"
    )
    assert croissant.croissant(store, REJECTS)["name"] == f"html-classification-raw-{DAY}-rejects"
    types = {f["name"]: f["dataType"] for f in croissant.croissant(store, PARSED)["recordSet"][0]["field"]}
    assert types["timestamp"] == "sc:Date" and types["url"] == "sc:Text"
    assert croissant.data_type("list<item: double>") == ("sc:Float", True)
    assert croissant.data_type("int32") == ("sc:Integer", False)
    assert croissant.data_type("bool") == ("sc:Boolean", False)
    with pytest.raises(croissant.CroissantError, match="'blob'.*'binary'"):
        croissant.data_type("binary", "blob")


def test_output_is_deterministic_and_uses_the_standard_context(store, tmp_path):
    first = croissant.write(store, PARSED, tmp_path / "a.json")
    croissant.write(store, PARSED, tmp_path / "b.json")
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    # mlcroissant compares the @context with its own standard one and logs a warning on any missing key;
    # make_context is internal, so this pins the installed version's idea of "standard".
    from mlcroissant._src.core.rdf import make_context

    assert first["@context"] == make_context()
    # The same dataset reached through its date folder URI, as the CLI resolves it.
    folder = store.url(pipeline.dataset_dir(pipeline.stage("html-parsing"), DAY))
    assert croissant.croissant(*inventory.resolve_dataset(folder)) == first


@pytest.mark.parametrize("name", ["html-parsing", "raw"])
def test_records_read_through_mlcroissant(store, tmp_path, name):
    key = KEYS[name]
    # mlcroissant 1.1.1 only downloads http(s) URLs and reads any other contentUrl as a path relative to the
    # JSON-LD file, so a file:// contentUrl fails in Download. Its documented `mapping` (FileObject @id ->
    # local path, meant for manual downloads) points it at the local copy while contentUrl stays the real URI.
    with datasets.local_copy(store, key) as path:
        written, dataset = _load(store, key, tmp_path, mapping={path.name: str(path)})
        record_set = written["recordSet"][0]["@id"]
        records = list(itertools.islice(dataset.records(record_set=record_set), 3))
    expected = list(itertools.islice(datasets.Dataset.open(store, key).records(), 3))
    assert len(records) == 3
    for record, row in zip(records, expected, strict=True):
        assert set(record) == {field["@id"] for field in written["recordSet"][0]["field"]}
        assert record[f"{record_set}/url"].decode() == row["url"]
        assert record[f"{record_set}/timestamp"] == pd.Timestamp(row["timestamp"])
