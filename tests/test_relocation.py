"""Stores that can move: sidecars name their sources relative to the store, and every reader resolves them
against the store it is given."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import run_cli

from medallion.core import datasets, pipeline
from medallion.core.store import open_store

DAY = "2026-11-23"
UNTIL = "text-normalization"


def land(store_root: Path, crawl: Path) -> None:
    """Put the crawl where crawlers drop it, inside the store, so the whole store moves together."""
    target = store_root / pipeline.landing_key(DAY)
    target.parent.mkdir(parents=True)
    shutil.copyfile(crawl, target)


def ok(result) -> str:
    out, err = result.stdout.decode(), result.stderr.decode()
    assert result.returncode == 0, (out[-2000:], err[-3000:])
    assert "Traceback" not in err
    return out


def check_moved(new: str, old_root: Path, tmp_path: Path) -> None:
    """At ``new``: verify, lineage to raw, reproduce identical, rerun up to date; nothing points at the old
    place."""
    store = open_store(new)
    keys = list(datasets.find_datasets(store, "html-classification/"))
    assert len(keys) >= 8
    verified = ok(run_cli("medallion", "verify", *[store.url(k) for k in keys]))
    assert verified.count("ok ") == len(keys)

    target = store.url(pipeline.dataset_dir(pipeline.stage(UNTIL), DAY, "v2"))
    lineage = ok(run_cli("medallion", "lineage", target))
    assert f"raw {DAY}" in lineage and "GONE" not in lineage
    assert pipeline.landing_key(DAY).rsplit("/", 1)[-1] in lineage

    again = ok(run_cli("medallion", "reproduce", target, "--scratch", str(tmp_path / "scratch")))
    assert f"identical: {target}" in again and "DIVERGED" not in again
    assert str(old_root) not in again

    rerun = ok(run_cli("medallion", "run", "--store", new, "--date", DAY, "--until", UNTIL))
    assert "wrote" not in rerun
    assert rerun.count("up to date") == 5  # raw, url-normalization, html-parsing, v1, v2

    meta = datasets.Dataset.open(store, keys[0]).meta
    assert meta["dataset"] == store.url(keys[0]) and meta["recorded_uri"].startswith(f"file://{old_root}")
    pages = tmp_path / "catalog"
    ok(run_cli("medallion", "catalog", "--store", new, "--out", str(pages)))
    for page in pages.rglob("*.html"):
        assert str(old_root) not in page.read_text(), page


@pytest.fixture
def built_store(tmp_path, small_crawl) -> Path:
    root = tmp_path / "original"
    land(root, small_crawl)
    ok(run_cli("medallion", "run", "--store", f"file://{root}", "--date", DAY, "--until", UNTIL))
    return root


@pytest.mark.slow
def test_a_store_copied_to_another_folder_still_works(built_store, tmp_path):
    moved = tmp_path / "moved"
    shutil.copytree(built_store, moved)  # new mtimes and ctimes: fingerprints differ, data re-hashed once
    shutil.rmtree(built_store)
    check_moved(f"file://{moved}", built_store, tmp_path)


@pytest.mark.slow
@pytest.mark.s3
def test_a_store_copied_to_a_bucket_still_works(built_store, tmp_path, s3_env):
    bucket = s3_env.new_bucket()
    client = s3_env.client()
    for path in sorted(built_store.rglob("*")):
        if path.is_file() and ".scratch" not in path.parts:
            client.upload_file(str(path), bucket, f"copied/{path.relative_to(built_store)}")
    shutil.rmtree(built_store)
    check_moved(f"s3://{bucket}/copied", built_store, tmp_path)


def test_relative_store_names_are_one_store_resolved_once(tmp_path, small_crawl):
    """`data`, `./data`, `/abs/data` and `file://./data` from the same directory are the same store; what the
    sidecars record does not depend on the directory a reader runs in."""
    work = tmp_path / "work"
    land(work / "data", small_crawl)
    first = ok(run_cli("medallion", "run", "--store", "data", "--date", DAY, "--until", "raw", cwd=work))
    assert "wrote" in first
    for name in ("./data", str(work / "data"), "file://./data", f"file://{work / 'data'}", "data/"):
        rerun = ok(run_cli("medallion", "run", "--store", name, "--date", DAY, "--until", "raw", cwd=work))
        assert "up to date" in rerun and "wrote" not in rerun, name
    meta = datasets.read_meta(
        open_store(str(work / "data")), pipeline.dataset_key(pipeline.stage("raw"), DAY)
    )
    assert meta["dataset"].startswith(f"file://{work / 'data'}/")
    assert meta["sources"][0]["key"] == pipeline.landing_key(DAY)
    # From another working directory, a relative path to the same store reads the same datasets.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    relative = f"../work/data/html-classification/raw/{DAY}/"
    assert ok(run_cli("medallion", "verify", relative, cwd=elsewhere)).startswith("ok file://")
    shown = ok(run_cli("medallion", "show", relative, cwd=elsewhere))
    assert f"file://{work / 'data'}/html-classification/raw/{DAY}/crawl.jsonl" in shown
