"""Nothing is overwritten by accident: refusals without --force, object versions, one run per dataset."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import pytest
from conftest import REPO, build, run_cli

from medallion.cli import inspect as cli_inspect
from medallion.core import datasets, pipeline
from medallion.core.store import open_store
from medallion.runtime.leases import LEASE_NAME

DAY = "2026-11-23"
URLNORM = pipeline.stage("url-normalization")


def test_a_dataset_from_other_parameters_is_not_replaced_without_force(store_uri, small_crawl):
    build(store_uri, small_crawl, "url-normalization")
    store = open_store(store_uri)
    key = pipeline.dataset_key(URLNORM, DAY)
    before = datasets.read_meta(store, key)
    argv = ["-m", "steps.url_normalization", "--store", store_uri, "--date", DAY, "--dedup", "canonical-url"]
    refused = run_cli(*argv)
    assert refused.returncode == 1
    err = refused.stderr.decode()
    assert "from other parameters" in err and '"dedup": ["canonical-url"]' in err and "--force" in err
    assert datasets.read_meta(store, key)["sha1"] == before["sha1"]
    replaced = run_cli(*argv, "--force")
    assert replaced.returncode == 0, replaced.stderr.decode()
    after = datasets.read_meta(store, key)
    assert after["created_at"] != before["created_at"] and after["parameters"]["dedup"] == ["canonical-url"]


def test_a_dataset_from_other_inputs_is_not_replaced_without_force(tmp_path, small_crawl):
    store_uri = f"file://{tmp_path / 'store'}"
    build(store_uri, small_crawl, "raw")
    other = tmp_path / "other.jsonl"
    other.write_bytes(small_crawl.read_bytes().split(b"\n", 1)[1])  # the same batch without its first line
    refused = run_cli("-m", "steps.ingest", "--store", store_uri, "--date", DAY, "--input", str(other))
    assert refused.returncode == 1
    assert "from other inputs" in refused.stderr.decode() and "sha1" in refused.stderr.decode()


@pytest.mark.s3
def test_show_lists_the_versions_a_versioned_bucket_keeps(s3_env, small_crawl):
    bucket = s3_env.new_bucket()
    s3_env.client().put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    store_uri = f"s3://{bucket}"
    build(store_uri, small_crawl, "url-normalization")
    argv = ["-m", "steps.url_normalization", "--store", store_uri, "--date", DAY, "--force"]
    assert run_cli(*argv, "--dedup", "canonical-url").returncode == 0
    uri = f"{store_uri}/{pipeline.dataset_key(URLNORM, DAY)}"
    shown = run_cli("medallion", "show", uri)
    assert shown.returncode == 0, shown.stderr.decode()
    lines = [line for line in shown.stdout.decode().splitlines() if line.startswith("#   ")]
    assert len(lines) == 2
    assert lines[0].split()[1] == "current" and lines[1].split()[1] == "earlier"
    created = {line.split("created ")[1] for line in lines}
    assert len(created) == 2  # the replaced dataset's sidecar is still there, under its version


def test_a_held_lease_stops_a_second_run_and_an_expired_one_is_taken_over(tmp_path, small_crawl):
    store_uri = f"file://{tmp_path / 'store'}"
    build(store_uri, small_crawl, "raw")
    store = open_store(store_uri)
    lease = pipeline.dataset_dir(URLNORM, DAY) + LEASE_NAME
    holder = {
        "run_id": "run-elsewhere",
        "workflow": "html-classification",
        "host": "another-host",
        "pid": 1,
        "taken": "2026-11-24T01:00:00Z",
        "expires_epoch": time.time() + 600,
    }
    store.write_bytes(lease, json.dumps(holder).encode())
    argv = ["-m", "steps.url_normalization", "--store", store_uri, "--date", DAY]
    blocked = run_cli(*argv)
    assert blocked.returncode == 1
    err = blocked.stderr.decode()
    assert "another run is building this dataset now: run run-elsewhere" in err and "another-host" in err
    assert datasets.read_meta(store, pipeline.dataset_key(URLNORM, DAY)) is None

    store.write_bytes(lease, json.dumps({**holder, "expires_epoch": time.time() - 1}).encode())
    taken = run_cli(*argv)
    assert taken.returncode == 0, taken.stderr.decode()
    assert "taking over the lease of run run-elsewhere: it expired" in taken.stdout.decode()
    assert not store.exists(lease)  # released when the run ended

    # a lease whose process died on this host is stale at once
    store.write_bytes(
        lease, json.dumps({**holder, "host": socket.gethostname(), "pid": _dead_pid()}).encode()
    )
    again = run_cli(*argv, "--force")
    assert again.returncode == 0 and "its process on this host has died" in again.stdout.decode()


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.mark.slow
def test_two_runs_at_once_never_mix_a_dataset(store_uri, small_crawl, tmp_path):
    build(store_uri, small_crawl, "url-normalization")
    reference = f"file://{tmp_path / 'reference'}"
    build(reference, small_crawl, "html-parsing")
    expected = datasets.read_meta(
        open_store(reference), pipeline.dataset_key(pipeline.stage("html-parsing"), DAY)
    )
    env = {**os.environ, "MEDALLION_WORKERS": "1", "MEDALLION_PROGRESS_SECONDS": "60"}
    argv = [sys.executable, "-m", "steps.html_parsing", "--store", store_uri, "--date", DAY]
    procs = [
        subprocess.Popen(argv, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    results = [(p.wait(timeout=300), p.stdout.read().decode(), p.stderr.read().decode()) for p in procs]
    wrote = [r for r in results if r[0] == 0 and "wrote" in r[1]]
    assert len(wrote) == 1, results
    loser = next(r for r in results if r is not wrote[0])
    assert (loser[0] == 1 and "another run is building this dataset now" in loser[2]) or (
        loser[0] == 0 and "up to date" in loser[1]
    ), loser
    store = open_store(store_uri)
    key = pipeline.dataset_key(pipeline.stage("html-parsing"), DAY)
    assert datasets.read_meta(store, key)["sha1"] == expected["sha1"]
    assert cli_inspect.validate(store, key)[1] == []
