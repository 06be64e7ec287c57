"""Quality gates on real step runs: a failed gate stops the step, keeps the output uncommitted and says why;
--warn-only commits and reports; drift is flagged between two demo dates."""

from __future__ import annotations

import json
import shutil

import pytest
import yaml
from conftest import REPO, build, run_cli, start_labeler

from medallion.cli import demo as cli_demo
from medallion.cli import inspect as cli_inspect
from medallion.core import datasets, pipeline
from medallion.core.store import open_store
from medallion.demo.synthetic import CrawlSpec
from medallion.runtime.quality_hooks import quality_report_key

DAY = "2026-11-23"
PAGE = "<html><head><title>{t}</title></head><body><article>{b}</article></body></html>"


def _crawl(path, good: int, junk: int = 0, empty_pages: int = 0):
    with open(path, "w") as out:
        for i in range(good):
            body = "".join(
                f"<p>Paragraph {j} of story {i} says something worth reading.</p>" for j in range(3)
            )
            out.write(
                json.dumps(
                    {
                        "url": f"https://news.example/s/{i}",
                        "html": PAGE.format(t=f"Story {i} title here", b=body),
                        "timestamp": f"{DAY}T08:00:00Z",
                    }
                )
                + "\n"
            )
        for i in range(empty_pages):
            out.write(
                json.dumps(
                    {
                        "url": f"https://news.example/e/{i}",
                        "html": "<html><body><nav><a href='/'>Home</a></nav></body></html>",
                        "timestamp": f"{DAY}T09:00:00Z",
                    }
                )
                + "\n"
            )
        for i in range(junk):
            out.write(
                '{"url": "https://news.example/broken", "html": "<p>unterminated\n' if i % 2 else "[1, 2]\n"
            )
    return path  # fmt: skip


def test_ingest_stops_when_too_much_is_quarantined_and_warn_only_commits(tmp_path):
    crawl = _crawl(tmp_path / "crawl.jsonl", good=10, junk=5)
    store_uri = f"file://{tmp_path / 'store'}"
    store = open_store(store_uri)
    key = pipeline.dataset_key(pipeline.stage("raw"), DAY)
    args = ["-m", "steps.ingest", "--store", store_uri, "--date", DAY, "--input", str(crawl)]

    failed = run_cli(*args)
    assert failed.returncode == 1
    err = failed.stderr.decode()
    assert "quality gate failed: validity.quarantine_rate = 0.3333 is above the maximum 0.2" in err
    assert "--warn-only" in err and "not committed" in err
    assert datasets.read_meta(store, key) is None and not store.exists(key)
    report = yaml.safe_load(store.read_bytes(quality_report_key(key)))
    assert report["committed"] is False and report["quality"]["passed"] is False
    assert datasets.Dataset.open(store, pipeline.quarantine_key(pipeline.stage("raw"), DAY)).rows == 5
    shown = run_cli("medallion", "quality", store.url(key.rsplit("/", 1)[0]))
    assert shown.returncode == 1
    assert (
        "FAILED its quality gates" in shown.stdout.decode()
        and "FAILED" in shown.stdout.decode().splitlines()[-1]
    )

    warned = run_cli(*args, "--warn-only")
    assert warned.returncode == 0, warned.stderr.decode()
    assert "quality warning: validity.quarantine_rate = 0.3333" in warned.stdout.decode()
    meta = datasets.Dataset.open(store, key).meta
    assert meta["quality"]["passed"] is False and meta["quality"]["warn_only"] is True
    assert not store.exists(quality_report_key(key))  # the committed dataset's report is in its sidecar
    assert run_cli("medallion", "quality", store.url(key)).returncode == 0

    again = run_cli(*args)  # without --warn-only, the dataset that failed its gates is not "up to date"
    assert again.returncode == 1 and "up to date" not in again.stdout.decode()
    assert datasets.Dataset.open(store, key).sha1 == meta["sha1"]  # the committed dataset stays as it was


