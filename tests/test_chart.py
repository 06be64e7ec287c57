"""The Helm chart: real `helm lint` and `helm template` for every ci/*-values.yaml, Kubernetes objects
checked by kubernetes-validate --strict, Argo objects by Argo's model, and no secret value anywhere."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from workflows.render import RENDERED, manifests
from workflows.validate import strict_check

REPO = Path(__file__).resolve().parent.parent
CHART = REPO / "charts" / "html-classification"
SCENARIOS = sorted((CHART / "ci").glob("*-values.yaml"))
ARGO_KINDS = {"WorkflowTemplate", "CronWorkflow", "Workflow", "ClusterWorkflowTemplate"}


@pytest.fixture(scope="module")
def helm() -> str:
    path = REPO / "tools" / "bin" / "helm"
    if path.is_file():
        return str(path)
    found = shutil.which("helm")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("helm is missing: `make tools` (tools/fetch-tools.sh) must run before the tests in CI")
    pytest.skip("helm is not installed here: run `make tools` (tools/fetch-tools.sh) to fetch it")


def template(helm: str, values: Path) -> list[dict]:
    out = subprocess.run(
        [helm, "template", "rel", str(CHART), "--namespace", "argo", "-f", str(values)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def test_chart_files_are_the_rendered_workflows():
    files = CHART / "files" / "workflows"
    assert sorted(p.name for p in files.glob("*.yaml")) == sorted(manifests())
    for path in files.glob("*.yaml"):
        assert path.read_text() == (RENDERED / path.name).read_text(), (
            f"run `make render`: {path.name} drifted"
        )


@pytest.mark.parametrize("values", SCENARIOS, ids=lambda p: p.name)
def test_helm_lint(helm, values):
    result = subprocess.run(
        [helm, "lint", "--strict", str(CHART), "-f", str(values)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("values", SCENARIOS, ids=lambda p: p.name)
def test_rendered_objects_are_valid(helm, values, tmp_path):
    docs = template(helm, values)
    kube = [d for d in docs if d["kind"] not in ARGO_KINDS]
    argo = [d for d in docs if d["kind"] in ARGO_KINDS]
    for doc in argo:
        assert strict_check(doc) == [], f"{doc['kind']} {doc['metadata']['name']}"
    path = tmp_path / "kube.yaml"
    path.write_text(yaml.safe_dump_all(kube))
    result = subprocess.run(
        [str(Path(sys.executable).parent / "kubernetes-validate"), "--strict", "-k", "1.33.0", str(path)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for doc in docs:
        assert doc["metadata"].get("namespace", "argo") == "argo"


def kinds(docs):
    return sorted(f"{d['kind']}/{d['metadata']['name']}" for d in docs)


def test_scenarios_do_what_they_say(helm):
    default = template(helm, CHART / "ci" / "default-values.yaml")
    assert "CronWorkflow/html-classification-daily" in kinds(default)
    assert "ConfigMap/artifact-repositories" in kinds(default)
    assert sum(d["kind"] == "WorkflowTemplate" for d in default) == sum(
        m["kind"] == "WorkflowTemplate" for m in manifests().values()
    )
    assert "Deployment/html-classification-labeler" in kinds(default)
    external = template(helm, CHART / "ci" / "external-s3-values.yaml")
    assert not any(d["kind"] in ("CronWorkflow", "ServiceAccount") for d in external)
    templates = [d for d in external if d["kind"] == "WorkflowTemplate"]
    pipeline = next(d for d in templates if d["metadata"]["name"] == "html-classification")
    bucket = next(p for p in pipeline["spec"]["arguments"]["parameters"] if p["name"] == "bucket")
    assert bucket["value"] == "acme-ml-datasets"
    assert {d["spec"]["serviceAccountName"] for d in templates} == {"ml-pipelines"}
    kind = template(helm, CHART / "ci" / "kind-minio-values.yaml")
    job = next(d for d in kind if d["kind"] == "Job")
    script = job["spec"]["template"]["spec"]["containers"][0]["args"][0]
    assert "mc version enable" in script and "identity html-parsing ready" in script
    cron = next(d for d in kind if d["kind"] == "CronWorkflow")
    assert cron["spec"]["suspend"] is True
    images = {
        c["container"]["image"]
        for d in kind
        if d["kind"] == "WorkflowTemplate"
        for c in d["spec"]["templates"]
        if "container" in c
    }
    assert all(i.startswith("localhost/html-classification/") and i.endswith(":0.1.0") for i in images)


def test_no_secret_values_in_any_scenario(helm):
    for values in SCENARIOS:
        for doc in template(helm, values):
            assert doc["kind"] != "Secret"
            text = yaml.safe_dump(doc)
            for env_value in ("AWS_SECRET_ACCESS_KEY", "MINIO_ROOT_PASSWORD"):
                if env_value in text:
                    assert "secretKeyRef" in text


def test_the_minio_bootstrap_gives_each_identity_its_rendered_policy(helm):
    from medallion.tools import policies

    objects = template(helm, CHART / "ci" / "kind-minio-values.yaml")
    job = next(o for o in objects if o["kind"] == "Job" and o["metadata"]["name"].endswith("minio-bootstrap"))
    spec = job["spec"]["template"]["spec"]
    (init,) = spec["initContainers"]
    assert init["command"][:5] == ["python", "-m", "medallion.cli", "policies", "render"]
    assert init["command"][init["command"].index("--bucket") + 1] == "html-classification"
    script = spec["containers"][0]["args"][0]
    for identity in policies.identities():
        assert (
            f"mc admin policy create store html-classification-{identity} /policies/{identity}.json" in script
        )
        assert f"html-classification-{identity} --user" in script
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert set(values["s3"]["identities"]) == set(policies.identities()) | {"mlflow"}
