"""Argo's own linter, offline: `argo lint --offline` (the argo CLI at the Makefile's ARGO_VERSION, built by
tools/fetch-tools.sh) on workflows/rendered/ and on the Argo objects of every chart scenario, and proof that
it is live: a broken reference of each kind Argo resolves fails it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from test_chart import ARGO_KINDS, SCENARIOS, helm, template  # noqa: F401 -- helm is a fixture

from workflows.render import RENDERED

REPO = Path(__file__).resolve().parent.parent
DAG = "workflowtemplate-html-classification.yaml"
STEP = "workflowtemplate-html-parsing.yaml"


def argo_version() -> str:
    return re.search(r"^ARGO_VERSION \?= (\S+)", (REPO / "Makefile").read_text(), re.M).group(1)


@pytest.fixture(scope="module")
def argo() -> str:
    for path in (REPO / "tools" / "bin" / "argo", shutil.which("argo")):
        if path and Path(path).is_file():
            return str(path)
    if os.environ.get("CI"):
        pytest.fail(
            "the argo CLI is missing: `make tools` (tools/fetch-tools.sh) must run before the tests in CI"
        )
    pytest.skip("the argo CLI is not built here: run `make tools` (tools/fetch-tools.sh argo) to build it")


def lint(argo: str, *paths: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [argo, "lint", "--offline", "--output", "simple", "--no-color", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "KUBECONFIG": os.devnull},  # offline: no cluster is ever asked
    )


def test_the_argo_cli_is_the_version_the_makefile_deploys(argo):
    out = subprocess.run([argo, "version", "--short"], capture_output=True, text=True, check=True).stdout
    assert out.strip() == f"argo: {argo_version()}"


def test_rendered_manifests_pass_argo_lint(argo):
    result = lint(argo, RENDERED)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("values", SCENARIOS, ids=lambda p: p.name)
def test_every_chart_scenario_passes_argo_lint(argo, helm, values, tmp_path):  # noqa: F811
    argo_objects = [doc for doc in template(helm, values) if doc.get("kind") in ARGO_KINDS]
    assert argo_objects, f"{values.name} renders no Argo objects"
    for number, doc in enumerate(argo_objects):
        (tmp_path / f"{number:02d}-{doc['kind'].lower()}.yaml").write_text(yaml.safe_dump(doc))
    result = lint(argo, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


# -- the linter is live: each of these breaks must fail it -------------------------------------------------


def broken_copy(tmp_path: Path, name: str, edit) -> Path:
    """workflows/rendered/ in tmp_path, with ``edit`` applied to manifest ``name``."""
    folder = tmp_path / "rendered"
    shutil.copytree(RENDERED, folder)
    doc = yaml.safe_load((folder / name).read_text())
    edit(doc)
    (folder / name).write_text(yaml.safe_dump(doc, sort_keys=False))
    return folder


def dag_tasks(doc: dict) -> list[dict]:
    entry = doc["spec"]["entrypoint"]
    template_ = next(t for t in doc["spec"]["templates"] if t["name"] == entry)
    return template_["dag"]["tasks"]


def depend_on_a_missing_task(doc: dict) -> None:
    task = next(t for t in dag_tasks(doc) if t.get("depends"))
    task["depends"] = "no-such-task"


def reference_an_undeclared_input(doc: dict) -> None:
    container = next(t for t in doc["spec"]["templates"] if "container" in t)["container"]
    container["args"] = [
        arg.replace("inputs.parameters.date", "inputs.parameters.no-such-input") for arg in container["args"]
    ]


def reference_a_missing_template(doc: dict) -> None:
    task = next(t for t in dag_tasks(doc) if t.get("templateRef"))
    task["templateRef"]["template"] = "no-such-template"


@pytest.mark.parametrize(
    "name, edit, says",
    [
        (DAG, depend_on_a_missing_task, "no-such-task"),
        (STEP, reference_an_undeclared_input, "no-such-input"),
        (DAG, reference_a_missing_template, "no-such-template"),
    ],
    ids=["missing-dependency", "undeclared-input", "missing-template"],
)
def test_the_linter_rejects_a_broken_reference(argo, tmp_path, name, edit, says):
    folder = broken_copy(tmp_path, name, edit)
    assert lint(argo, RENDERED).returncode == 0  # the same files, unbroken, pass
    result = lint(argo, folder)
    assert result.returncode != 0, f"argo lint accepted a manifest with {says}:\n{result.stdout}"
    assert says in result.stdout + result.stderr
