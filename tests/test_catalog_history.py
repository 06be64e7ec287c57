"""The catalog's history charts: a point (or bar) per batch date, with the sidecars' numbers in its tooltips.

Fast tests draw the charts from sidecar-shaped records (1 and 30 dates); the slow ones build a real store with
`medallion demo` on two dates, render it with `medallion catalog`, and look at it in a real browser.
"""

from __future__ import annotations

import html
import os
import re
import shutil
from pathlib import Path

import pytest
from conftest import run_cli

from medallion.core import datasets, pipeline
from medallion.core.store import open_store
from medallion.tools import catalog_history

DAYS = ["2026-12-01", "2026-12-02"]
CATEGORIES = ["business", "health", "politics"]
NO_LABELER = {"LABELER_URL": "", "LABELER_TOKEN": "", "LABELER_NAME": ""}  # the demo starts its own


def charts(page: str) -> dict[str, str]:
    """Each accessible chart of a page by its aria-label."""
    found = re.findall(r'<svg [^>]*role="img" aria-label="([^"]+)">(.*?)</svg>', page, re.S)
    return {html.unescape(label): body for label, body in found}


def chart(page: str, starts: str) -> str:
    (body,) = [body for label, body in charts(page).items() if label.startswith(starts)]
    return body


def point_titles(svg: str, series: str) -> list[str]:
    group = re.search(rf'<g class="series" data-series="{re.escape(series)}">(.*?)</g>', svg, re.S)
    assert group, f"no series {series}"
    return [html.unescape(t) for t in re.findall(r"<title>(.*?)</title>", group.group(1))]


def record(
    stage: str, day: str, rows: int, given: int, quarantined: int, version: str | None = None
) -> tuple:
    """(key, sidecar) with what the charts read of a sidecar."""
    key = pipeline.dataset_key(pipeline.stage(stage), day, version)
    stats = {"rows": rows, "input_rows": given, "quarantined": {"total": quarantined, "by_reason": {}}}
    return key, {
        "stage": {"name": stage, "version": version},
        "kind": "dataset",
        "date": day,
        "statistics": stats,
    }


def batches(days: list[str]) -> dict[str, dict]:
    metas = {}
    for i, day in enumerate(days):
        metas.update([record("raw", day, 100 + i, 110 + i, 10)])
        metas.update([record("text-normalization", day, 90 + i, 90 + i, 0, "v2")])
        key, gold = record("annotated", day, 60 + i, 90 + i, 30 + i)
        gold["statistics"]["categories"] = {"politics": 30, "business": 20 + i, "health": 10}
        gold["taxonomy"] = {"categories": [{"name": c} for c in CATEGORIES]}
        metas[key] = gold
    metas["html-classification/post-train/2026-12-01/label-issues.parquet"] = {  # a side dataset: not charted
        "stage": {"name": "post-train"},
        "kind": "dataset",
        "date": days[0],
        "statistics": {"rows": 5},
    }
    metas["html-classification/sampling/2026-12-01/documents.parquet"] = {  # an unknown stage: not charted
        "stage": {"name": "sampling"},
        "kind": "dataset",
        "date": days[0],
        "statistics": {"rows": 5},
    }
    return metas


@pytest.mark.parametrize("count", [1, 30])
def test_each_chart_has_one_point_or_bar_per_date(count):
    days = [f"2026-11-{d:02d}" for d in range(1, 31)][:count]
    page = catalog_history.history(batches(days))
    assert len(charts(page)) == 3
    rows = chart(page, "Rows of each stage")
    assert point_titles(rows, "raw") == [f"{day} · raw: {100 + i:,} rows" for i, day in enumerate(days)]
    assert len(point_titles(rows, "text-normalization v2")) == count
    assert 'data-series="post-train"' not in rows and "sampling" not in page  # neither is a main dataset
    rates = chart(page, "Share of each stage's input rows quarantined")
    assert point_titles(rates, "annotated")[0] == f"{days[0]} · annotated: 33.3%"
    mix = chart(page, "Category mix of annotated")
    columns = re.findall(r'<g class="column" data-x="([^"]+)" data-total="(\d+)">(.*?)</g>', mix, re.S)
    assert [(day, int(total)) for day, total, _ in columns] == [(day, 60 + i) for i, day in enumerate(days)]
    first = re.findall(r"<title>(.*?)</title>", columns[0][2])
    assert first == [
        f"{days[0]} · business: 20 (33.3% of 60)",
        f"{days[0]} · health: 10 (16.7% of 60)",
        f"{days[0]} · politics: 30 (50.0% of 60)",
    ]
    for label in CATEGORIES + ["raw", "annotated"]:
        assert f"{label}</text></g>" in page  # in a legend
    assert "batch date</text>" in rows and "quarantined / input rows</text>" in rates  # the axes' titles


