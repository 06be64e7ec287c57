"""The gold layer against the real reference labeling service: paid calls, faults, cache, budget, secrets."""

from __future__ import annotations

import json
import shutil
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml
from conftest import free_port, run_cli, start_labeler, start_labeler_process

from medallion.core import datasets, pipeline, taxonomy
from medallion.core.config import CONFIG_DIR, SCHEMA_DIR
from medallion.core.store import open_store
from medallion.demo.labeler import categorize, noisy
from medallion.labeling.api import CACHE_ROOT, LabelCache, LabelingClient, LabelingFailed, labeler_id

DAY = "2026-11-23"
pytestmark = pytest.mark.xdist_group("s3")
ANNOTATED = pipeline.stage("annotated")


@pytest.fixture(scope="module")
def silver(tmp_path_factory, small_crawl):
    """A store with the silver layers built once; tests copy it."""
    root = tmp_path_factory.mktemp("silver") / "store"
    argv = ["run", "--store", f"file://{root}", "--date", DAY, "--input", str(small_crawl)]
    result = run_cli("medallion", *argv, "--until", "text-normalization")
    assert result.returncode == 0, result.stderr.decode()
    return root


@pytest.fixture
def store(silver, tmp_path):
    target = tmp_path / "store"
    shutil.copytree(silver, target)
    return f"file://{target}"


def annotate(
    store: str, labeler, *extra: str, timeout: float = 180, name: str = "", config: Path | None = None
):
    env = {"LABELER_URL": labeler.url, "LABELER_TOKEN": labeler.token, "LABELER_NAME": name}
    env["MEDALLION_CONFIG_DIR"] = str(config or CONFIG_DIR)
    return run_cli(
        "-m", "steps.annotation", "--store", store, "--date", DAY, *extra, env=env, timeout=timeout
    )


def meta_of(store: str) -> dict:
    return datasets.read_meta(open_store(store), pipeline.dataset_key(ANNOTATED, DAY))


def rejects_of(store: str) -> list[dict]:
    return list(datasets.Dataset.open(open_store(store), pipeline.quarantine_key(ANNOTATED, DAY)).records())


def own_config(folder: Path, names: tuple[str, ...]) -> Path:
    """A configuration folder like the default one whose taxonomy holds only ``names``."""
    shutil.copytree(CONFIG_DIR, folder)
    categories = [{"name": name, "description": f"Articles about {name}."} for name in names]
    (folder / "taxonomy.yaml").write_text(yaml.safe_dump({"categories": categories}))
    return folder


def cache_prefixes(store: str, name: str) -> set[str]:
    """The taxonomy folders of a labeler's label cache."""
    root = f"{CACHE_ROOT}/{labeler_id(name)}/"
    return {key[len(root) :].split("/")[0] for key in open_store(store).list(root)}


DEMO_TAXONOMY = taxonomy.load(CONFIG_DIR / "taxonomy.yaml")
DEMO = DEMO_TAXONOMY.names


def test_categorizer_and_noise_are_deterministic():
    assert categorize("The striker scored a goal in the final match of the season", DEMO)[0] == "sports"
    assert categorize("nothing relevant here", DEMO)[0] is None
    # only the requested categories score; one the lexicon has no keywords for scores zero
    assert categorize("the striker scored; a vaccine for patients", ("health", "billing")) == ("health", 1.0)
    assert categorize("the striker scored a goal", ("billing", "health")) == (None, 0.0)
    assert categorize("the vaccine; the striker", ("sports", "health"))[0] == "sports"  # a tie: the first
    assert categorize("the vaccine; the striker", ("health", "sports"))[0] == "health"
    flips = sum(noisy(f"text {i}", "sports", DEMO, 0.1, seed=1) != "sports" for i in range(2000))
    assert 150 < flips < 250
    assert noisy("t", "sports", DEMO, 0.5, 1) == noisy("t", "sports", DEMO, 0.5, 1)
    assert {noisy(f"text {i}", "sports", ("sports", "health"), 0.5, 1) for i in range(200)} == {
        "sports",
        "health",
    }


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


def test_client_cache_is_keyed_by_text_labeler_and_taxonomy(tmp_path):
    service = start_labeler()  # no noise: the lexicon's own answers
    demo = DEMO_TAXONOMY
    try:
        store = open_store(f"file://{tmp_path}")
        cache = LabelCache(store, labeler_id(service.url), demo.sha1)
        client = LabelingClient(service.url, service.token, demo, batch_size=2)
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
        again = LabelingClient(service.url, service.token, demo).label(
            docs, LabelCache(store, labeler_id(service.url), demo.sha1)
        )
        assert again == labels and service.usage()["documents"] == 2
        assert labeler_id(service.url) != labeler_id("http://other.example/")
        # Another taxonomy is another question: asked again, answered within its two categories only.
        two = taxonomy.load(own_config(tmp_path / "two", ("politics", "health")) / "taxonomy.yaml")
        theirs = LabelingClient(service.url, service.token, two).label(
            docs, LabelCache(store, labeler_id(service.url), two.sha1)
        )
        assert theirs["a"].category is None and theirs["c"].category == "health"
        assert service.usage()["documents"] == 4
        with pytest.raises(ValueError, match="another taxonomy"):
            client.label(docs, LabelCache(store, labeler_id(service.url), two.sha1))
    finally:
        service.stop()


