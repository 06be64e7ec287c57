"""Traceability a person can see: lineage, reproduce, the HTML catalog in a real browser, on a folder and S3."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from conftest import build, run_cli

from medallion.core import datasets, pipeline, sidecar
from medallion.core.store import open_store

pytestmark = [pytest.mark.xdist_group("traceability"), pytest.mark.slow]
DAY = "2026-11-23"


@pytest.fixture(scope="module", params=["local", "s3"])
def built(request, tmp_path_factory, small_crawl, labeler_service):
    """A store built through post-train: (store URI, environment for the CLI)."""
    env = {"LABELER_URL": labeler_service.url, "LABELER_TOKEN": labeler_service.token}
    if request.param == "s3":
        server = request.getfixturevalue("s3_server")
        store_uri = f"s3://{server.new_bucket()}"
        env |= server.env()
    else:
        store_uri = f"file://{tmp_path_factory.mktemp('traced') / 'store'}"
    env["MLFLOW_TRACKING_URI"] = f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"
    build(store_uri, small_crawl, "post-train", env=env)
    return store_uri, env


def uri_of(store_uri: str, stage: str, version: str | None = None) -> str:
    return f"{store_uri}/{pipeline.dataset_key(pipeline.stage(stage), DAY, version)}"


def test_lineage_goes_down_to_raw_and_up_to_what_was_built(built):
    store_uri, env = built
    result = run_cli("medallion", "lineage", uri_of(store_uri, "post-train"), env=env)
    assert result.returncode == 0, result.stderr.decode()
    text = result.stdout.decode()
    lines = text.splitlines()
    assert lines[0].startswith("post-train 2026-11-23  sha1 ")
    for name in (
        "annotated",
        "train",
        "text-normalization v2",
        "html-parsing",
        "url-normalization",
        "raw 2026-11-23",
    ):
        assert name in text, name
    assert "file crawl.jsonl" in text and "[cleanlab-find-label-issues]" in text and "(see above)" in text
    down = run_cli(
        "medallion", "lineage", "--downstream", uri_of(store_uri, "html-parsing"), env=env
    ).stdout.decode()
    assert "text-normalization v1" in down and "post-train label-issues" in down and "raw" not in down
    mermaid = run_cli(
        "medallion", "lineage", "--format", "mermaid", uri_of(store_uri, "annotated"), env=env
    ).stdout.decode()
    assert (
        mermaid.startswith("graph LR") and mermaid.count("-->") == 6
    )  # file, raw, url, html, text v2 (+api)
    dot = run_cli(
        "medallion", "lineage", "--format", "dot", uri_of(store_uri, "annotated"), env=env
    ).stdout.decode()
    assert dot.startswith("digraph lineage {") and dot.count("->") == 6


def test_reproduce_is_identical_and_rebuilds_a_deleted_upstream(built, tmp_path):
    store_uri, env = built
    result = run_cli(
        "medallion", "reproduce", uri_of(store_uri, "post-train"), "--scratch", str(tmp_path / "a"), env=env
    )
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    assert "identical: " in result.stdout.decode()
    # annotation is rebuilt from the store's label cache: the labeling API is not needed (nor paid) again
    no_api = {**env, "LABELER_URL": "", "LABELER_TOKEN": ""}
    annotated = run_cli(
        "medallion", "reproduce", uri_of(store_uri, "annotated"), "--scratch", str(tmp_path / "b"), env=no_api
    )
    assert annotated.returncode == 0 and "identical: " in annotated.stdout.decode(), (
        annotated.stdout.decode()[-2000:]
    )


@pytest.fixture
def copy_of(built, tmp_path):
    """A copy of the built store that a test may damage (a local folder, whatever the original)."""
    store_uri, env = built
    source = open_store(store_uri)
    target = tmp_path / "copy"
    shutil.copytree(source.root, target)
    old, new = store_uri, f"file://{target}"
    for path in target.rglob("*.meta.yaml"):  # sidecars record where their sources live
        path.write_text(path.read_text().replace(old + "/", new + "/"))
    return new, env


@pytest.mark.parametrize("built", ["local"], indirect=True)  # the damage is done to a folder copy
def test_reproduce_rebuilds_deleted_data_on_the_way(copy_of, tmp_path):
    store_uri, env = copy_of
    store = open_store(store_uri)
    for name in ("html-parsing", "url-normalization"):  # data deleted for a while; sidecars kept
        (Path(store.root) / pipeline.dataset_key(pipeline.stage(name), DAY)).unlink()
    result = run_cli(
        "medallion",
        "reproduce",
        uri_of(store_uri, "text-normalization", "v1"),
        "--scratch",
        str(tmp_path / "s"),
        env=env,
    )
    out = result.stdout.decode()
    assert result.returncode == 0, out + result.stderr.decode()
    assert "rebuilding " + uri_of(store_uri, "html-parsing") + " first: its data is gone" in out
    assert (
        out.index("identical  url-normalization")
        < out.index("identical  html-parsing")
        < out.index("identical  text-normalization v1")
    )
    assert "identical: " in out


@pytest.mark.parametrize("built", ["local"], indirect=True)
def test_reproduce_names_the_first_step_that_diverged(copy_of, tmp_path):
    store_uri, env = copy_of
    store = open_store(store_uri)
    key = pipeline.dataset_key(pipeline.stage("html-parsing"), DAY)
    meta = datasets.read_meta(store, key)
    meta["parameters"]["max_depth"] = 8  # a record that does not match its data: pages this deep are rejected
    store.write_bytes(sidecar.sidecar_key(key), sidecar.dumps(meta).encode())
    (Path(store.root) / key).unlink()
    result = run_cli(
        "medallion",
        "reproduce",
        uri_of(store_uri, "text-normalization", "v1"),
        "--scratch",
        str(tmp_path / "s"),
        env=env,
    )
    out = result.stdout.decode()
    assert result.returncode == 1, out
    assert "diverged: first at html-parsing 2026-11-23" in out and "DIVERGED   text-normalization v1" in out


# -- the catalog, in a real browser --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        if os.environ.get("CI"):
            pytest.fail(
                "chromium and chromedriver are missing: `make tools` (tools/fetch-tools.sh) installs them"
            )
        pytest.skip("chromium/chromedriver not installed: run `make tools` (tools/fetch-tools.sh)")
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,1400"):
        options.add_argument(arg)
    options.binary_location = chromium
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    session = webdriver.Chrome(service=Service(driver), options=options)
    yield session
    session.quit()


def test_the_catalog_renders_in_a_browser_without_errors_and_its_links_resolve(built, tmp_path, browser):
    from selenium.webdriver.common.by import By

    store_uri, env = built
    out = tmp_path / "catalog"
    result = run_cli("medallion", "catalog", "--store", store_uri, "--out", str(out), env=env)
    assert result.returncode == 0, result.stderr.decode()
    pages = sorted(out.rglob("*.html"))
    assert len(pages) == 1 + 17 + 1  # the index, every dataset (with the quarantines), one batch
    checked_links = 0
    for page in pages:
        browser.get(page.as_uri())
        errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
        assert errors == [], (page.name, errors)
        for anchor in browser.find_elements(By.CSS_SELECTOR, "a[href]"):
            href = anchor.get_attribute("href")
            if href.startswith("file://"):
                assert Path(unquote(urlsplit(href).path)).is_file(), (page.name, href)
                checked_links += 1
    assert checked_links > 60
    browser.get((out / "datasets" / "post-train__2026-11-23__documents.parquet.html").as_uri())
    graph = browser.find_element(By.CSS_SELECTOR, "svg.lineage")
    assert graph.size["height"] > 500 and len(graph.find_elements(By.CSS_SELECTOR, "g.node")) == 9
    shown = browser.find_element(By.TAG_NAME, "body").text
    assert "Quality (passed)" in shown and "accuracy" in shown
    assert "business, health, politics, science, sports, technology (medallion/config/taxonomy.yaml" in shown
    browser.get((out / "batches" / f"{DAY}.html").as_uri())
    assert "Text-normalization versions side by side (v1, v2)" in browser.page_source
    assert len(browser.find_elements(By.CSS_SELECTOR, ".side div")) == 8  # four documents, two versions


def test_the_catalog_can_be_written_back_into_the_store(built):
    store_uri, env = built
    target = f"{store_uri}/html-classification/catalog"
    result = run_cli("medallion", "catalog", "--store", store_uri, "--out", target, env=env)
    assert result.returncode == 0, result.stderr.decode()
    assert f"open {target}/index.html" in result.stdout.decode()
    if store_uri.startswith("file://"):
        assert (Path(open_store(store_uri).root) / "html-classification/catalog/index.html").is_file()
    # the catalog is not a dataset: listing the store shows the same datasets as before
    assert "catalog" not in run_cli("medallion", "ls", "--store", store_uri, env=env).stdout.decode()


def test_croissant_export_validates_with_mlcroissant(built, tmp_path):
    import mlcroissant as mlc

    store_uri, env = built
    out = tmp_path / "post-train.croissant.json"
    result = run_cli(
        "medallion", "export-croissant", uri_of(store_uri, "post-train"), "--out", str(out), env=env
    )
    assert result.returncode == 0, result.stderr.decode()
    dataset = mlc.Dataset(jsonld=str(out))
    issues = dataset.metadata.ctx.issues
    assert not issues.errors and not issues.warnings, issues.report()
    exported = json.loads(out.read_text())
    assert exported["distribution"][0]["contentUrl"] == uri_of(store_uri, "post-train")
    assert sorted(exported["isBasedOn"]) == sorted(
        [uri_of(store_uri, "annotated"), uri_of(store_uri, "train")]
    )


@pytest.mark.parametrize("built", ["s3"], indirect=True)
def test_reproduce_rebuilds_deleted_data_on_s3_and_the_rebuilt_file_can_restore_it(
    built, tmp_path, s3_server
):
    store_uri, env = built
    bucket = store_uri.removeprefix("s3://")
    key = pipeline.dataset_key(pipeline.stage("html-parsing"), DAY)
    client = s3_server.client()
    client.delete_object(Bucket=bucket, Key=key)  # data deleted for a while; its sidecar is kept
    try:
        result = run_cli(
            "medallion",
            "reproduce",
            uri_of(store_uri, "text-normalization", "v2"),
            "--scratch",
            str(tmp_path / "s"),
            env=env,
        )
        out = result.stdout.decode()
        assert result.returncode == 0, out + result.stderr.decode()
        assert f"rebuilding {uri_of(store_uri, 'html-parsing')} first: its data is gone" in out
        assert "identical  html-parsing" in out and "identical: " in out
    finally:  # the rebuilt file is byte-identical: it restores the deleted data
        client.upload_file(str(tmp_path / "s" / key), bucket, key)
    assert run_cli("medallion", "verify", uri_of(store_uri, "html-parsing"), env=env).returncode == 0
