"""The whole pipeline through its real CLI, as subprocesses, on a local folder and on a real S3 server."""

from __future__ import annotations

import pytest
import yaml
from conftest import build, run_cli

from medallion.core import datasets, pipeline, sidecar
from medallion.core.store import open_store

DAY = "2026-11-23"
pytestmark = [pytest.mark.xdist_group("s3"), pytest.mark.slow]

EXPECTED = [
    ("raw", None),
    ("url-normalization", None),
    ("html-parsing", None),
    ("text-normalization", "v1"),
    ("text-normalization", "v2"),
    ("annotated", None),
    ("train", None),
    ("post-train", None),
]


def committed(store_uri: str) -> dict[tuple[str, str | None], dict]:
    store = open_store(store_uri)
    found = {}
    for stage_name, version in EXPECTED:
        key = pipeline.dataset_key(pipeline.stage(stage_name), DAY, version)
        found[(stage_name, version)] = datasets.Dataset.open(store, key).meta
    return found


def line_count(path) -> int:
    with open(path, "rb") as handle:
        return sum(1 for _ in handle)


def test_run_builds_every_layer_and_reruns_are_up_to_date(store_uri, small_crawl, labeler_env):
    result = run_cli("medallion", "run", "--store", store_uri, "--date", DAY, "--input", str(small_crawl))
    assert result.returncode == 0, result.stderr.decode()
    metas = committed(store_uri)

    # every row of every stage is accounted for, and each stage reads what the previous one wrote
    raw = metas[("raw", None)]
    assert raw["statistics"]["input_rows"] == line_count(small_crawl)
    assert raw["statistics"]["quarantined"]["total"] > 0, "the synthetic crawl carries junk lines"
    previous = raw
    for key in EXPECTED[1:]:
        meta = metas[key]
        stats = meta["statistics"]
        assert (
            stats["input_rows"]
            == stats["rows"] + stats["quarantined"]["total"] + stats["duplicates_removed"]["total"]
        )
        upstream = {
            "text-normalization": metas[("html-parsing", None)],
            "annotated": metas[("text-normalization", "v2")],
            "post-train": metas[("annotated", None)],
        }.get(key[0], previous)
        inputs = [
            metas[(name, "v2" if name == "text-normalization" else None)]
            for name in pipeline.stage(key[0]).inputs
        ]
        datasets_in = [s for s in meta["sources"] if s["kind"] == "dataset"]
        assert datasets_in == [
            {
                "uri": m["dataset"],
                "key": m["dataset"][len(open_store(store_uri).uri) + 1 :],
                "kind": "dataset",
                "sha1": m["sha1"],
                "fingerprint": m["fingerprint"],
                "rows": m["statistics"]["rows"],
            }
            for m in inputs
        ]
        assert stats["input_rows"] == upstream["statistics"]["rows"]
        if key[0] != "text-normalization":
            previous = meta
    dedup = metas[("url-normalization", None)]["statistics"]["duplicates_removed"]["by_reason"]
    assert dedup.get("canonical-url", 0) > 0
    assert metas[("text-normalization", "v2")]["process"][-1]["name"]
    assert metas[("raw", None)]["workflow"]["run_id"] == metas[("html-parsing", None)]["workflow"]["run_id"]
    post = metas[("post-train", None)]
    assert (
        post["statistics"]["quarantined"]["by_reason"].get("label-issue", 0)
        == post["statistics"]["label_issues"]
        > 0
    )
    assert metas[("train", None)]["artifacts"][0]["name"] == "model.joblib"

    # every dataset verifies against its sidecar
    uris = [meta["dataset"] for meta in metas.values()]
    check = run_cli("medallion", "verify", *uris)
    assert check.returncode == 0, check.stdout.decode() + check.stderr.decode()
    assert check.stdout.decode().count("ok ") == len(uris)

    # a second identical run rewrites nothing
    again = run_cli("medallion", "run", "--store", store_uri, "--date", DAY, "--input", str(small_crawl))
    assert again.returncode == 0, again.stderr.decode()
    assert again.stdout.decode().count("up to date") == len(EXPECTED)
    assert {k: m["created_at"] for k, m in committed(store_uri).items()} == {
        k: m["created_at"] for k, m in metas.items()
    }

    # --force rebuilds, byte-identical
    forced = run_cli(
        "medallion", "run", "--store", store_uri, "--date", DAY, "--input", str(small_crawl), "--force"
    )
    assert forced.returncode == 0, forced.stderr.decode()
    assert "up to date" not in forced.stdout.decode()
    rebuilt = committed(store_uri)
    assert {k: m["sha1"] for k, m in rebuilt.items()} == {k: m["sha1"] for k, m in metas.items()}
    assert rebuilt[("raw", None)]["created_at"] != metas[("raw", None)]["created_at"]


