"""Least privilege against a real S3 server that enforces IAM: every stage runs as its own identity."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from conftest import REPO, run_cli

from medallion.core import datasets, pipeline
from medallion.tools import policies

pytestmark = [pytest.mark.xdist_group("iam"), pytest.mark.s3]
DAY = "2026-11-23"


def test_policies_render_writes_one_policy_per_identity(tmp_path):
    result = run_cli("medallion", "policies", "render", "--bucket", "datasets", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr.decode()
    files = sorted(p.stem for p in tmp_path.glob("*.json"))
    assert files == sorted(
        ["ingest", "url-normalization", "html-parsing", "text-normalization", "annotation", "train", "post-train", "release", "release-model", "analyst"]
    )  # fmt: skip
    docs = {name: json.loads((tmp_path / f"{name}.json").read_text()) for name in files}

    def resources(name, sid):
        return [r for s in docs[name]["Statement"] if s["Sid"] == sid for r in s["Resource"]]

    assert resources("ingest", "WriteOwnPrefixes") == [
        "arn:aws:s3:::datasets/html-classification/raw/*",
        "arn:aws:s3:::datasets/html-classification/quarantine/raw/*",
    ]
    assert "arn:aws:s3:::datasets/landing/*" in resources("ingest", "ReadInputs")
    assert "arn:aws:s3:::datasets/html-classification/_label-cache/*" in resources(
        "annotation", "WriteOwnPrefixes"
    )
    assert "arn:aws:s3:::datasets/html-classification/_shards/preprocess/html-parsing/*" in resources(
        "html-parsing", "WriteOwnPrefixes"
    )
    # A release reads the layers it is built from; its trainer also writes the cleaned release beside it.
    assert "arn:aws:s3:::datasets/html-classification/post-train/*" in resources("release", "ReadInputs")
    assert resources("release", "WriteOwnPrefixes") == [
        "arn:aws:s3:::datasets/html-classification/releases/*",
        "arn:aws:s3:::datasets/html-classification/quarantine/releases/*",
    ]
    assert "arn:aws:s3:::datasets/html-classification/releases/*" in resources(
        "release-model", "WriteOwnPrefixes"
    )
    assert resources("analyst", "WriteOwnPrefixes") == []
    analyst_reads = resources("analyst", "ReadInputs")
    assert not [r for r in analyst_reads if "/raw/" in r or "/landing/" in r or "/quarantine/" in r]
    assert "arn:aws:s3:::datasets/html-classification/preprocess/*" in analyst_reads
    prefixed = policies.policy("datasets", ["a/"], ["b/"], prefix="team-a")
    assert prefixed["Statement"][2]["Resource"] == ["arn:aws:s3:::datasets/team-a/b/*"]


def _run(store, identity: str, *argv: str, env: dict | None = None):
    return run_cli(*argv, env={**store.env(identity), **(env or {})})


@pytest.mark.slow
def test_each_stage_runs_end_to_end_as_its_own_identity_and_no_secret_leaks(
    iam_store, small_crawl, labeler_env, tmp_path
):
    s3 = iam_store.client()  # the crawler (admin here) drops the batch in the landing zone
    s3.upload_file(str(small_crawl), iam_store.bucket, pipeline.landing_key(DAY))
    mlflow = {"MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}"}
    logs = []
    for stage in pipeline.STAGES:
        result = _run(
            iam_store, stage.identity, "-m", stage.module, "--store", iam_store.uri, "--date", DAY, env=mlflow
        )
        assert result.returncode == 0, (stage.name, result.stderr.decode()[-2000:])
        logs.append(result.stdout + result.stderr)
    store = iam_store.store()
    for stage in pipeline.STAGES:
        versions = ["v1", "v2"] if stage.versioned else [None]
        for version in versions:
            assert datasets.read_meta(store, pipeline.dataset_key(stage, DAY, version)) is not None

    # The analyst reads gold and post-train, and nothing of raw.
    gold = iam_store.uri + "/" + pipeline.dataset_dir(pipeline.stage("post-train"), DAY)
    assert _run(iam_store, "analyst", "medallion", "show", gold).returncode == 0
    raw = iam_store.uri + "/" + pipeline.dataset_key(pipeline.stage("raw"), DAY)
    denied = _run(iam_store, "analyst", "medallion", "show", raw)
    assert denied.returncode == 1
    assert "access denied: identity 'analyst' may not read" in denied.stderr.decode()
    logs.append(denied.stdout + denied.stderr)

    secrets = [*iam_store.secrets(), labeler_env.token]
    found = scan_for_secrets(secrets, iam_store, logs, tmp_path, mlflow_db=tmp_path / "mlflow.db")
    assert found == [], f"credentials found in: {found}"


def scan_for_secrets(secrets: list[str], iam_store, logs: list[bytes], tmp_path, mlflow_db=None) -> list[str]:
    """Where any of ``secrets`` appears: objects in the bucket (data, sidecars, quality reports, caches),
    the run logs, rendered workflow YAML, chart output for every values scenario, MLflow params and tags."""
    needles = [s.encode() for s in secrets if s]
    assert len(needles) >= 19  # eight identities and the admin (key id and secret each), the labeler token
    hits = []

    def check(where: str, blob: bytes) -> None:
        hits.extend(where for n in needles if n in blob)

    client = iam_store.client()
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=iam_store.bucket):
        for item in page.get("Contents", []):
            body = client.get_object(Bucket=iam_store.bucket, Key=item["Key"])["Body"].read()
            check(f"s3://{iam_store.bucket}/{item['Key']}", body)
    for index, log in enumerate(logs):
        check(f"log of run {index}", log)
    rendered = tmp_path / "rendered"
    assert run_cli("medallion", "workflows", "render", "--out", str(rendered)).returncode == 0
    for path in sorted(rendered.glob("*.yaml")):
        check(str(path), path.read_bytes())
    helm = REPO / "tools" / "bin" / "helm"
    if not helm.is_file():
        if os.environ.get("CI"):
            pytest.fail("helm is missing: `make tools` must run before the tests in CI")
    else:
        for values in sorted((REPO / "charts" / "html-classification" / "ci").glob("*-values.yaml")):
            out = subprocess.run(
                [str(helm), "template", "rel", str(REPO / "charts" / "html-classification"), "-f", str(values)],
                capture_output=True, check=True,
            ).stdout  # fmt: skip
            check(f"helm template -f {values.name}", out)
    if mlflow_db is None:
        return hits
    from mlflow.tracking import MlflowClient

    tracking = MlflowClient(tracking_uri=f"sqlite:///{mlflow_db}")
    runs = [r for e in tracking.search_experiments() for r in tracking.search_runs([e.experiment_id])]
    assert runs, "the train stage logged no MLflow run"
    for run in runs:
        check(f"MLflow run {run.info.run_id}", json.dumps([run.data.params, run.data.tags]).encode())
    return hits


def test_the_secret_scan_finds_a_planted_credential(iam_store, tmp_path):
    """The scan above would see a leak: plant one in a sidecar-like object and in a log."""
    iam_store.client().put_object(
        Bucket=iam_store.bucket, Key="html-classification/x.meta.yaml", Body=b"token: s3cr3t-t0ken"
    )
    hits = scan_for_secrets(
        ["s3cr3t-t0ken", *iam_store.secrets()], iam_store, [b"log s3cr3t-t0ken"], tmp_path
    )
    assert hits == [f"s3://{iam_store.bucket}/html-classification/x.meta.yaml", "log of run 0"]


@pytest.mark.parametrize(
    "identity,stage",
    [
        ("ingest", "url-normalization"),
        ("url-normalization", "html-parsing"),
        ("analyst", "text-normalization"),
    ],
)
def test_writing_outside_its_prefix_is_denied_with_a_clear_error(iam_store, small_crawl, identity, stage):
    s3 = iam_store.client()
    s3.upload_file(str(small_crawl), iam_store.bucket, pipeline.landing_key(DAY))
    for name in ("raw", "url-normalization", "html-parsing"):  # the inputs, built by their owners
        if name == stage:
            break
        owner = pipeline.stage(name)
        built = _run(iam_store, owner.identity, "-m", owner.module, "--store", iam_store.uri, "--date", DAY)
        assert built.returncode == 0, built.stderr.decode()[-2000:]
    target = pipeline.stage(stage)
    result = _run(iam_store, identity, "-m", target.module, "--store", iam_store.uri, "--date", DAY)
    assert result.returncode == 1
    err = result.stderr.decode()
    assert f"access denied: identity '{identity}' may not" in err, err[-2000:]
    assert f"s3://{iam_store.bucket}/html-classification/" in err
    assert "Traceback" not in err
    assert (
        datasets.read_meta(
            iam_store.store(), pipeline.dataset_key(target, DAY, "v1" if target.versioned else None)
        )
        is None
    )
