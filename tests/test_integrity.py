"""Inputs are verified, never trusted from their sidecar alone: data changed after commit stops every reader."""

from __future__ import annotations

import os
import subprocess
import time

import pytest
from conftest import build, run_cli

from medallion.core import datasets, pipeline
from medallion.core.store import open_store

DAY = "2026-11-23"
RAW = pipeline.dataset_key(pipeline.stage("raw"), DAY)
URLS = pipeline.dataset_key(pipeline.stage("url-normalization"), DAY)
MESSAGE = "no longer matches its sidecar"


def flip_one_byte(store_uri: str, key: str) -> None:
    """Change one byte of a committed data file, keeping its size (and, for a folder, its mtime)."""
    store = open_store(store_uri)
    data = bytearray(store.read_bytes(key))
    at = data.index(b"<title>") + 1
    data[at] = ord("T") if data[at] != ord("T") else ord("X")
    if store_uri.startswith("file://"):
        path = store._path(key)
        stat = path.stat()
        with open(path, "r+b") as handle:  # in place, as a careless hand or a bad disk would
            handle.write(bytes(data))
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    else:
        store.write_bytes(key, bytes(data))


def assert_refused(result: subprocess.CompletedProcess, store_uri: str) -> None:
    err = result.stderr.decode()
    assert result.returncode == 1, (result.returncode, err[-2000:])
    assert MESSAGE in err and "Traceback" not in err, err[-2000:]
    assert open_store(store_uri).url(RAW) in err
    assert "--force on its own stage (medallion run --until raw --force)" in err
    assert "medallion verify" in err and "medallion reproduce" in err


@pytest.mark.slow
def test_changed_raw_data_stops_rerun_force_and_reproduce(store_uri, small_crawl, tmp_path):
    build(store_uri, small_crawl, "url-normalization")
    committed = datasets.read_meta(open_store(store_uri), URLS)
    flip_one_byte(store_uri, RAW)
    args = ("--store", store_uri, "--date", DAY)

    # A rerun of the pipeline: raw's own data is no longer what its sidecar says, so it is not up to date.
    assert_refused(
        run_cli("medallion", "run", *args, "--input", str(small_crawl), "--until", "raw"), store_uri
    )
    # The downstream stage alone, with and without --force: --force does not bypass the check.
    assert_refused(run_cli("-m", "steps.url_normalization", *args), store_uri)
    assert_refused(run_cli("-m", "steps.url_normalization", *args, "--force"), store_uri)
    assert datasets.read_meta(open_store(store_uri), URLS)["sha1"] == committed["sha1"]  # untouched
    # reproduce re-hashes the inputs it copies.
    folder = open_store(store_uri).url(pipeline.dataset_dir(pipeline.stage("url-normalization"), DAY))
    result = run_cli("medallion", "reproduce", folder, "--scratch", str(tmp_path / "scratch"))
    assert_refused(result, store_uri)
    assert "identical" not in result.stdout.decode()

    # Recovery as the message says: --force on raw's own stage, then everything is up to date again.
    fixed = run_cli("medallion", "run", *args, "--input", str(small_crawl), "--until", "raw", "--force")
    assert fixed.returncode == 0, fixed.stderr.decode()[-2000:]
    again = run_cli("medallion", "run", *args, "--input", str(small_crawl), "--until", "url-normalization")
    assert again.returncode == 0, again.stderr.decode()[-2000:]
    assert again.stdout.decode().count("up to date") == 2


def test_the_fingerprint_stands_in_for_a_rehash_until_it_changes(tmp_path):
    """checked_sha1 trusts an unchanged fingerprint (no read); any other fingerprint means a re-hash."""
    store = open_store(f"file://{tmp_path}")
    store.write_bytes("html-classification/x/data.jsonl", b'{"a":1}\n')
    key = "html-classification/x/data.jsonl"
    real = store.sha1(key)
    meta = {"dataset": store.url(key), "sha1": real, "stage": {"name": "raw"}}
    fingerprint = store.fingerprint(key)

    # Recorded with this fingerprint: trusted without reading, even if the recorded SHA1 were wrong.
    trusting = {**meta, "sha1": "0" * 40, "fingerprint": fingerprint}
    assert datasets.Dataset(store, key, trusting).checked_sha1() == ("0" * 40, fingerprint)
    # A downstream step's own record of a fingerprint it hashed stands in the same way.
    known = {"sha1": "0" * 40, "fingerprint": fingerprint}
    assert datasets.Dataset(store, key, {**meta, "sha1": "0" * 40}).checked_sha1(known)[0] == "0" * 40
    # Another fingerprint: the data is re-hashed and must match.
    assert datasets.Dataset(store, key, {**meta, "fingerprint": "other"}).checked_sha1() == (
        real,
        fingerprint,
    )
    with pytest.raises(datasets.DataMismatch, match=MESSAGE):
        datasets.Dataset(store, key, {**meta, "sha1": "0" * 40, "fingerprint": "other"}).checked_sha1()
    # Reading the data always hashes what is read, whatever the fingerprint says.
    with pytest.raises(datasets.DataMismatch, match=MESSAGE):
        list(datasets.Dataset(store, key, trusting).records())
    assert list(datasets.Dataset(store, key, meta).records()) == [{"a": 1}]


def test_a_rewritten_file_changes_its_fingerprint(tmp_path):
    """A same-size rewrite with the mtime set back still moves the fingerprint (ctime)."""
    store = open_store(f"file://{tmp_path}")
    store.write_bytes("k", b"abc")
    before = store.fingerprint("k")
    path = store._path("k")
    stat = path.stat()
    time.sleep(0.05)  # file times tick with the kernel's clock (a few ms)
    path.write_bytes(b"abd")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert store.fingerprint("k") != before