def test_the_request_follows_the_contract_and_the_labeler_requires_categories(tmp_path):
    from jsonschema import Draft4Validator

    contract = yaml.safe_load((SCHEMA_DIR / "labeling-api.openapi.yaml").read_text())
    demo, service = DEMO_TAXONOMY, start_labeler()
    try:
        client = LabelingClient(service.url, service.token, demo)
        body = client.request_body([{"id": "a", "text": "the striker scored"}])
        schema = {
            **contract["components"]["schemas"]["CategorizationRequest"],
            "components": contract["components"],
        }
        Draft4Validator(schema).validate(body)
        assert [c["name"] for c in body["categories"]] == list(demo.names)
        assert body["categories"][0]["description"] == demo.categories[0].description

        def post(payload: dict) -> tuple[int, dict]:
            request = urllib.request.Request(
                f"{service.url}/v1/document-categorization",
                data=json.dumps(payload).encode(),
                headers={"Content-Type": "application/json", "Authorization": f"Bearer {service.token}"},
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    return response.status, json.loads(response.read())
            except urllib.error.HTTPError as exc:
                return exc.code, json.loads(exc.read())

        assert post(body) == (200, {"results": [{"id": "a", "category": "sports", "confidence": 1.0}]})
        code, answer = post({"documents": body["documents"]})
        assert code == 400 and "categories is required" in answer["error"]
        code, answer = post({**body, "categories": [body["categories"][0]] * 2})
        assert code == 400 and "listed twice" in answer["error"]
        assert service.usage()["documents"] == 1, "a rejected request is not billed"
    finally:
        service.stop()


def test_unreachable_labeler_fails_after_bounded_retries(tmp_path):
    port = free_port()
    client = LabelingClient(f"http://127.0.0.1:{port}", "t", DEMO_TAXONOMY, max_retries=2, backoff_base=0.01)
    started = time.monotonic()
    with pytest.raises(LabelingFailed, match="kept failing"):
        client.label([("a", "text")], LabelCache(open_store(f"file://{tmp_path}"), "x", DEMO_TAXONOMY.sha1))
    assert time.monotonic() - started < 5 and client.usage.retries == 2


def test_restart_helper_is_a_real_process():
    port = free_port()
    proc = start_labeler_process(port, "t", [])
    proc.terminate()
    proc.wait(timeout=10)


def test_another_taxonomy_is_asked_again_and_answered_within_it(store, tmp_path):
    labeler = start_labeler("--noise", "0.1")
    two = own_config(tmp_path / "two", ("sports", "health"))
    try:
        first = annotate(store, labeler)
        assert first.returncode == 0, first.stderr.decode()
        paid, meta = labeler.usage()["documents"], meta_of(store)
        assert meta["taxonomy"]["sha1"] == DEMO_TAXONOMY.sha1
        assert len(set(meta["statistics"]["categories"])) > 2
        # The same texts under another taxonomy are another question: a new cache prefix, paid again.
        # (The lexicon knows few words of two categories: most documents get no category, hence --warn-only.)
        # A changed taxonomy rebuilds what depends on it: no --force needed, nothing refused.
        theirs = annotate(store, labeler, "--warn-only", config=two)
        assert theirs.returncode == 0, theirs.stderr.decode()
        meta = meta_of(store)
        stats = meta["statistics"]
        sent = stats["input_rows"]  # every document was asked again (some texts are shared)
        assert (
            0 < stats["labeling"]["paid"] <= sent
            and stats["labeling"]["cached"] == sent - stats["labeling"]["paid"]
        )
        assert labeler.usage()["documents"] == paid + stats["labeling"]["paid"]
        assert meta["taxonomy"]["sha1"] == taxonomy.load(two / "taxonomy.yaml").sha1
        assert set(stats["categories"]) == {"sports", "health"}, "answers within the request's categories"
        assert stats["quarantined"]["by_reason"].get("category-outside-taxonomy", 0) == 0
        assert {r["category"] for r in datasets.Dataset.open(open_store(store), pipeline.dataset_key(ANNOTATED, DAY)).records(columns=["category"])} == {"sports", "health"}  # fmt: skip
        assert cache_prefixes(store, labeler.url) == {
            DEMO_TAXONOMY.sha1[:16],
            meta["taxonomy"]["sha1"][:16],
        }
        # Each taxonomy's labels stay cached: going back to either pays nothing.
        for config in (CONFIG_DIR, two):
            again = annotate(store, labeler, "--force", "--warn-only", config=config)
            assert again.returncode == 0, again.stderr.decode()
            assert meta_of(store)["statistics"]["labeling"]["paid"] == 0
        assert labeler.usage()["documents"] == paid + stats["labeling"]["paid"]
    finally:
        labeler.stop()


def test_an_answer_outside_the_taxonomy_is_quarantined_on_every_run(store):
    labeler = start_labeler("--stray-rate", "0.25", "--stray-category", "cooking")
    try:
        first = annotate(store, labeler, "--warn-only")  # the quarantine-rate gate would stop it otherwise
        assert first.returncode == 0, first.stderr.decode()
        paid, stats = labeler.usage()["documents"], meta_of(store)["statistics"]
        stray = stats["quarantined"]["by_reason"]["category-outside-taxonomy"]
        assert 0 < stray < stats["input_rows"] and stats["rows"] > 0
        assert "cooking" not in stats["categories"]
        outside = [r for r in rejects_of(store) if r["reason"] == "category-outside-taxonomy"]
        assert len(outside) == stray
        assert "answered 'cooking'" in outside[0]["detail"] and ", ".join(DEMO) in outside[0]["detail"]
        # Cached as answered (it was paid for) and checked again when read: a rebuild pays nothing and
        # quarantines the same documents.
        forced = annotate(store, labeler, "--force", "--warn-only")
        assert forced.returncode == 0, forced.stderr.decode()
        again = meta_of(store)["statistics"]
        assert labeler.usage()["documents"] == paid and again["labeling"]["paid"] == 0
        assert again["quarantined"]["by_reason"] == stats["quarantined"]["by_reason"]
        assert again["rows"] == stats["rows"]
    finally:
        labeler.stop()
