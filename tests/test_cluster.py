"""End to end on a real cluster (kind + Argo Workflows + MinIO from `make cluster-up images deploy`).

Skipped unless KUBECONFIG points at a cluster; `make e2e` runs it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

pytestmark = [
    pytest.mark.cluster,
    pytest.mark.skipif(
        not os.environ.get("KUBECONFIG"), reason="needs a live cluster: set KUBECONFIG (make e2e)"
    ),
]
NAMESPACE = os.environ.get("ARGO_NAMESPACE", "argo")


def argo(*args: str) -> str:
    if not shutil.which("argo"):
        pytest.fail("the argo CLI is needed for the cluster tests")
    return subprocess.run(["argo", "-n", NAMESPACE, *args], check=True, capture_output=True, text=True).stdout


def test_templates_are_installed():
    names = argo("template", "list", "-o", "name").split()
    assert {
        "html-classification",
        "crawler-to-s3",
        "url-normalization",
        "html-parsing",
        "text-normalization",
    } <= set(names)
    assert "html-classification-daily" in argo("cron", "list", "-o", "name").split()


def test_pipeline_runs_on_the_cluster():
    """Needs a crawl at s3://<bucket>/landing/<date>/crawl.jsonl (E2E_DATE), e.g. from `medallion demo --store s3://...`."""
    day = os.environ.get("E2E_DATE", "2026-11-23")
    out = argo(
        "submit",
        "--from",
        "workflowtemplate/html-classification",
        "-p",
        f"date={day}",
        "--wait",
        "-o",
        "json",
    )
    workflow = json.loads(out)
    assert workflow["status"]["phase"] == "Succeeded", workflow["status"].get("message")
    nodes = workflow["status"]["nodes"].values()
    outputs = {n["displayName"]: n.get("outputs", {}) for n in nodes}
    assert outputs["html-parsing"]["parameters"]
