"""The LabelSource interface: the --label-source contract, both sources on plain rows, and a new source
plugged into the annotation step through the registry alone."""

from __future__ import annotations

import argparse
import json

import pytest
from conftest import build

from medallion.core import datasets, pipeline, taxonomy
from medallion.core.config import ConfigError
from medallion.core.errors import StepFailed
from medallion.core.store import open_store
from medallion.core.store_local import LocalStore
from medallion.labeling import sources
from medallion.labeling.api import CACHE_ROOT, Label, LabelCache, labeler_id, text_key
from medallion.labeling.source import Identity, Labeled, LabelSource, LabelSourceError, Unlabeled
from medallion.runtime.failures import UsageError
from steps import annotation

DAY = "2026-11-23"
TAXONOMY = taxonomy.load()  # the default: the demo's six categories


class Rows:
    """Documents as plain rows: what a source reads, without a store."""

    def __init__(self, rows: list[dict]):
        self.rows = rows

    def records(self, columns=None):
        return iter([{c: r[c] for c in columns} if columns else dict(r) for r in self.rows])


ROWS = [
    {"url": "https://a.example/1", "text": "the striker scored"},
    {"url": "https://a.example/2", "text": "a vaccine trial"},
    {"url": "https://a.example/3", "text": "nothing to say"},
    {"url": "https://a.example/4", "text": "a recipe for soup"},
]


def taxonomy_file(folder, names: tuple[str, ...]):
    """``folder``/taxonomy.yaml holding only ``names``."""
    file = folder / "taxonomy.yaml"
    file.write_text(json.dumps({"categories": [{"name": n, "description": f"About {n}."} for n in names]}))
    return file


def api_options(**given) -> argparse.Namespace:
    options = {"batch_size": 32, "concurrency": 4, "timeout": 10.0, "max_retries": 6, "budget": None}
    return argparse.Namespace(**(options | given))


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("crowd", "--label-source must be 'api' or 'llm' or 'label-studio:FILE', got 'crowd'"),
        ("api:x", "--label-source must be 'api' or 'llm' or 'label-studio:FILE', got 'api:x'"),
        ("label-studio", "--label-source must be 'api' or 'llm' or 'label-studio:FILE', got 'label-studio'"),
        ("label-studio:", "--label-source label-studio:: there is no such Label Studio export file"),
        ("label-studio:/no/x.json", "--label-source label-studio:/no/x.json: there is no such Label Studio"),
    ],
)
def test_the_label_source_contract(spec, message):
    with pytest.raises(LabelSourceError) as raised:
        sources.parse(spec)
    assert str(raised.value).startswith(message)
    with pytest.raises(UsageError):  # exit 2, before anything runs
        annotation.check_label_source(spec)
    assert sources.parse("api") == (sources.ApiLabels, None)


def vote(who: int, choice: str) -> dict:
    return {"completed_by": who, "result": [{"type": "choices", "value": {"choices": [choice]}}]}


def test_label_studio_labels_plain_rows_against_the_taxonomy(tmp_path):
    export = tmp_path / "export.json"
    export.write_text(
        json.dumps(
            [
                {"id": 1, "data": {"url": "https://a.example/1"}, "annotations": [vote(1, "sports"), vote(2, "sports"), vote(3, "health")]},
                {"id": 2, "data": {"url": "https://a.example/2"}, "annotations": [vote(1, "cooking")]},
            ]
        )
    )  # fmt: skip
    source = sources.create(f"label-studio:{export}", argparse.Namespace(gold=None))
    identity = source.identify("v2", None, force=False)
    assert identity.params["label_source"] == "label-studio" and identity.source["kind"] == "file"
    source.prepare(None, Rows(ROWS), TAXONOMY)
    assert source.label(ROWS[0]) == Labeled("sports", 0.6667, 3, "label-studio")
    # 'cooking' is not in the taxonomy: that document is unlabeled, its choice counted as invalid
    assert source.label(ROWS[1]) == Unlabeled("no-human-label", "no annotator labeled this document")
    stats = source.statistics()
    assert stats["human_labels"]["invalid"] == 1 and stats["human_labels"]["unlabeled_documents"] == 3