def test_local_and_s3_runs_are_byte_identical(s3_env, small_crawl, tmp_path, labeler_env):
    local = f"file://{tmp_path / 'store'}"
    remote = f"s3://{s3_env.new_bucket()}"
    for uri in (local, remote):
        result = run_cli("medallion", "run", "--store", uri, "--date", DAY, "--input", str(small_crawl))
        assert result.returncode == 0, result.stderr.decode()
    assert {k: m["sha1"] for k, m in committed(local).items()} == {
        k: m["sha1"] for k, m in committed(remote).items()
    }


def test_each_stage_runs_alone_as_its_container_would(tmp_path, small_crawl):
    store = f"file://{tmp_path / 'store'}"
    common = ["--store", store, "--date", DAY]
    # a stage whose input is missing says which stage to run first
    early = run_cli("-m", "steps.html_parsing", *common)
    assert early.returncode == 1
    assert b"run stage url-normalization" in early.stderr
    assert b"Traceback" not in early.stderr
    # the crawl can come on stdin
    ingest = run_cli("-m", "steps.ingest", *common, "--input", "-", stdin=small_crawl.read_bytes())
    assert ingest.returncode == 0, ingest.stderr.decode()
    for module in ("steps.url_normalization", "steps.html_parsing"):
        step = run_cli("-m", module, *common)
        assert step.returncode == 0, step.stderr.decode()
    only_v1 = run_cli("-m", "steps.text_normalization", *common, "--versions", "v1")
    assert only_v1.returncode == 0, only_v1.stderr.decode()
    store_obj = open_store(store)
    stage = pipeline.stage("text-normalization")
    assert datasets.read_meta(store_obj, pipeline.dataset_key(stage, DAY, "v1")) is not None
    assert datasets.read_meta(store_obj, pipeline.dataset_key(stage, DAY, "v2")) is None
    unknown = run_cli("-m", "steps.text_normalization", *common, "--versions", "v9")
    assert unknown.returncode == 2 and b"unknown version" in unknown.stderr  # a usage error
    # the same data as the one-command run
    ref = f"file://{tmp_path / 'ref'}"
    assert (
        run_cli(
            "medallion",
            "run",
            "--store",
            ref,
            "--date",
            DAY,
            "--input",
            str(small_crawl),
            "--versions",
            "v1",
            "--until",
            "text-normalization",
        ).returncode
        == 0
    )
    for stage_name, version in EXPECTED[:4]:
        key = pipeline.dataset_key(pipeline.stage(stage_name), DAY, version)
        assert datasets.read_meta(open_store(ref), key)["sha1"] == datasets.read_meta(store_obj, key)["sha1"]


def test_quarantine_holds_every_rejected_line_with_its_reason(tmp_path, small_crawl):
    store = f"file://{tmp_path / 'store'}"
    assert (
        run_cli(
            "medallion", "run", "--store", store, "--date", DAY, "--input", str(small_crawl), "--until", "raw"
        ).returncode
        == 0
    )
    store_obj = open_store(store)
    raw = pipeline.stage("raw")
    meta = datasets.Dataset.open(store_obj, pipeline.dataset_key(raw, DAY)).meta
    rejects = datasets.Dataset.open(store_obj, pipeline.quarantine_key(raw, DAY))
    rows = list(rejects.records())
    assert len(rows) == meta["statistics"]["quarantined"]["total"] == rejects.meta["statistics"]["rows"]
    by_reason = {}
    for row in rows:
        by_reason[row["reason"]] = by_reason.get(row["reason"], 0) + 1
        assert row["detail"] and row["record"] is not None
    assert by_reason == meta["statistics"]["quarantined"]["by_reason"]
    assert meta["quarantine"] == rejects.uri


def test_ls_show_verify(tmp_path, small_crawl):
    store = f"file://{tmp_path / 'store'}"
    build(store, small_crawl, "url-normalization")
    listing = run_cli("medallion", "ls", "--store", store).stdout.decode()
    assert "url-normalization" in listing and "raw (rejects)" in listing
    folder = f"{store}/html-classification/preprocess/url-normalization/{DAY}/"
    shown = run_cli("medallion", "show", folder)
    assert shown.returncode == 0
    meta = yaml.safe_load(shown.stdout)
    sidecar.validate(meta)
    assert meta["stage"]["name"] == "url-normalization"
    assert set(meta["columns"]) == set(meta["schema"])
    # tampering with the data is caught
    data = tmp_path / "store" / f"html-classification/preprocess/url-normalization/{DAY}/documents.parquet"
    data.write_bytes(data.read_bytes() + b"x")
    bad = run_cli("medallion", "verify", folder)
    assert bad.returncode == 1 and b"MISMATCH" in bad.stdout
    missing = run_cli("medallion", "show", f"{store}/html-classification/raw/1999-01-01/")
    assert missing.returncode == 1 and b"no dataset" in missing.stderr
