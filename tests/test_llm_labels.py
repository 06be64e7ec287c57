"""``--label-source llm`` against a real OpenAI-compatible server process on loopback (tests/llm_server.py):
a full annotation run, the cache, retries, malformed and out-of-taxonomy answers, the token budget and the
key, which never appears in any output."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import urllib.request
import uuid
from collections import Counter
from pathlib import Path

import pytest
from conftest import build, free_port, run_cli, wait_for_port

from medallion.core import datasets, pipeline
from medallion.core.store import open_store
from medallion.labeling.llm import BUDGET, MALFORMED

DAY = "2026-11-23"
MODEL = "tiny-chat"
ANNOTATED = pipeline.stage("annotated")
SERVER = Path(__file__).resolve().parent / "llm_server.py"


class LlmServer:
    """tests/llm_server.py as its own process on 127.0.0.1, with a recognisable key."""

    def __init__(self, *knobs: str):
        self.key = f"sk-test-{uuid.uuid4().hex}"
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, str(SERVER), "--port", str(self.port), "--key", self.key, *knobs],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)
        self.base_url = f"http://127.0.0.1:{self.port}/v1"

    def stats(self) -> dict:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/stats", headers={"Authorization": f"Bearer {self.key}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture
def server(request):
    started = LlmServer(*getattr(request, "param", ()))
    yield started
    started.stop()


@pytest.fixture(scope="module")
def silver(tmp_path_factory, small_crawl):
    root = tmp_path_factory.mktemp("llm-silver") / "store"
    build(f"file://{root}", small_crawl, "text-normalization")
    return root


@pytest.fixture
def store(silver, tmp_path):
    shutil.copytree(silver, tmp_path / "store")
    return f"file://{tmp_path / 'store'}"


def annotate(store: str, server: LlmServer, *extra: str, key: str | None = None):
    env = {"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": key or server.key, "LLM_NAME": ""}
    argv = ["--store", store, "--date", DAY, "--label-source", "llm", "--llm-model", MODEL]
    return run_cli("-m", "steps.annotation", *argv, "--timeout", "5", *extra, env=env, timeout=180)


def meta_of(store: str) -> dict:
    return datasets.read_meta(open_store(store), pipeline.dataset_key(ANNOTATED, DAY))


def rows_of(store: str) -> list[dict]:
    return list(datasets.Dataset.open(open_store(store), pipeline.dataset_key(ANNOTATED, DAY)).records())


def rejects_of(store: str) -> list[dict]:
    return list(datasets.Dataset.open(open_store(store), pipeline.quarantine_key(ANNOTATED, DAY)).records())


def input_rows(store: str) -> int:
    stage = pipeline.stage("text-normalization")
    return datasets.read_meta(open_store(store), pipeline.dataset_key(stage, DAY, "v2"))["statistics"]["rows"]


def test_a_full_run_labels_within_the_taxonomy_and_a_rerun_pays_nothing(store, server, tmp_path):
    first = annotate(store, server)
    assert first.returncode == 0, first.stderr.decode()[-3000:]
    meta, rows = meta_of(store), rows_of(store)
    assert len(rows) == input_rows(store) and not rejects_of(store)
    taxonomy = [c["name"] for c in meta["taxonomy"]["categories"]]
    assert {r["category"] for r in rows} <= set(taxonomy)
    assert {r["label_source"] for r in rows} == {f"llm:127.0.0.1:{server.port}/{MODEL}"}
    params = meta["parameters"]
    assert params["label_source"] == "llm" and params["model"] == MODEL and len(params["prompt_sha1"]) == 40
    labeling = meta["statistics"]["labeling"]
    paid = server.stats()["completions"]
    assert labeling["paid"] == paid == labeling["requests"] and labeling["retries"] == 0
    assert labeling["total_tokens"] == labeling["prompt_tokens"] + labeling["completion_tokens"] > 0
    assert [s["kind"] for s in meta["sources"] if s["kind"] == "llm"] == ["llm"]

    forced = annotate(store, server, "--force")  # rebuilt from the cache: nothing asked again
    assert forced.returncode == 0, forced.stderr.decode()[-3000:]
    assert server.stats()["requests"] == paid
    again = meta_of(store)["statistics"]["labeling"]
    assert again["paid"] == 0 and again["cached"] == len(rows) and again["total_tokens"] == 0
    assert annotate(store, server).returncode == 0 and server.stats()["requests"] == paid  # up to date

    from medallion.core.store_local import LocalStore
    from medallion.tools.reproduce import replay_args

    argv, env = replay_args(meta_of(store), open_store(store), LocalStore(tmp_path / "scratch"))
    assert argv[argv.index("--llm-model") + 1] == MODEL and argv[argv.index("--label-source") + 1] == "llm"
    assert env == {"LLM_NAME": f"127.0.0.1:{server.port}", "OPENAI_BASE_URL": ""}
    assert any(LocalStore(tmp_path / "scratch").list(pipeline.LABEL_CACHE_ROOT + "/"))

    outputs = [first.stdout, first.stderr, forced.stdout, forced.stderr]
    root = Path(store.removeprefix("file://"))
    outputs += [path.read_bytes() for path in root.rglob("*") if path.is_file()]  # sidecars, rejects, cache
    assert not [o for o in outputs if server.key.encode() in o], "the API key leaked into an output"


@pytest.mark.parametrize("server", [("--rate-limit", "3", "--retry-after", "0.2", "--server-error", "2")],
                         indirect=True)  # fmt: skip
def test_rate_limits_and_server_errors_are_retried(store, server):
    result = annotate(store, server, "--max-retries", "6")
    assert result.returncode == 0, result.stderr.decode()[-3000:]
    stats, labeling = server.stats(), meta_of(store)["statistics"]["labeling"]
    assert stats["rate_limited"] == 3 and stats["server_errors"] == 2
    assert labeling["rate_limited"] == 3 and labeling["retries"] == 5 and labeling["sleep_seconds"] >= 0.6
    assert labeling["requests"] == stats["requests"] == labeling["paid"] + 5 and not rejects_of(store)


@pytest.mark.parametrize("server", [("--rate-limit", "1000", "--retry-after", "0")], indirect=True)
def test_retries_run_out_with_a_clear_message(store, server):
    result = annotate(store, server, "--max-retries", "2", "--concurrency", "1")
    err = result.stderr.decode()
    assert result.returncode == 1 and "kept failing (rate limited (429)) after 2 retries" in err, err[-2000:]
    assert server.stats()["requests"] == 3  # the first failure stops every other request


@pytest.mark.parametrize("server", [("--malformed-share", "0.1", "--outside-share", "0.1")], indirect=True)
def test_malformed_and_outside_answers_are_quarantined(store, server):
    result = annotate(store, server, "--warn-only")
    assert result.returncode == 0, result.stderr.decode()[-3000:]
    stats, rejects = server.stats(), rejects_of(store)
    assert stats["malformed_documents"] > 0 and stats["outside_documents"] > 0
    malformed_texts = {r["record"]["text"] for r in rejects if r["reason"] == MALFORMED}
    assert len(malformed_texts) == stats["malformed_documents"]
    reasons = Counter(r["reason"] for r in rejects)
    assert set(reasons) == {MALFORMED, "category-outside-taxonomy"}
    assert "weather" in next(r["detail"] for r in rejects if r["reason"] == "category-outside-taxonomy")
    meta = meta_of(store)
    assert meta["statistics"]["quarantined"]["by_reason"] == dict(reasons)
    labeling = meta["statistics"]["labeling"]
    assert labeling["malformed"] == 3 * stats["malformed_documents"]  # asked three times each
    assert stats["completions"] == labeling["paid"] + 3 * stats["malformed_documents"]

    before = stats["completions"]  # a rerun asks only the malformed ones again: outside answers are cached
    assert annotate(store, server, "--warn-only", "--force").returncode == 0
    assert server.stats()["completions"] == before + 3 * stats["malformed_documents"]
    assert Counter(r["reason"] for r in rejects_of(store)) == reasons


def test_the_token_budget_stops_paying_and_quarantines_the_rest(store, server):
    budget = 3000
    result = annotate(store, server, "--token-budget", str(budget), "--concurrency", "1", "--warn-only")
    assert result.returncode == 0, result.stderr.decode()[-3000:]
    labeling, rejects = meta_of(store)["statistics"]["labeling"], rejects_of(store)
    assert labeling["token_budget"] == budget and labeling["total_tokens"] >= budget
    assert server.stats()["completions"] == labeling["paid"] == labeling["requests"]
    per_request = labeling["total_tokens"] / labeling["paid"]
    assert labeling["total_tokens"] - budget < 3 * per_request  # one request at a time: it stops at once
    assert rejects and {r["reason"] for r in rejects} == {BUDGET} and labeling["unsent"] > 0
    assert "--token-budget" in rejects[0]["detail"]
    assert len(rows_of(store)) + len(rejects) == input_rows(store)


def test_a_wrong_key_or_no_model_fails_clearly_without_the_key(store, server):
    wrong = f"sk-wrong-{uuid.uuid4().hex}"
    refused = annotate(store, server, key=wrong)
    out = refused.stdout + refused.stderr
    assert refused.returncode == 1 and b"refused the key (401): check OPENAI_API_KEY" in out, out[-2000:]
    assert wrong.encode() not in out and server.key.encode() not in out
    argv = ["--store", store, "--date", DAY, "--label-source", "llm"]
    no_model = run_cli("-m", "steps.annotation", *argv, env={"OPENAI_BASE_URL": server.base_url}, timeout=60)
    assert no_model.returncode == 2 and b"needs --llm-model" in no_model.stderr
    env = {"OPENAI_BASE_URL": "", "OPENAI_API_KEY": "", "LLM_NAME": ""}
    unset = run_cli("-m", "steps.annotation", *argv, "--llm-model", MODEL, env=env, timeout=60)
    assert unset.returncode != 0 and b"OPENAI_BASE_URL is not set" in unset.stderr
