"""The Argo manifests: committed YAML matches the code, Argo's model takes every field, and the rendered
DAG runs end to end on this machine with the same results as `medallion run`."""

from __future__ import annotations

import copy
import http.server
import json
import os
import shutil
import threading
from pathlib import Path

import pytest
import yaml
from conftest import REPO, run_cli

from medallion.core import datasets, pipeline
from medallion.core.store import open_store
from medallion.tools.argo import date_range
from workflows.render import RENDERED, dump, manifests, render
from workflows.validate import strict_check

DAY = "2026-11-23"
pytestmark = pytest.mark.xdist_group("s3")


def test_committed_yaml_matches_the_code():
    """Set REGENERATE_WORKFLOWS=1 to rewrite workflows/rendered/ after changing workflows/*.py."""
    if os.environ.get("REGENERATE_WORKFLOWS"):
        render(RENDERED)
    rendered = manifests()
    committed = {path.name for path in RENDERED.glob("*.yaml")}
    assert committed == set(rendered), "run: REGENERATE_WORKFLOWS=1 make test (or medallion workflows render)"
    for name, manifest in rendered.items():
        on_disk = (RENDERED / name).read_text().split("\n", 1)[1]
        assert on_disk == dump(manifest), (
            f"{name} drifted from workflows/*.py: run medallion workflows render"
        )


@pytest.mark.parametrize("name", sorted(manifests()))
def test_every_manifest_passes_argos_model_strictly(name):
    assert strict_check(manifests()[name]) == []


def test_the_strict_check_catches_unknown_and_misplaced_fields():
    manifest = copy.deepcopy(manifests()["workflowtemplate-html-classification.yaml"])
    manifest["spec"]["templates"][1]["dag"]["tasks"][1]["dependz"] = "raw"
    manifest["spec"]["entrypointt"] = "pipeline"
    problems = strict_check(manifest)
    assert any("dependz" in p for p in problems) and any("entrypointt" in p for p in problems)
    assert strict_check({"kind": "Deployment"})


def test_shape_of_the_pipeline():
    pipeline_ = manifests()["workflowtemplate-html-classification.yaml"]
    params = {p["name"]: p for p in pipeline_["spec"]["arguments"]["parameters"]}
    assert {"date", "input", "versions", "until", "bucket"} <= set(params)
    assert all(p.get("description") for p in params.values())
    assert params["until"]["enum"] == list(pipeline.STAGE_NAMES)
    assert params["date"]["value"] == "yesterday"
    dag = next(t for t in pipeline_["spec"]["templates"] if "dag" in t)["dag"]["tasks"]
    refs = [t["templateRef"]["name"] for t in dag]
    assert list(dict.fromkeys(refs)) == [s.workflow for s in pipeline.STAGES]
    fan_out = [t for t in dag if "withSequence" in t]
    assert [t["templateRef"]["template"] for t in fan_out] == ["shard"] * sum(
        s.shardable for s in pipeline.STAGES
    )
    cron = manifests()["cronworkflow-html-classification-daily.yaml"]["spec"]
    assert cron["concurrencyPolicy"] == "Forbid" and cron["timezone"] and cron["startingDeadlineSeconds"]
    for stage in pipeline.STAGES:
        template = manifests()[f"workflowtemplate-{stage.workflow}.yaml"]["spec"]["templates"][0]
        assert not template["container"]["image"].endswith(":latest")
        env = {e["name"]: e for e in template["container"]["env"]}
        assert "secretKeyRef" in env["AWS_SECRET_ACCESS_KEY"]["valueFrom"]
        assert template["retryStrategy"]["backoff"] and template["activeDeadlineSeconds"]
        assert template["container"]["resources"]["limits"]
        assert [p["name"] for p in template["outputs"]["parameters"]] == ["date", "uri", "sha1", "rows"]


def committed(store_uri: str, versions=("v1", "v2")) -> dict[str, str]:
    store = open_store(store_uri)
    found = {}
    for stage in pipeline.STAGES:
        for version in versions if stage.versioned else (None,):
            meta = datasets.read_meta(store, pipeline.dataset_key(stage, DAY, version))
            if meta:
                found[f"{stage.name}/{version or ''}"] = meta["sha1"]
    return found


