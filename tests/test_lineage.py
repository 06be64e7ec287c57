"""OpenLineage events from every step, received by a real HTTP backend on loopback (tests/lineage_receiver.py)
and validated against the spec's RunEvent schema (tests/schemas/openlineage-run-event.schema.json)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import pytest
from conftest import REPO, free_port, run_cli, wait_for_port

from medallion.core import datasets, pipeline
from medallion.core.store import open_store
from medallion.runtime import lineage

DAY = "2026-11-23"
SCHEMA = json.loads((REPO / "tests" / "schemas" / "openlineage-run-event.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(
    SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
)
API_KEY = "lineage-test-key-7f3a"
NOT_CONFIGURED = {"OPENLINEAGE_URL": "", "OPENLINEAGE_CONFIG": "", "OPENLINEAGE_DISABLED": ""}
FOUR_STAGES = ("raw", "url-normalization", "html-parsing", "text-normalization/v1", "text-normalization/v2")


class Receiver:
    def __init__(self, url: str, out: Path):
        self.url, self.out = url, out

    def received(self) -> list[dict]:
        if not self.out.exists():
            return []
        return [json.loads(line) for line in self.out.read_text().splitlines()]

    def events(self) -> list[dict]:
        return [entry["event"] for entry in self.received()]


@pytest.fixture
def receiver(tmp_path):
    port = free_port()
    out = tmp_path / "events.jsonl"
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "tests" / "lineage_receiver.py"), "--port", str(port), "--out", str(out)]
    )
    try:
        wait_for_port(port)
        yield Receiver(f"http://127.0.0.1:{port}", out)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def valid(event: dict) -> dict:
    """The event, after checking it against the RunEvent schema (and its URIs, which jsonschema leaves)."""
    VALIDATOR.validate(event)
    uris = [event["producer"], event["schemaURL"]]
    for holder in (event["run"], event["job"], *event["inputs"], *event["outputs"]):
        for facets in (holder.get("facets") or {}, holder.get("outputFacets") or {}):
            uris += [
                value for facet in facets.values() for value in (facet["_producer"], facet["_schemaURL"])
            ]
    for uri in uris:
        assert urlsplit(uri).scheme, f"not an absolute URI: {uri}"
    return event


def by_run(events: list[dict]) -> dict[str, list[dict]]:
    runs = defaultdict(list)
    for event in events:
        runs[event["run"]["runId"]].append(event)
    return runs


def sidecar(store: str, stage: str, version: str | None = None) -> dict:
    return datasets.read_meta(open_store(store), pipeline.dataset_key(pipeline.stage(stage), DAY, version))


def test_a_four_stage_run_sends_start_then_complete_from_every_step(receiver, small_crawl, tmp_path):
    store = f"file://{tmp_path / 'store'}"
    env = {
        **NOT_CONFIGURED,
        "OPENLINEAGE_URL": receiver.url,
        "OPENLINEAGE_API_KEY": API_KEY,
        "OPENLINEAGE_NAMESPACE": "lineage-test",
    }
    result = run_cli(
        "medallion", "run", "--store", store, "--date", DAY, "--input", str(small_crawl),
        "--until", "text-normalization", "--warn-only", env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    received = receiver.received()
    assert {entry["authorization"] for entry in received} == {f"Bearer {API_KEY}"}
    events = [valid(event) for event in receiver.events()]
    runs = by_run(events)
    assert [[e["eventType"] for e in run] for run in runs.values()] == [["START", "COMPLETE"]] * 5
    assert [run[0]["job"]["name"] for run in runs.values()] == list(FOUR_STAGES)
    parents = {json.dumps(e["run"]["facets"]["parent"], sort_keys=True) for e in events}
    assert len(parents) == 1, "every step names the same workflow run as its parent"
    for job, (start, complete) in zip(FOUR_STAGES, runs.values(), strict=True):
        stage, _, version = job.partition("/")
        meta = sidecar(store, stage, version or None)
        assert start["job"]["namespace"] == "lineage-test"
        assert start["run"]["runId"] == meta["workflow"]["lineage_run_id"]
        assert start["run"]["facets"]["nominalTime"]["nominalStartTime"] == f"{DAY}T00:00:00Z"
        output = complete["outputs"][0]
        assert (output["namespace"], output["name"]) == (store, meta["dataset"][len(store) + 1 :])
        assert output["facets"]["version"]["datasetVersion"] == meta["sha1"]
        assert [f["name"] for f in output["facets"]["schema"]["fields"]] == list(meta["schema"])
        metrics = output["facets"]["dataQualityMetrics"]
        assert (
            metrics["rowCount"]
            == meta["statistics"]["rows"]
            == output["outputFacets"]["outputStatistics"]["rowCount"]
        )
        assert {k: v["nullCount"] for k, v in metrics["columnMetrics"].items()} == meta["statistics"]["nulls"]
        assert complete["outputs"][1]["name"].startswith("html-classification/quarantine/")
        if stage != "raw":  # the layer below passed its gates: they come as assertions on the input
            checks = {
                a["assertion"]: a["success"]
                for a in complete["inputs"][0]["inputFacets"]["dataQualityAssertions"]["assertions"]
            }
            assert checks and all(checks.values()), checks
        for source in meta["sources"]:  # inputs: the layer below, by its path and SHA1 (raw: the crawl file)
            named = [
                i
                for i in complete["inputs"]
                if i["facets"].get("version", {}).get("datasetVersion") == source["sha1"]
            ]
            assert named, f"{job}: input {source['uri']} is not in the COMPLETE event"
    assert API_KEY not in result.stdout.decode() + result.stderr.decode()
    for path in (tmp_path / "store").rglob("*.yaml"):
        assert API_KEY not in path.read_text()


def test_a_failing_step_sends_fail_with_why(receiver, small_crawl, tmp_path):
    env = {**NOT_CONFIGURED, "OPENLINEAGE_URL": receiver.url}
    result = run_cli(
        "-m", "steps.ingest", "--store", f"file://{tmp_path / 'store'}", "--date", DAY,
        "--input", str(small_crawl), "--max-html-chars", "10", env=env,
    )  # fmt: skip
    assert result.returncode != 0  # every page is over the limit: the rows gate stops the step
    start, fail = [valid(event) for event in receiver.events()]
    assert (start["eventType"], fail["eventType"]) == ("START", "FAIL")
    assert start["run"]["runId"] == fail["run"]["runId"]
    assert "quality gate failed" in fail["run"]["facets"]["errorMessage"]["message"]
    assert start["inputs"][0]["name"] == str(small_crawl.resolve())


def test_an_unreachable_backend_is_one_warning_and_the_step_goes_on(small_crawl, tmp_path):
    closed = free_port()  # nothing listens there
    env = {**NOT_CONFIGURED, "OPENLINEAGE_URL": f"http://127.0.0.1:{closed}"}
    result = run_cli(
        "-m", "steps.ingest", "--store", f"file://{tmp_path / 'store'}", "--date", DAY,
        "--input", str(small_crawl), env=env, timeout=120,
    )  # fmt: skip
    stderr = result.stderr.decode()
    assert result.returncode == 0, stderr
    warnings = [line for line in stderr.splitlines() if "OpenLineage" in line]
    assert len(warnings) == 1, stderr
    assert f"could not send the OpenLineage START event to http://127.0.0.1:{closed}" in warnings[0]
    assert "Traceback" not in stderr


def test_the_standard_config_file_is_read_and_disabled_means_nothing_is_sent(receiver, small_crawl, tmp_path):
    config = tmp_path / "openlineage.yml"
    config.write_text(f"transport:\n  type: http\n  url: {receiver.url}\n  endpoint: api/v1/lineage\n")
    ingest = (
        "-m",
        "steps.ingest",
        "--store",
        f"file://{tmp_path / 'store'}",
        "--date",
        DAY,
        "--input",
        str(small_crawl),
    )
    disabled = run_cli(
        *ingest, env={**NOT_CONFIGURED, "OPENLINEAGE_CONFIG": str(config), "OPENLINEAGE_DISABLED": "true"}
    )
    assert disabled.returncode == 0 and receiver.events() == []
    result = run_cli(*ingest, "--force", env={**NOT_CONFIGURED, "OPENLINEAGE_CONFIG": str(config)})
    assert result.returncode == 0, result.stderr.decode()
    assert [e["eventType"] for e in map(valid, receiver.events())] == ["START", "COMPLETE"]


def test_nothing_is_sent_or_printed_unless_configured(receiver, small_crawl, tmp_path, monkeypatch):
    result = run_cli(
        "-m", "steps.ingest", "--store", f"file://{tmp_path / 'store'}", "--date", DAY, "--input", str(small_crawl),
        env=NOT_CONFIGURED, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0
    assert receiver.events() == []
    assert b"eventType" not in result.stdout + result.stderr  # no console transport either
    for name in ("OPENLINEAGE_URL", "OPENLINEAGE_CONFIG", "OPENLINEAGE_DISABLED"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert not lineage.configured()
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TYPE", "http")
    assert lineage.configured()
    monkeypatch.setenv("OPENLINEAGE_DISABLED", "TRUE")
    assert not lineage.configured()


def test_run_ids_are_uuids_derived_from_the_workflow_run():
    first = lineage.run_uuid("html-classification-x7k2p", "html-parsing", DAY)
    assert first == lineage.run_uuid("html-classification-x7k2p", "html-parsing", DAY)
    assert first != lineage.run_uuid("html-classification-x7k2p", "html-parsing", DAY, (1, 4))
    assert first != lineage.run_uuid("html-classification-x7k2p", "raw", DAY)
    assert len({first, lineage.workflow_uuid("html-classification-x7k2p")}) == 2
    assert lineage.PRODUCER.startswith("urn:")
