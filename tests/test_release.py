"""Releases: a training set across days from a real three-day demo store, a model registered on it, and
every bad input a release can meet."""

from __future__ import annotations

import shutil

import pyarrow.parquet as pq
import pytest
import yaml
from conftest import THREE_DAYS, meta_of, run_cli

from medallion.core import pipeline
from medallion.core.config import CONFIG_DIR
from medallion.core.store import open_store
from medallion.transforms import release as core

pytestmark = [pytest.mark.xdist_group("release"), pytest.mark.slow]
FIRST, LAST = THREE_DAYS[0], THREE_DAYS[-1]
DAYS = list(THREE_DAYS)
DEMO_RELEASE = f"demo-{FIRST}-{LAST}"


def release(store: str, env: dict, *args: str):
    return run_cli("medallion", "release", "--store", store, *args, env=env)


def test_the_demo_builds_a_release_across_days_deduplicated_and_split(three_days):
    store, _env, root, output = three_days
    meta = meta_of(store, "release", DEMO_RELEASE)
    stats = meta["statistics"]
    assert meta["release"] == {
        "name": DEMO_RELEASE, "from": FIRST, "to": LAST, "source": "post-train", "days": DAYS, "missing": [],
    }  # fmt: skip
    removed = stats["duplicates_removed"]["by_reason"]
    # The demo's later days re-crawl earlier pages and syndicate earlier articles on other sites.
    assert removed["canonical-url"] > 0 and removed["near-duplicate"] > 0
    assert (
        stats["rows"] + stats["duplicates_removed"]["total"] + stats["quarantined"]["total"]
        == stats["input_rows"]
    )
    assert [b["date"] for b in stats["batches"]] == DAYS
    for batch in stats["batches"]:
        source = meta_of(store, "post-train", batch["date"])
        assert batch["sha1"] == source["sha1"] and batch["rows"] == source["statistics"]["rows"]
        assert batch["contributed"] + sum(batch["dropped"].values()) == batch["rows"]
    assert sum(b["contributed"] for b in stats["batches"]) == stats["rows"]
    assert meta["taxonomy"]["sha1"] == meta_of(store, "annotated", LAST)["taxonomy"]["sha1"]

    table = pq.read_table(root / "data" / pipeline.dataset_key(pipeline.stage("release"), DEMO_RELEASE))
    rows = table.to_pylist()
    assert len({r["url"] for r in rows}) == len(rows) == stats["rows"]  # one row per canonical URL
    assert {r["date"] for r in rows} == set(DAYS)
    splits = (0.8, 0.1, 0.1)
    assert all(r["split"] == core.split_of(r["url"], splits) for r in rows)
    for split in core.SPLITS:
        mine = [r for r in rows if r["split"] == split]
        assert stats["splits"][split] == len(mine) > 0
        assert sum(stats["class_balance"][split].values()) == len(mine)
    assert f"release {DEMO_RELEASE}: {stats['rows']:,} documents from 3 days" in output


def test_the_model_is_registered_with_the_release_as_its_input_and_test_metrics(three_days):
    import mlflow

    store, env, _root, output = three_days
    model = meta_of(store, "release-model", DEMO_RELEASE)
    release_meta = meta_of(store, "release", DEMO_RELEASE)
    metrics = model["statistics"]["metrics"]
    assert {"test_accuracy", "test_macro_f1"} <= set(metrics)
    assert {f"test_f1_{c}" for c in release_meta["statistics"]["class_balance"]["train"]} <= set(metrics)
    assert model["sources"][0]["sha1"] == release_meta["sha1"]
    registered = model["statistics"]["mlflow"]
    uri = env["MLFLOW_TRACKING_URI"]
    client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
    version = client.get_model_version(registered["model_name"], str(registered["model_version"]))
    assert version.tags["release.sha1"] == release_meta["sha1"]
    run = client.get_run(version.run_id)
    assert run.data.metrics["test_accuracy"] == pytest.approx(metrics["test_accuracy"])
    inputs = run.inputs.dataset_inputs
    assert [i.dataset.digest for i in inputs] == [release_meta["sha1"][:36]]
    assert inputs[0].dataset.source and release_meta["dataset"].split("://", 1)[1] in inputs[0].dataset.source
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    loaded = mlflow.sklearn.load_model(f"models:/{registered['model_name']}/{registered['model_version']}")
    assert loaded.predict(["the match ended with a late goal"])[0] in set(model["statistics"]["classes"])
    assert f"registered {registered['model_name']} version {registered['model_version']}" in output