def test_html_parsing_stops_when_pages_have_no_content(tmp_path):
    crawl = _crawl(tmp_path / "crawl.jsonl", good=8, empty_pages=4)
    store_uri = f"file://{tmp_path / 'store'}"
    result = run_cli(
        "medallion",
        "run",
        "--store",
        store_uri,
        "--date",
        DAY,
        "--input",
        str(crawl),
        "--until",
        "html-parsing",
    )
    assert result.returncode == 1
    assert (
        "[html-parsing] quality gate failed: validity.quarantine_rate = 0.3333 is above the maximum 0.1"
        in result.stderr.decode()
    )
    store = open_store(store_uri)
    assert datasets.read_meta(store, pipeline.dataset_key(pipeline.stage("html-parsing"), DAY)) is None
    rejects = datasets.Dataset.open(store, pipeline.quarantine_key(pipeline.stage("html-parsing"), DAY))
    assert {r["reason"] for r in rejects.records()} == {"no-main-content"}


@pytest.fixture(scope="module")
def gold_store(tmp_path_factory, small_crawl, labeler_service):
    """A store built through post-train from the small crawl, with a gold-standard sample of its articles."""
    root = tmp_path_factory.mktemp("gold-store")
    store_uri = f"file://{root / 'store'}"
    written = cli_demo.write_gold_sample(
        open_store(store_uri), CrawlSpec(date=DAY, documents=120, seed=3), every=3
    )
    assert written == 40
    env = {"LABELER_URL": labeler_service.url, "LABELER_TOKEN": labeler_service.token}
    build(store_uri, small_crawl, "post-train", env=env)
    return store_uri, env


def _strict_config(tmp_path, stage: str) -> tuple[dict, list[str]]:
    """A config dir whose gates for ``stage`` no dataset can pass, and the checks that must fail."""
    config_dir = tmp_path / f"config-{stage}"
    shutil.copytree(REPO / "medallion" / "config", config_dir)
    data = yaml.safe_load((config_dir / "quality.yaml").read_text())
    gates = data["gates"][stage]
    for _check, rule in gates.items():
        if "max" in rule:
            rule["max"] = -1
        else:
            rule["min"] = 10**9
    (config_dir / "quality.yaml").write_text(yaml.safe_dump(data))
    return {"MEDALLION_CONFIG_DIR": str(config_dir)}, [
        c for c, r in gates.items() if r.get("severity") != "warn"
    ]


@pytest.mark.xdist_group("gold-store")
def test_the_gold_layer_is_scored_against_the_gold_sample(gold_store):
    store_uri, _env = gold_store
    store = open_store(store_uri)
    annotated = datasets.Dataset.open(store, pipeline.dataset_key(pipeline.stage("annotated"), DAY)).meta
    accuracy = annotated["quality"]["accuracy"]
    assert accuracy["gold_documents"] >= 30 and accuracy["accuracy"] >= 0.75
    cleaned = datasets.Dataset.open(store, pipeline.dataset_key(pipeline.stage("post-train"), DAY)).meta
    assert cleaned["quality"]["consistency"]["category_mismatches"] == 0
    shown = run_cli(
        "medallion", "quality", store.url(pipeline.dataset_dir(pipeline.stage("post-train"), DAY))
    )
    assert shown.returncode == 0
    assert any(line.split()[:2] == ["accuracy", "accuracy"] for line in shown.stdout.decode().splitlines())