def test_no_batch_no_history():
    assert catalog_history.history({}) == ""


def test_the_category_mix_falls_back_on_the_quality_profile():
    meta = {
        "statistics": {"rows": 200},
        "quality": {"drift": {"profile": {"categories": {"a": 0.25, "b": 0.75}}}},
    }
    assert catalog_history.category_counts(meta) == {"a": 50, "b": 150}


# -- on a store the demo built on two dates ------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory) -> tuple[str, Path]:
    """A store the demo built on two dates, and its catalog: (store URI, catalog folder)."""
    root = tmp_path_factory.mktemp("history")
    env = {**NO_LABELER, "MLFLOW_TRACKING_URI": f"sqlite:///{root / 'mlflow.db'}"}
    store = f"file://{root / 'data'}"
    for day in DAYS:
        built = run_cli(
            "medallion", "demo", "--store", store, "--date", day, "--documents", "120",
            # The charts' store, not a gate test: 24 gold documents a day make accuracy a coin toss.
            "--warn-only",
            env=env, cwd=root,
        )  # fmt: skip
        assert built.returncode == 0, built.stderr.decode()[-2000:]
    out = root / "catalog"
    result = run_cli("medallion", "catalog", "--store", store, "--out", str(out))
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    return store, out


def main_meta(store: str, stage: str, day: str) -> dict:
    return datasets.read_meta(open_store(store), pipeline.dataset_key(pipeline.stage(stage), day))


@pytest.mark.slow
@pytest.mark.xdist_group("catalog-history")
def test_the_index_charts_each_batch_date_with_the_sidecars_numbers(demo_store, tmp_path):
    store, out = demo_store
    index = (out / "index.html").read_text()
    rows = chart(
        index, "Rows of each stage's main dataset per batch date: 2 batch dates, 2026-12-01 to 2026-12-02"
    )
    rates = chart(index, "Share of each stage's input rows quarantined")
    for stage in ("raw", "annotated", "post-train"):
        metas = [main_meta(store, stage, day) for day in DAYS]
        assert point_titles(rows, stage) == [
            f"{m['date']} · {stage}: {m['statistics']['rows']:,} rows" for m in metas
        ]
        shares = [m["statistics"]["quarantined"]["total"] / m["statistics"]["input_rows"] for m in metas]
        assert point_titles(rates, stage) == [
            f"{d} · {stage}: {100 * s:.1f}%" for d, s in zip(DAYS, shares, strict=True)
        ]
    mix = chart(index, "Category mix of annotated")
    columns = re.findall(r'<g class="column" data-x="([^"]+)" data-total="(\d+)">(.*?)</g>', mix, re.S)
    assert [day for day, _total, _ in columns] == DAYS
    for day, total, bar in columns:
        categories = main_meta(store, "annotated", day)["statistics"]["categories"]
        assert (
            int(total) == sum(categories.values()) == main_meta(store, "annotated", day)["statistics"]["rows"]
        )
        for name, n in categories.items():
            assert f"<title>{day} · {name}: {n:,} (" in bar
    # the same store gives the same pages, whatever the process' hash seed
    again = tmp_path / "again"
    assert run_cli("medallion", "catalog", "--store", store, "--out", str(again)).returncode == 0
    assert (again / "index.html").read_text() == index


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


@pytest.mark.slow
@pytest.mark.xdist_group("catalog-history")
def test_the_history_charts_render_in_a_browser(demo_store, browser):
    from selenium.webdriver.common.by import By

    _store, out = demo_store
    browser.get((out / "index.html").as_uri())
    errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
    assert errors == []
    svgs = browser.find_elements(By.CSS_SELECTOR, 'svg[role="img"]')
    assert [s.get_attribute("aria-label").split(" per ")[0] for s in svgs] == [
        "Rows of each stage's main dataset",
        "Share of each stage's input rows quarantined",
        "Category mix of annotated",
    ]
    for svg in svgs:
        assert svg.size["width"] > 300 and svg.size["height"] > 200
    points = svgs[0].find_elements(By.CSS_SELECTOR, 'g.series[data-series="raw"] circle.point')
    assert len(points) == 2 and all(p.size["width"] > 0 for p in points)
    assert len(svgs[2].find_elements(By.CSS_SELECTOR, "g.column")) == 2
    segment = svgs[2].find_element(By.CSS_SELECTOR, "g.column rect")
    assert segment.size["height"] > 10  # a share of a 220-pixel bar, drawn
