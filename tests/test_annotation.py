"""The gold layer against the real reference labeling service: paid calls, faults, cache, budget, secrets."""

from __future__ import annotations

import threading
import time

import pytest
from conftest import free_port, run_cli, start_labeler, start_labeler_process

from medallion.core import datasets, pipeline
from medallion.core.store import open_store
from medallion.demo.labeler import categorize, noisy
from medallion.labeling.api import LabelCache, LabelingClient, LabelingFailed, labeler_id

DAY = "2026-11-23"
pytestmark = pytest.mark.xdist_group("s3")
ANNOTATED = pipeline.stage("annotated")


@pytest.fixture(scope="module")
def silver(tmp_path_factory, small_crawl):
    """A store with the silver layers built once; tests copy it."""
    root = tmp_path_factory.mktemp("silver") / "store"
    result = run_cli(
        "medallion",
        "run",
        "--store",
        f"file://{root}",
        "--date",
        DAY,
        "--input",
        str(small_crawl),
        "--until",
        "text-normalization",
    )
    assert result.returncode == 0, result.stderr.decode()
    return root


@pytest.fixture
def store(silver, tmp_path):
    import shutil

    target = tmp_path / "store"
    shutil.copytree(silver, target)
    return f"file://{target}"


def annotate(store: str, labeler, *extra: str, timeout: float = 180, name: str = ""):
    env = {"LABELER_URL": labeler.url, "LABELER_TOKEN": labeler.token, "LABELER_NAME": name}
    return run_cli(
        "-m", "steps.annotation", "--store", store, "--date", DAY, *extra, env=env, timeout=timeout
    )


def meta_of(store: str) -> dict:
    return datasets.read_meta(open_store(store), pipeline.dataset_key(ANNOTATED, DAY))


def test_categorizer_and_noise_are_deterministic():
    assert categorize("The striker scored a goal in the final match of the season")[0] == "sports"
    assert categorize("nothing relevant here")[0] is None
    flips = sum(noisy(str(i), f"text {i}", "sports", 0.1, seed=1) != "sports" for i in range(2000))
    assert 150 < flips < 250
    assert noisy("a", "t", "sports", 0.5, 1) == noisy("a", "t", "sports", 0.5, 1)


def test_labels_are_paid_once_and_force_pays_nothing(store):
    labeler = start_labeler("--noise", "0.1")
    try:
        first = annotate(store, labeler)
        assert first.returncode == 0, first.stderr.decode()
        paid = labeler.usage()["documents"]
        meta = meta_of(store)
        stats = meta["statistics"]
        assert paid == stats["labeling"]["paid"] > 0
        assert stats["input_rows"] == stats["rows"] + stats["quarantined"]["total"]
        # without LABELER_NAME the URL is the labeler's name
        assert {"uri": f"labeler:{labeler.url}", "kind": "api", "url": labeler.url} in meta["sources"]
        assert sum(stats["categories"].values()) == stats["rows"]
        forced = annotate(store, labeler, "--force")
        assert forced.returncode == 0, forced.stderr.decode()
        assert labeler.usage()["documents"] == paid, "a --force rebuild must not pay again"
        assert meta_of(store)["sha1"] == meta["sha1"]
        assert (
            meta_of(store)["statistics"]["labeling"]["cached"]
            == stats["rows"] + stats["quarantined"]["total"]
        )
        again = annotate(store, labeler)
        assert b"up to date" in again.stdout
        # the token never shows: not in the sidecar, not in anything the step printed
        text = open_store(store).read_bytes(pipeline.dataset_key(ANNOTATED, DAY) + ".meta.yaml")
        for blob in (text, first.stdout, first.stderr, forced.stdout, forced.stderr):
            assert labeler.token.encode() not in blob
    finally:
        labeler.stop()


def test_the_same_labeler_name_on_another_port_is_up_to_date_and_pays_nothing(store):
    first, moved = start_labeler(), start_labeler()
    try:
        built = annotate(store, first, name="acme-labeling")
        assert built.returncode == 0, built.stderr.decode()
        meta = meta_of(store)
        assert meta["parameters"]["labeler"] == "acme-labeling" and first.url not in str(meta["parameters"])
        again = annotate(store, moved, name="acme-labeling")
        assert again.returncode == 0 and b"up to date" in again.stdout, again.stderr.decode()
        assert meta_of(store)["created_at"] == meta["created_at"]
        forced = annotate(store, moved, "--force", name="acme-labeling")  # labels cached by name
        assert forced.returncode == 0, forced.stderr.decode()
        assert meta_of(store)["sha1"] == meta["sha1"] and moved.usage()["documents"] == 0
        assert {"uri": "labeler:acme-labeling", "kind": "api", "url": moved.url} in meta_of(store)["sources"]
    finally:
        first.stop()
        moved.stop()