def test_api_labels_from_the_cache_need_no_api_and_keep_the_committed_labeler(tmp_path, monkeypatch):
    for name, value in {"LABELER_NAME": "acme", "LABELER_URL": "", "LABELER_TOKEN": ""}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("MEDALLION_CONFIG_DIR", raising=False)
    store = open_store(f"file://{tmp_path}")
    cache = LabelCache(store, labeler_id("acme"), TAXONOMY.sha1)
    cache.add(
        {text_key(ROWS[0]["text"]): Label("sports", 0.9), text_key(ROWS[1]["text"]): Label("health", 0.8)}
    )
    cache.add({text_key(ROWS[2]["text"]): Label(None, 0.0), text_key(ROWS[3]["text"]): Label("cooking", 0.7)})
    source = sources.create("api", api_options())
    committed = {
        "stage": {"name": "annotated"},
        "date": DAY,
        "parameters": {"label_source": "api", "labeler": "other"},
    }
    with pytest.raises(StepFailed, match="committed with labels of 'other'.*LABELER_NAME=other"):
        source.identify("v2", committed, force=False)
    identity = source.identify("v2", committed, force=True)
    assert identity.params == {
        "version": "v2",
        "label_source": "api",
        "labeler": "acme",
    }
    assert identity.process[0]["params"]["taxonomy"] == TAXONOMY.sha1
    assert identity.source == {"uri": "labeler:acme", "kind": "api"}  # no URL set: none recorded
    assert source.prepare(store, Rows(ROWS), TAXONOMY) == []  # all cached: LABELER_URL is not needed
    assert [annotation.annotated(source, row).get("category") for row in ROWS[:2]] == ["sports", "health"]
    assert annotation.annotated(source, ROWS[2]).reason == "unlabelable"
    # a cached answer outside the taxonomy is never taken for a label
    assert source.label(ROWS[3]) == Unlabeled(
        "category-outside-taxonomy",
        f"the labeling API answered 'cooking', which is not in the taxonomy ({', '.join(TAXONOMY.names)})",
    )
    stats = source.statistics()
    assert stats["labeling"]["paid"] == 0 and stats["labeling"]["cached"] == 4
    assert stats["categories"] == {"health": 1, "sports": 1}
    assert source.summary() == ["labeling: 0 documents paid for, 4 from the cache, 0 requests, 0 retries"]  # fmt: skip
    # Under another taxonomy nothing of this is cached: the API is needed (and not set).
    other = taxonomy.load(taxonomy_file(tmp_path, ("sports", "health")))
    with pytest.raises(StepFailed, match="changed while the step ran"):
        source.prepare(store, Rows(ROWS), other)
    monkeypatch.setenv("MEDALLION_CONFIG_DIR", str(tmp_path))
    theirs = sources.create("api", api_options())
    assert theirs.identify("v2", None, force=False).process[0]["params"]["taxonomy"] == other.sha1
    with pytest.raises(ConfigError, match="LABELER_URL"):
        theirs.prepare(store, Rows(ROWS), other)


def test_each_source_replays_its_recorded_run(tmp_path):
    store, scratch = open_store(f"file://{tmp_path / 'store'}"), LocalStore(tmp_path / "scratch")
    other = "0" * 40  # another taxonomy's SHA1
    LabelCache(store, labeler_id("acme"), TAXONOMY.sha1).add({text_key("t"): Label("sports", 0.9)})
    LabelCache(store, labeler_id("acme"), other).add({text_key("t"): Label("health", 0.9)})
    LabelCache(store, labeler_id("other"), TAXONOMY.sha1).add({text_key("t"): Label("health", 0.9)})
    params = {"version": "v2", "label_source": "api", "labeler": "acme"}
    paid = {"dataset": "annotated", "parameters": params, "sources": [], "taxonomy": TAXONOMY.describe()}
    argv, env = annotation.replay(paid, store, scratch)
    assert argv == ["--version", "v2", "--label-source", "api", "--budget", "0", "--token-budget", "0"]
    assert env == {"LABELER_NAME": "acme", "LABELER_URL": ""}  # the cache answers: nothing is paid
    # only the recorded labeler's labels under the recorded taxonomy are brought
    assert LabelCache(scratch, labeler_id("acme"), TAXONOMY.sha1).labels == {
        text_key("t"): Label("sports", 0.9)
    }
    assert [key.split("/")[-2] for key in scratch.list(CACHE_ROOT + "/")] == [TAXONOMY.sha1[:16]]
    with pytest.raises(StepFailed, match="before labels were cached per taxonomy"):
        annotation.replay({**paid, "taxonomy": None}, store, scratch)
    human = {
        "parameters": {"version": "v1", "label_source": "label-studio"},
        "sources": [{"uri": "/exports/x.json", "kind": "file"}, {"uri": "s3://b/k", "kind": "dataset"}],
    }
    assert annotation.replay(human, store, scratch) == (
        [
            "--version",
            "v1",
            "--label-source",
            "label-studio:/exports/x.json",
            "--budget",
            "0",
            "--token-budget",
            "0",
        ],
        {},
    )