@pytest.mark.slow
@pytest.mark.parametrize("backend, shards", [("local", 3), ("s3", 2), ("local", 1)])
def test_run_local_matches_medallion_run(backend, shards, small_crawl, tmp_path, request, labeler_env):
    """Sharded or not, on a local folder or on S3: the rendered DAG builds the same bytes as `medallion run`."""
    if backend == "local":
        dag_store, ref_store = f"file://{tmp_path / 'dag'}", f"file://{tmp_path / 'ref'}"
    else:
        server = request.getfixturevalue("s3_env")
        dag_store, ref_store = f"s3://{server.new_bucket()}", f"s3://{server.new_bucket()}"
    result = run_cli(
        "medallion",
        "workflows",
        "run-local",
        str(RENDERED),
        "--store",
        dag_store,
        "-p",
        f"date={DAY}",
        "-p",
        f"input={small_crawl}",
    )
    assert result.returncode == 0, result.stderr.decode()[-3000:]
    assert b"Succeeded" in result.stdout
    reference = run_cli("medallion", "run", "--store", ref_store, "--date", DAY, "--input", str(small_crawl))
    assert reference.returncode == 0, reference.stderr.decode()
    ours = committed(dag_store)
    assert len(ours) == 8 and ours == committed(ref_store)
    meta = datasets.read_meta(
        open_store(dag_store), pipeline.dataset_key(pipeline.stage("html-parsing"), DAY)
    )
    assert meta["workflow"]["name"] == "html-classification"


def test_until_stops_the_dag(small_crawl, tmp_path):
    store = f"file://{tmp_path / 'dag'}"
    result = run_cli(
        "medallion",
        "workflows",
        "run-local",
        str(RENDERED),
        "--store",
        store,
        "-p",
        f"date={DAY}",
        "-p",
        f"input={small_crawl}",
        "-p",
        "until=url-normalization",
    )
    assert result.returncode == 0, result.stderr.decode()[-3000:]
    assert set(committed(store)) == {"raw/", "url-normalization/"}
    assert result.stdout.decode().count("skipped (when)") == 7


def mutated(tmp_path: Path, name: str, change) -> Path:
    folder = tmp_path / "mutated"
    shutil.copytree(RENDERED, folder)
    path = folder / name
    manifest = yaml.safe_load(path.read_text())
    change(manifest)
    path.write_text(yaml.safe_dump(manifest))
    return folder


PIPELINE_FILE = "workflowtemplate-html-classification.yaml"


def _tasks(manifest):
    return next(t for t in manifest["spec"]["templates"] if "dag" in t)["dag"]["tasks"]


@pytest.mark.parametrize(
    "name, change, message",
    [
        (
            PIPELINE_FILE,
            lambda m: _tasks(m)[1]["templateRef"].update(name="url-normalisation"),
            "not rendered",
        ),
        (
            PIPELINE_FILE,
            lambda m: _tasks(m)[2]["arguments"]["parameters"][1].update(
                value="{{tasks.raw.outputs.parameters.day}}"
            ),
            "does not resolve",
        ),
        (
            PIPELINE_FILE,
            lambda m: _tasks(m)[1]["arguments"]["parameters"].append({"name": "dedupe", "value": "x"}),
            "does not take",
        ),
        (PIPELINE_FILE, lambda m: _tasks(m)[2].update(depends="url-normalizaton"), "unknown task"),
        (
            "workflowtemplate-html-parsing.yaml",
            lambda m: next(t for t in m["spec"]["templates"] if t["name"] == "merge")["outputs"][
                "parameters"
            ][1]["valueFrom"].update(path="/tmp/out/uri"),
            "was not written",
        ),
    ],
)
def test_a_wiring_mistake_fails_the_local_run(tmp_path, small_crawl, name, change, message):
    folder = mutated(tmp_path, name, change)
    result = run_cli(
        "medallion",
        "workflows",
        "run-local",
        str(folder),
        "--store",
        f"file://{tmp_path / 's'}",
        "-p",
        f"date={DAY}",
        "-p",
        f"input={small_crawl}",
    )
    assert result.returncode == 2, result.stdout.decode()[-2000:]
    assert message in result.stderr.decode()


