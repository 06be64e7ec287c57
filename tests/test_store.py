"""The storage interface behaves the same on a local folder and on a real S3 server."""

from __future__ import annotations

import os

import pytest

from medallion.core.config import ConfigError
from medallion.core.store import open_store, split_uri
from medallion.core.store_interface import NotFound, StoreError
from medallion.core.store_local import LocalStore
from medallion.core.store_s3 import S3Store

pytestmark = pytest.mark.xdist_group("s3")


def test_round_trip_bytes_and_files(store_uri, tmp_path):
    store = open_store(store_uri)
    store.write_bytes("a/b/one.txt", b"hello")
    assert store.exists("a/b/one.txt")
    assert not store.exists("a/b/two.txt")
    assert store.read_bytes("a/b/one.txt") == b"hello"
    source = tmp_path / "src.bin"
    source.write_bytes(os.urandom(1000))
    store.upload(source, "a/c/blob.bin")
    target = tmp_path / "dst.bin"
    store.download("a/c/blob.bin", target)
    assert target.read_bytes() == source.read_bytes()
    assert list(store.list("a/")) == ["a/b/one.txt", "a/c/blob.bin"]
    store.delete("a/b/one.txt")
    store.delete("a/b/one.txt")  # deleting a missing key is fine
    assert list(store.list("a/")) == ["a/c/blob.bin"]
    with pytest.raises(NotFound, match="does not exist"):
        store.read_bytes("a/b/one.txt")
    assert store.url("a/c/blob.bin") == store_uri + "/a/c/blob.bin"


def test_large_upload_goes_in_parts_and_round_trips(store_uri, tmp_path):
    """Above the multipart threshold the upload is multipart; the object comes back byte-identical."""
    store = open_store(store_uri)
    source = tmp_path / "big.bin"
    with open(source, "wb") as out:
        for _ in range(40):
            out.write(os.urandom(1 << 20))  # 40 MiB: three parts of 16 MiB
    store.upload(source, "big/big.bin")
    target = tmp_path / "back.bin"
    store.download("big/big.bin", target)
    assert target.stat().st_size == source.stat().st_size
    assert target.read_bytes() == source.read_bytes()
    if isinstance(store, S3Store):
        head = store.client.head_object(Bucket=store.bucket, Key=store._key("big/big.bin"))
        assert "-" in head["ETag"], "a multipart upload's ETag carries its part count"


def test_open_store_forms(tmp_path):
    assert isinstance(open_store(f"file://{tmp_path}"), LocalStore)
    assert isinstance(open_store(str(tmp_path)), LocalStore)
    s3 = open_store("s3://bucket/some/prefix")
    assert isinstance(s3, S3Store) and s3.bucket == "bucket" and s3.prefix == "some/prefix"
    with pytest.raises(ConfigError, match="unsupported store URI"):
        open_store("ftp://x/y")
    with pytest.raises(ConfigError, match="no bucket"):
        open_store("s3://")


def test_split_dataset_uri():
    store, key = split_uri("s3://bucket/pre/html-classification/raw/2026-11-23/")
    assert store.uri == "s3://bucket/pre" and key == "html-classification/raw/2026-11-23/"
    store, key = split_uri("file://./data/html-classification/raw/2026-11-23/crawl.jsonl")
    assert key == "html-classification/raw/2026-11-23/crawl.jsonl"
    with pytest.raises(ConfigError, match="not a dataset URI"):
        split_uri("s3://bucket/elsewhere/file.jsonl")


def test_local_store_refuses_keys_outside_its_root(tmp_path):
    with pytest.raises(StoreError, match="outside the store"):
        LocalStore(tmp_path).write_bytes("../escape.txt", b"x")


def test_missing_bucket_is_a_clear_error(s3_env):
    store = open_store("s3://no-such-bucket-here")
    with pytest.raises(StoreError, match="does not exist"):
        store.write_bytes("x", b"y")