@pytest.mark.slow
@pytest.mark.xdist_group("gold-store")
def test_every_stage_gate_stops_its_stage_on_real_data(tmp_path, gold_store, small_crawl):
    """Each gate configured for each stage, made impossible to pass, fails that stage's real run."""
    store_uri, env = gold_store
    store = open_store(store_uri)
    for stage in pipeline.STAGES:
        extra_env, checks = _strict_config(tmp_path, stage.name)
        version = "v2" if stage.versioned else None
        key = pipeline.dataset_key(stage, DAY, version)
        before = datasets.read_meta(store, key)["sha1"]
        argv = ["-m", stage.module, "--store", store_uri, "--date", DAY, "--force"]
        argv += ["--versions", "v2"] if stage.versioned else []
        argv += ["--input", str(small_crawl)] if stage.name == "raw" else []
        result = run_cli(*argv, env={**env, **extra_env})
        assert result.returncode == 1, stage.name
        err = result.stderr.decode()
        for check in checks:
            assert f"{check} = " in err, (stage.name, check, err[-1500:])
        report = yaml.safe_load(store.read_bytes(quality_report_key(key)))
        failed = {g["check"] for g in report["quality"]["gates"] if g["status"] == "failed"}
        assert set(checks) <= failed, stage.name
        assert datasets.read_meta(store, key)["sha1"] == before  # the committed dataset was not replaced


@pytest.mark.slow
@pytest.mark.xdist_group("gold-store")
def test_a_noisy_labeler_fails_the_accuracy_gate(tmp_path, gold_store):
    store_uri, _env = gold_store
    noisy = start_labeler("--noise", "0.6")
    try:
        env = {"LABELER_URL": noisy.url, "LABELER_TOKEN": noisy.token}
        result = run_cli("-m", "steps.annotation", "--store", store_uri, "--date", DAY, "--force", env=env)
    finally:
        noisy.stop()
    assert result.returncode == 1
    err = result.stderr.decode()
    assert "[annotated] quality gate failed: accuracy.accuracy = " in err and "below the minimum 0.75" in err


@pytest.mark.slow
def test_drift_is_reported_between_two_demo_dates(tmp_path, labeler_service):
    store_uri = f"file://{tmp_path / 'store'}"
    env = {"LABELER_URL": labeler_service.url, "LABELER_TOKEN": labeler_service.token}
    first = run_cli(
        "medallion", "demo", "--store", store_uri, "--date", "2026-11-20", "--documents", "150", env=env
    )
    assert first.returncode == 0, first.stderr.decode()[-2000:]
    store = open_store(store_uri)
    built = [k for k in datasets.find_datasets(store, "html-classification/") if "/2026-11-20/" in k]
    assert len(built) == 17  # nine datasets (with post-train's label issues) and eight quarantines
    for key in built:  # every demo dataset meets its contract and its rows reconcile
        assert cli_inspect.validate(store, key)[1] == [], key
    # The next day's crawl is much smaller and mostly in other languages.
    spec = CrawlSpec(date="2026-11-21", documents=60, seed=9, foreign_rate=0.6)
    crawl = tmp_path / "day2.jsonl"
    with open(crawl, "w") as out:
        from medallion.demo.synthetic import write_crawl

        write_crawl(spec, out)
    second = run_cli(
        "medallion",
        "run",
        "--store",
        store_uri,
        "--date",
        "2026-11-21",
        "--input",
        str(crawl),
        "--until",
        "html-parsing",
        env=env,
    )
    assert second.returncode == 0, second.stderr.decode()[-2000:]
    assert "[raw] quality warning: drift.anomaly_count = 1" in second.stdout.decode()
    meta = datasets.Dataset.open(
        store, pipeline.dataset_key(pipeline.stage("html-parsing"), "2026-11-21")
    ).meta
    drift = meta["quality"]["drift"]
    assert drift["baseline_dates"] == ["2026-11-20"]
    assert {a["metric"] for a in drift["anomalies"]} >= {"rows", "languages"}
    warn = next(g for g in meta["quality"]["gates"] if g["check"] == "drift.anomaly_count")
    assert warn["status"] == "failed" and warn["severity"] == "warn" and meta["quality"]["passed"] is True
    table = run_cli("medallion", "quality", meta["dataset"]).stdout.decode()
    assert "drift anomaly: rows changed by -" in table and "drift anomaly: languages mix moved" in table