class Recorder(http.server.BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Recorder.received.append((self.path, json.loads(body)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_exit_handler_posts_failures_to_the_webhook(tmp_path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Recorder.received = []
    try:
        result = run_cli(
            "medallion",
            "workflows",
            "run-local",
            str(RENDERED),
            "--store",
            f"file://{tmp_path / 's'}",
            "-p",
            f"date={DAY}",
            "-p",
            f"input={tmp_path / 'missing.jsonl'}",
            "-p",
            f"webhook=http://127.0.0.1:{server.server_port}/hook",
            timeout=120,
        )
    finally:
        server.shutdown()
    assert result.returncode == 1
    assert b"Failed" in result.stdout and b"does not exist" in result.stderr
    ((path, body),) = Recorder.received
    assert path == "/hook" and body["status"] == "Failed" and body["failures"][0]["displayName"] == "raw"


def test_backfill_dates():
    assert date_range("2026-11-20", "2026-11-22") == ["2026-11-20", "2026-11-21", "2026-11-22"]
    with pytest.raises(Exception, match="before"):
        date_range("2026-11-22", "2026-11-20")


def test_render_command_writes_checked_yaml(tmp_path):
    result = run_cli(
        "medallion",
        "workflows",
        "render",
        "--out",
        str(tmp_path),
        "--registry",
        "registry.local:5000",
        "--tag",
        "9.9.9",
    )
    assert result.returncode == 0, result.stderr.decode()
    text = (tmp_path / "workflowtemplate-html-parsing.yaml").read_text()
    assert "registry.local:5000/html-parsing:9.9.9" in text
    assert len(list(tmp_path.glob("*.yaml"))) == len(manifests())
    assert str(REPO)  # rendered YAML names no local paths
    assert str(REPO) not in text


class ArgoAPI(http.server.BaseHTTPRequestHandler):
    """The few routes of the Argo server's REST API that apply/submit use, recording what they receive."""

    calls: list = []

    def _reply(self, code: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802
        ArgoAPI.calls.append(("GET", self.path, None, self.headers.get("Authorization")))
        self._reply(404, {"code": 5, "message": "not found"})

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        ArgoAPI.calls.append(("POST", self.path, body, self.headers.get("Authorization")))
        if self.path.endswith("/submit"):
            name = f"html-classification-{len(ArgoAPI.calls)}"
            self._reply(200, {"metadata": {"name": name, "namespace": "argo"}, "spec": {}})
        else:
            kind = "template" if "workflow-templates" in self.path else "cronWorkflow"
            self._reply(200, body[kind])

    def log_message(self, *args):
        pass


def test_apply_and_backfill_speak_argos_api():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), ArgoAPI)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    ArgoAPI.calls = []
    env = {
        "ARGO_SERVER": f"http://127.0.0.1:{server.server_port}",
        "ARGO_TOKEN": "test-token",
        "ARGO_NAMESPACE": "argo",
    }
    try:
        applied = run_cli("medallion", "workflows", "apply", str(RENDERED), env=env, timeout=60)
        back = run_cli(
            "medallion",
            "workflows",
            "backfill",
            "--from",
            "2026-11-20",
            "--to",
            "2026-11-22",
            "-p",
            "until=html-parsing",
            env=env,
            timeout=60,
        )
    finally:
        server.shutdown()
    assert applied.returncode == 0, applied.stderr.decode()[-2000:]
    assert applied.stdout.decode().count("created") == len(manifests())
    posts = [c for c in ArgoAPI.calls if c[0] == "POST"]
    assert {p for _, p, _, _ in posts if "workflow-templates" in p} == {"/api/v1/workflow-templates/argo"}
    assert any(p == "/api/v1/cron-workflows/argo" for _, p, _, _ in posts)
    assert all(auth == "Bearer test-token" for *_, auth in ArgoAPI.calls)
    assert back.returncode == 0, back.stderr.decode()[-2000:]
    submits = [body for _, p, body, _ in posts if p == "/api/v1/workflows/argo/submit"]
    assert [s["resourceName"] for s in submits] == ["html-classification"] * 3
    assert [s["submitOptions"]["parameters"] for s in submits] == [
        ["until=html-parsing", f"date=2026-11-{d}"] for d in (20, 21, 22)
    ]
    assert b"test-token" not in applied.stdout + applied.stderr + back.stdout + back.stderr


def test_argo_commands_without_a_server_say_what_to_set():
    result = run_cli("medallion", "workflows", "submit", "-p", "date=2026-11-23", env={"ARGO_SERVER": ""})
    assert result.returncode == 1 and b"ARGO_SERVER" in result.stderr


def test_the_warn_only_parameter_reaches_every_step(tmp_path):
    """A batch past the ingest gate fails the rendered DAG; warn-only=true lets it through, committed."""
    crawl = tmp_path / "crawl.jsonl"
    good = {"url": "https://a.example/x", "html": "<p>x</p>", "timestamp": f"{DAY}T01:00:00Z"}
    crawl.write_text(json.dumps(good) + "\n" + "not json\n" * 3)
    store = f"file://{tmp_path / 'dag'}"
    argv = ["medallion", "workflows", "run-local", str(RENDERED), "--store", store]
    argv += ["-p", f"date={DAY}", "-p", f"input={crawl}", "-p", "until=raw"]
    failed = run_cli(*argv)
    assert failed.returncode == 1
    assert b"quality gate failed: validity.quarantine_rate = 0.75" in failed.stderr
    assert committed(store) == {}
    passed = run_cli(*argv, "-p", "warn-only=true")
    assert passed.returncode == 0, passed.stderr.decode()[-2000:]
    assert b"quality warning: validity.quarantine_rate = 0.75" in passed.stdout
    meta = datasets.read_meta(open_store(store), pipeline.dataset_key(pipeline.stage("raw"), DAY))
    assert meta["quality"]["warn_only"] is True


def test_every_step_runs_as_its_own_identity():
    from medallion.tools import policies

    rendered = manifests()
    for stage in pipeline.STAGES:
        template = rendered[f"workflowtemplate-{stage.workflow}.yaml"]
        for step in template["spec"]["templates"]:
            env = {e["name"]: e for e in step["container"]["env"]}
            assert env["MEDALLION_IDENTITY"]["value"] == stage.identity
            secret = env["AWS_SECRET_ACCESS_KEY"]["valueFrom"]["secretKeyRef"]
            assert secret == {"name": f"html-classification-s3-{stage.identity}", "key": "secretKey"}
            assert stage.identity in policies.identities()


def test_the_force_parameter_lets_a_run_replace_a_dataset_built_otherwise(tmp_path, small_crawl):
    store = f"file://{tmp_path / 'dag'}"
    argv = ["medallion", "workflows", "run-local", str(RENDERED), "--store", store]
    argv += ["-p", f"date={DAY}", "-p", f"input={small_crawl}", "-p", "until=url-normalization"]
    assert run_cli(*argv).returncode == 0
    refused = run_cli(*argv, "-p", "dedup=canonical-url")
    assert refused.returncode == 1 and b"from other parameters" in refused.stderr
    forced = run_cli(*argv, "-p", "dedup=canonical-url", "-p", "force=true")
    assert forced.returncode == 0, forced.stderr.decode()[-2000:]
    meta = datasets.read_meta(
        open_store(store), pipeline.dataset_key(pipeline.stage("url-normalization"), DAY)
    )
    assert meta["parameters"]["dedup"] == ["canonical-url"]


def test_the_annotation_pod_gets_each_label_sources_settings_and_its_keys_from_secrets():
    """Stage.services names the outside services: their settings come from the ConfigMap, keys from Secrets."""
    rendered = Path(__file__).resolve().parent.parent / "workflows/rendered/workflowtemplate-annotation.yaml"
    (container,) = [
        t["container"] for t in yaml.safe_load(rendered.read_text())["spec"]["templates"] if "container" in t
    ]
    env = {e["name"]: e for e in container["env"]}
    assert env["OPENAI_BASE_URL"]["valueFrom"]["configMapKeyRef"] == {
        "name": "html-classification",
        "key": "llm-base-url",
        "optional": True,
    }
    assert env["OPENAI_API_KEY"]["valueFrom"]["secretKeyRef"] == {
        "name": "html-classification-llm",
        "key": "api-key",
        "optional": True,
    }
    assert env["LABELER_TOKEN"]["valueFrom"]["secretKeyRef"]["name"] == "html-classification-labeler"
    assert not [e for e in container["env"] if "KEY" in e["name"] or "TOKEN" in e["name"] if "value" in e]
