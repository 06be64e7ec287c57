"""Shards: items survive the scratch round trip exactly, and a merge with a shard missing says so."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

import pytest
from conftest import build, run_cli

from medallion.core import pipeline
from medallion.core.store import open_store
from medallion.runtime import shards

DAY = "2026-11-23"


def test_items_round_trip_exactly_and_merge_in_order(tmp_path):
    store = open_store(f"file://{tmp_path}")
    moment = datetime(2026, 11, 23, 8, 15, 2, 123456, tzinfo=UTC)
    stage = pipeline.stage("html-parsing")
    first = [
        (0, {"url": "u0", "timestamp": moment}, {"title": "t"}),
        (2, {"url": "u2", "timestamp": moment}, ("too-deep", "d", "<p>")),
    ]
    second = [(1, {"url": "u1", "timestamp": moment}, {"title": "é"})]
    keys = [shards.shard_key(stage, DAY, None, k, 2) for k in range(2)]
    assert shards.write_shard(store, keys[0], first) == 2
    assert shards.write_shard(store, keys[1], second) == 1
    merged = list(shards.read_shards(store, keys))
    assert [item[0] for item in merged] == [0, 1, 2]
    assert merged[0][1]["timestamp"] == moment and merged[2][2] == ("too-deep", "d", "<p>")


def test_shard_arguments():
    assert shards.parse_shard("1/4") == (1, 4)
    for bad in ("4/4", "x", "-1/2"):
        with pytest.raises(argparse.ArgumentTypeError):
            shards.parse_shard(bad)
    assert shards.my_groups(7, 1, 3) == [1, 4]


def test_merge_with_a_missing_shard_fails_clearly(tmp_path, small_crawl):
    store = f"file://{tmp_path / 'store'}"
    build(store, small_crawl, "url-normalization")
    assert (
        run_cli("-m", "steps.html_parsing", "--store", store, "--date", DAY, "--shard", "0/2").returncode == 0
    )
    merge = run_cli("-m", "steps.html_parsing", "--store", store, "--date", DAY, "--merge", "2")
    assert merge.returncode == 1
    assert b"shard-1-of-2" in merge.stderr and b"--shard" in merge.stderr and b"Traceback" not in merge.stderr