def test_rate_limits_and_server_errors_are_retried(store):
    labeler = start_labeler("--rate-limit", "2", "--error-rate", "0.3", "--seed", "5")
    try:
        result = annotate(store, labeler, "--batch-size", "16", "--concurrency", "3")
        assert result.returncode == 0, result.stderr.decode()
        usage = meta_of(store)["statistics"]["labeling"]
        assert usage["rate_limited"] > 0 and usage["retries"] > 0
        assert labeler.usage()["documents"] == usage["paid"]
    finally:
        labeler.stop()


def test_timeouts_then_give_up_with_a_clear_message_keeping_what_was_paid(store):
    labeler = start_labeler("--latency-ms", "1500")
    try:
        result = annotate(store, labeler, "--timeout", "0.3", "--max-retries", "1", timeout=120)
        assert result.returncode == 1
        err = result.stderr.decode()
        assert "kept failing" in err and "cached" in err and "Traceback" not in err
        assert meta_of(store) is None, "no dataset is committed when labeling fails"
    finally:
        labeler.stop()


def test_labeler_killed_mid_run_then_restarted_loses_nothing(store):
    labeler = start_labeler("--latency-ms", "150")
    try:

        def kill_and_restart():
            time.sleep(0.8)
            labeler.stop()
            time.sleep(1.5)
            labeler.start()

        restarter = threading.Thread(target=kill_and_restart)
        restarter.start()
        result = annotate(store, labeler, "--batch-size", "8", "--concurrency", "2", "--max-retries", "8")
        restarter.join()
        assert result.returncode == 0, result.stderr.decode()
        meta = meta_of(store)
        assert meta["statistics"]["labeling"]["retries"] > 0
        reference = start_labeler()
        try:
            ref_store = store.replace("/store", "/ref")
            import shutil

            shutil.copytree(store[len("file://") :], ref_store[len("file://") :])
            assert annotate(ref_store, reference, "--force").returncode == 0
        finally:
            reference.stop()
        # the same labels as an undisturbed run (the service is deterministic): nothing lost
        assert meta_of(ref_store)["statistics"]["rows"] == meta["statistics"]["rows"]
    finally:
        labeler.stop()


def test_budget_caps_paid_documents_and_a_rerun_finishes(store):
    labeler = start_labeler()
    try:
        capped = annotate(store, labeler, "--budget", "40", "--batch-size", "16")
        assert capped.returncode == 1
        assert b"budget of 40" in capped.stderr
        assert labeler.usage()["documents"] == 40
        done = annotate(store, labeler)
        assert done.returncode == 0, done.stderr.decode()
        stats = meta_of(store)["statistics"]["labeling"]
        assert stats["cached"] == 40 and labeler.usage()["documents"] == 40 + stats["paid"]
    finally:
        labeler.stop()


def test_wrong_token_and_missing_settings_fail_clearly(store, labeler_service):
    bad = run_cli(
        "-m",
        "steps.annotation",
        "--store",
        store,
        "--date",
        DAY,
        env={"LABELER_URL": labeler_service.url, "LABELER_TOKEN": "wrong"},
    )
    assert bad.returncode == 1 and b"refused the token" in bad.stderr and b"wrong" not in bad.stderr
    missing = run_cli(
        "-m",
        "steps.annotation",
        "--store",
        store,
        "--date",
        DAY,
        env={"LABELER_URL": "", "LABELER_TOKEN": ""},
    )
    assert missing.returncode == 1 and b"LABELER_URL" in missing.stderr


def test_client_cache_is_keyed_by_text_and_labeler(tmp_path):
    service = start_labeler()  # no noise: the lexicon's own answers
    try:
        store = open_store(f"file://{tmp_path}")
        cache = LabelCache(store, labeler_id(service.url))
        client = LabelingClient(service.url, service.token, batch_size=2)
        docs = [
            ("a", "the striker scored a goal"),
            ("b", "the striker scored a goal"),
            ("c", "vaccine trial for patients"),
        ]
        labels = client.label(docs, cache)
        assert (
            labels["a"] == labels["b"]
            and labels["a"].category == "sports"
            and labels["c"].category == "health"
        )
        assert client.usage.paid == 2, "identical text is paid once"
        again = LabelingClient(service.url, service.token).label(
            docs, LabelCache(store, labeler_id(service.url))
        )
        assert again == labels and service.usage()["documents"] == 2
        assert labeler_id(service.url) != labeler_id("http://other.example/")
    finally:
        service.stop()


def test_unreachable_labeler_fails_after_bounded_retries(tmp_path):
    port = free_port()
    client = LabelingClient(f"http://127.0.0.1:{port}", "t", max_retries=2, backoff_base=0.01)
    started = time.monotonic()
    with pytest.raises(LabelingFailed, match="kept failing"):
        client.label([("a", "text")], LabelCache(open_store(f"file://{tmp_path}"), "x"))
    assert time.monotonic() - started < 5 and client.usage.retries == 2


def test_restart_helper_is_a_real_process():
    port = free_port()
    proc = start_labeler_process(port, "t", [])
    proc.terminate()
    proc.wait(timeout=10)