def test_a_release_is_memoized_byte_identical_and_splits_stay_put(three_days):
    store, env, root, _output = three_days
    again = release(store, env, "--name", DEMO_RELEASE, "--from", FIRST, "--to", LAST)
    assert again.returncode == 0 and b"] up to date: " in again.stdout, again.stderr
    other = release(store, env, "--name", "same-{to}", "--from", FIRST, "--to", LAST)
    assert other.returncode == 0, other.stderr
    assert (
        meta_of(store, "release", f"same-{LAST}")["sha1"] == meta_of(store, "release", DEMO_RELEASE)["sha1"]
    )
    shorter = release(store, env, "--name", "two-days", "--to", "2026-12-02", "--days", "2")
    assert shorter.returncode == 0, shorter.stderr
    key = pipeline.dataset_key(pipeline.stage("release"), "two-days")
    before = {r["url"]: r["split"] for r in pq.read_table(root / "data" / key).to_pylist()}
    after = {
        r["url"]: r["split"]
        for r in pq.read_table(
            root / "data" / pipeline.dataset_key(pipeline.stage("release"), DEMO_RELEASE)
        ).to_pylist()
    }
    common = set(before) & set(after)
    assert len(common) > len(before) / 2 and all(before[u] == after[u] for u in common)


def test_reproduce_lineage_and_verify_work_on_a_release(three_days):
    store, env, _root, _output = three_days
    uri = f"{store}/{pipeline.dataset_key(pipeline.stage('release'), DEMO_RELEASE)}"
    again = run_cli("medallion", "reproduce", uri, env=env, timeout=600)
    assert again.returncode == 0, again.stdout.decode()[-2000:] + again.stderr.decode()[-2000:]
    assert b"identical: " in again.stdout
    lineage = run_cli("medallion", "lineage", uri, env=env)
    assert lineage.returncode == 0
    text = lineage.stdout.decode()
    assert text.splitlines()[0].startswith(f"release {DEMO_RELEASE}")
    assert all(f"raw {day}" in text for day in DAYS)  # down to every day's crawl
    model = f"{store}/{pipeline.dataset_key(pipeline.stage('release-model'), DEMO_RELEASE)}"
    verify = run_cli("medallion", "verify", uri, model, env=env)
    assert verify.returncode == 0 and verify.stdout.decode().count("ok ") == 2


def test_clean_writes_the_cleaned_release_beside_it(three_days):
    store, env, root, _output = three_days
    trained = run_cli(
        "-m", "steps.train", "--store", store, "--release", DEMO_RELEASE, "--clean", env=env, timeout=600
    )
    assert trained.returncode == 0, trained.stderr.decode()[-2000:]
    cleaned = meta_of(store, "release", DEMO_RELEASE + "-clean")
    assert cleaned["stage"]["name"] == "release-clean"
    assert cleaned["release"]["cleaned_from"] == DEMO_RELEASE
    original = meta_of(store, "release", DEMO_RELEASE)
    removed = cleaned["statistics"]["quarantined"]["by_reason"].get("label-issue", 0)
    assert cleaned["statistics"]["rows"] + removed == original["statistics"]["rows"]
    assert cleaned["statistics"]["label_issues"] == removed
    # The cleaned release is a release: a model trains on it in turn.
    again = run_cli(
        "-m", "steps.train", "--store", store, "--release", DEMO_RELEASE + "-clean", env=env, timeout=600
    )
    assert again.returncode == 0, again.stderr.decode()[-2000:]


def test_bad_windows_and_names_get_clear_messages(three_days):
    store, env, _root, _output = three_days
    empty = release(store, env, "--name", "empty", "--from", "2026-11-01", "--to", "2026-11-05")
    assert empty.returncode == 1 and b"is empty: no post-train batch" in empty.stderr
    gap = release(store, env, "--name", "gap", "--from", "2026-11-30", "--to", "2026-12-02")
    assert gap.returncode == 0, gap.stderr
    assert meta_of(store, "release", "gap")["release"]["missing"] == ["2026-11-30"]
    strict = release(store, env, "--name", "gap2", "--from", "2026-11-30", "--require-all-days", "true")
    assert (
        strict.returncode == 1 and b"2026-11-30" in strict.stderr and b"--require-all-days" in strict.stderr
    )
    for bad in ("../up", "a/b", ".", "x y"):
        refused = release(store, env, "--name", bad)
        assert refused.returncode == 2 and b"not a safe path segment" in refused.stderr, bad
    reserved = release(store, env, "--name", "mine-clean")
    assert reserved.returncode == 2 and b"names the cleaned copy" in reserved.stderr
    splits = release(store, env, "--name", "s", "--splits", "0.5,0.5,0.5")
    assert splits.returncode == 2 and b"adding up to 1" in splits.stderr
    for output in (empty, gap, strict, reserved, splits):
        assert b"Traceback" not in output.stderr
    assert open_store(store).exists(pipeline.dataset_key(pipeline.stage("release"), "empty")) is False