class KeywordLabels(LabelSource):
    """A stand-in provider: ``keyword:WORD`` labels documents whose text holds WORD as sports.

    The annotated contract (columns.schema.json) admits label_source api:<name>, label-studio or cleanlab,
    and the sidecar's source kinds are fixed too, so it presents itself as an API; a real new provider
    adds its own value there."""

    kind = "keyword"
    argument = "WORD"

    def __init__(self, argument, args):
        self.word = argument
        self.seen = 0

    def identify(self, version, committed, force):
        name = f"keyword-{self.word}"
        return Identity(
            params={"version": version, "label_source": "keyword", "word": self.word},
            source={"uri": f"labeler:{name}", "kind": "api"},
            process=[{"name": "keyword", "description": "A keyword rule.", "params": {"word": self.word}}],
        )

    def prepare(self, store, documents, taxonomy):
        return [f"labeling by the keyword {self.word!r}"]

    def label(self, row):
        self.seen += 1
        if self.word not in row["text"].lower():
            return Unlabeled("no-keyword", f"the text does not hold {self.word!r}")
        return Labeled("sports", 1.0, 1, f"api:keyword-{self.word}")

    def statistics(self):
        return {"keyword": {"seen": self.seen}}


@pytest.mark.slow
def test_a_new_source_plugs_in_through_the_registry_alone(tmp_path, small_crawl, monkeypatch, capsys):
    store = f"file://{tmp_path / 'store'}"
    build(store, small_crawl, "text-normalization")
    monkeypatch.setitem(sources.SOURCES, "keyword", KeywordLabels)
    assert "'keyword:WORD'" in sources.forms()
    with pytest.raises(UsageError, match="WORD is empty"):
        annotation.check_label_source("keyword:")
    argv = ["--store", store, "--date", DAY, "--label-source", "keyword:the"]
    assert annotation.main(argv) == 0
    assert "labeling by the keyword 'the'" in capsys.readouterr().out
    meta = datasets.read_meta(open_store(store), pipeline.dataset_key(pipeline.stage("annotated"), DAY))
    stats = meta["statistics"]
    assert meta["parameters"] == {"version": "v2", "label_source": "keyword", "word": "the"}
    assert meta["sources"][0] == {"uri": "labeler:keyword-the", "kind": "api"}
    assert meta["process"][0]["name"] == "keyword"
    assert stats["keyword"]["seen"] == stats["rows"] + stats["quarantined"]["by_reason"].get("no-keyword", 0)
    assert stats["rows"] > 0
    assert annotation.main(argv) == 0 and "up to date" in capsys.readouterr().out


def test_an_answer_cut_off_mid_body_is_retried(tmp_path):
    """A labeling service that goes away mid-answer (IncompleteRead) is retried like one that is down."""
    import socket
    import threading

    from medallion.labeling.api import LabelingClient

    listener = socket.create_server(("127.0.0.1", 0))
    port, answered = listener.getsockname()[1], []

    def serve():
        for attempt in range(2):
            conn, _ = listener.accept()
            with conn:
                request = conn.recv(65536)
                while b"\r\n\r\n" not in request:
                    request += conn.recv(65536)
                head, body = request.split(b"\r\n\r\n", 1)
                length = int(
                    next(
                        h.split(b":")[1]
                        for h in head.split(b"\r\n")
                        if h.lower().startswith(b"content-length")
                    )
                )
                while len(body) < length:
                    body += conn.recv(65536)
                docs = json.loads(body)["documents"]
                answer = json.dumps(
                    {"results": [{"id": d["id"], "category": "sports", "confidence": 0.9} for d in docs]}
                ).encode()
                head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(answer)}\r\n\r\n"
                conn.sendall(
                    head.encode() + (answer[:10] if attempt == 0 else answer)
                )  # the first is cut off
                answered.append(attempt)

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    client = LabelingClient(f"http://127.0.0.1:{port}", "token", TAXONOMY, timeout=5, sleep=lambda _s: None)
    store = open_store(f"file://{tmp_path / 'store'}")
    labels = client.label(
        [("a", "a text about a match")], LabelCache(store, labeler_id("cut"), TAXONOMY.sha1)
    )
    server.join(timeout=10)
    listener.close()
    assert labels == {"a": Label("sports", 0.9)}
    assert answered == [0, 1] and client.usage.retries == 1