def test_batches_of_another_taxonomy_are_refused_unless_asked_for(three_days, tmp_path):
    store, env, _root, _output = three_days
    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config)
    labels = yaml.safe_load((config / "taxonomy.yaml").read_text())
    dropped = labels["categories"].pop()["name"]  # a team that no longer labels this category
    (config / "taxonomy.yaml").write_text(yaml.safe_dump(labels))
    refused = release(store, env, "--name", "narrow", "--config-dir", str(config))
    assert refused.returncode == 1
    assert b"labeled under another taxonomy" in refused.stderr and b"--allow-other-taxonomy" in refused.stderr
    taken = release(
        store, env, "--name", "narrow", "--config-dir", str(config), "--allow-other-taxonomy", "true"
    )
    assert taken.returncode == 0, taken.stderr
    meta = meta_of(store, "release", "narrow")
    assert meta["statistics"]["quarantined"]["by_reason"]["category-outside-taxonomy"] > 0
    assert all(dropped not in balance for balance in meta["statistics"]["class_balance"].values())
    assert [c["name"] for c in meta["taxonomy"]["categories"]] == [c["name"] for c in labels["categories"]]


def test_the_core_window_split_and_near_duplicates():
    assert core.window(["2026-12-01", "2026-12-03"], None, None, None) == (
        "2026-12-01", "2026-12-03", ["2026-12-01", "2026-12-03"], ["2026-12-02"],
    )  # fmt: skip
    assert core.window(["2026-12-01"], None, "2026-12-03", 2)[:3] == ("2026-12-02", "2026-12-03", [])
    with pytest.raises(ValueError, match="inverted"):
        core.window(["2026-12-01"], "2026-12-05", "2026-12-01", None)
    counts = {s: 0 for s in core.SPLITS}
    for i in range(4000):
        counts[core.split_of(f"https://example.com/{i}", (0.7, 0.2, 0.1))] += 1
    assert abs(counts["train"] / 4000 - 0.7) < 0.03 and abs(counts["test"] / 4000 - 0.1) < 0.02
    assert core.freshest([("u", 1, "d1", 0), ("u", 1, "d2", 5), ("u", 0, "d3", 1)]) == {"u": (1, "d2", 5)}
    near = core.NearDuplicates(0.8)
    text = " ".join(f"word{i}" for i in range(300))
    assert near.first("a", text) is None
    assert near.first("b", text.replace("word7 ", "changed ")) == "a"
    assert near.first("c", " ".join(f"other{i}" for i in range(300))) is None


def test_a_changed_batch_is_named_and_rebuilt_with_force(three_days):
    """Last in the module: it changes a day's batch, then puts it back."""
    store, env, _root, _output = three_days
    name = "changing"
    assert release(store, env, "--name", name).returncode == 0
    built = meta_of(store, "release", name)

    def post_train(mode: str) -> None:
        done = run_cli(
            "-m",
            "steps.post_train",
            "--store",
            store,
            "--date",
            "2026-12-02",
            "--mode",
            mode,
            "--force",
            env=env,
        )
        assert done.returncode == 0, done.stderr.decode()[-2000:]

    post_train("relabel")  # the batch changes: its mislabeled rows relabeled instead of removed
    try:
        assert release(store, env, "--name", name, "--to", LAST).returncode == 1
        refused = release(store, env, "--name", name)
        assert refused.returncode == 1
        assert b"post-train/2026-12-02" in refused.stderr and b"--force" in refused.stderr
        forced = release(store, env, "--name", name, "--force")
        assert forced.returncode == 0, forced.stderr
        rebuilt = meta_of(store, "release", name)
        assert rebuilt["sha1"] != built["sha1"] and rebuilt["sources"] != built["sources"]
    finally:
        post_train("remove")
    assert meta_of(store, "post-train", "2026-12-02")["sha1"] == built["sources"][1]["sha1"]


def test_a_release_from_the_gold_layer(three_days):
    store, env, _root, _output = three_days
    built = release(store, env, "--name", "gold", "--source", "annotated")
    assert built.returncode == 0, built.stderr
    meta = meta_of(store, "release", "gold")
    assert meta["release"]["source"] == "annotated"
    assert all("/annotated/" in source["key"] for source in meta["sources"])
    assert meta["statistics"]["rows"] > meta_of(store, "release", DEMO_RELEASE)["statistics"]["rows"]


def test_the_catalog_shows_the_release_its_batches_and_the_history(three_days, tmp_path):
    store, env, _root, _output = three_days
    out = tmp_path / "catalog"
    built = run_cli("medallion", "catalog", "--store", store, "--out", str(out), env=env)
    assert built.returncode == 0, built.stderr
    index = (out / "index.html").read_text()
    assert f"releases/{DEMO_RELEASE}.html" in index and "<svg" in index
    page = (out / "releases" / f"{DEMO_RELEASE}.html").read_text()
    stats = meta_of(store, "release", DEMO_RELEASE)["statistics"]
    for batch in stats["batches"]:
        assert batch["date"] in page and f"{batch['contributed']:,}" in page
    assert "test_macro_f1" in page or "macro" in page.lower()
