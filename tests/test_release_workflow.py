"""The release workflow: the rendered ``release`` WorkflowTemplate and its weekly CronWorkflow pass Argo's
model strictly with every parameter documented, and the template runs end to end on this machine
(run-local) over a three-day demo store: the release, the model's predictions and the cleaned release."""

from __future__ import annotations

import pytest
from conftest import THREE_DAYS, meta_of, run_cli

from medallion.core import pipeline
from medallion.tools import policies
from workflows.release import NAME, WEEKLY
from workflows.render import RENDERED, manifests
from workflows.validate import strict_check

TEMPLATE = f"workflowtemplate-{NAME}.yaml"
CRON = f"cronworkflow-{WEEKLY}.yaml"
FIRST, LAST = THREE_DAYS[0], THREE_DAYS[-1]


def containers(manifest: dict) -> dict[str, dict]:
    return {t["name"]: t for t in manifest["spec"]["templates"] if "container" in t}


@pytest.mark.parametrize("name", [TEMPLATE, CRON])
def test_the_release_manifests_pass_argos_model_strictly(name):
    assert strict_check(manifests()[name]) == []


def test_every_parameter_is_documented_for_the_submit_form():
    template = manifests()[TEMPLATE]
    arguments = {p["name"]: p for p in template["spec"]["arguments"]["parameters"]}
    assert {
        "bucket", "name", "from", "to", "days", "source", "near-duplicate-threshold", "splits",
        "require-all-days", "allow-other-taxonomy", "model-name", "clean", "force", "warn-only",
    } == set(arguments)  # fmt: skip
    assert all(p.get("description") for p in arguments.values())
    assert arguments["source"]["enum"] == ["post-train", "annotated"]
    for switch in ("require-all-days", "allow-other-taxonomy", "clean", "force", "warn-only"):
        assert arguments[switch]["enum"] == ["false", "true"] and arguments[switch]["value"] == "false"
    assert "value" not in arguments["name"]  # a run names its release
    for step in containers(template).values():
        assert all(p.get("description") for p in step["inputs"]["parameters"])
        assert all(p.get("description") for p in step["outputs"]["parameters"])


def test_the_dag_builds_the_release_then_trains_on_the_name_it_resolved():
    template = manifests()[TEMPLATE]
    spec = template["spec"]
    (dag,) = [t for t in spec["templates"] if t["name"] == spec["entrypoint"]]
    release, train = dag["dag"]["tasks"]
    assert (release["name"], train["name"], train["depends"]) == ("release", "train", "release")
    passed = {p["name"]: p["value"] for p in train["arguments"]["parameters"]}
    assert passed["name"] == "{{tasks.release.outputs.parameters.release}}"
    steps = containers(template)
    for task, stage_name, module in (
        ("release", "release", "steps.release"),
        ("train", "release-model", "steps.train"),
    ):
        stage = pipeline.stage(stage_name)
        step = steps[task]
        container = step["container"]
        assert container["command"] == ["python", "-m", module]
        repository, tag = container["image"].rsplit(":", 1)
        assert repository.endswith(f"/{stage_name}") and tag != "latest"
        assert container["args"][2:4] == ["--release", "{{inputs.parameters.name}}"]
        env = {e["name"]: e for e in container["env"]}
        assert env["MEDALLION_IDENTITY"]["value"] == stage.identity
        secret = env["AWS_SECRET_ACCESS_KEY"]["valueFrom"]["secretKeyRef"]
        assert secret == {"name": f"html-classification-s3-{stage.identity}", "key": "secretKey"}
        assert stage.identity in policies.identities()
        assert container["resources"]["limits"]["memory"] == stage.sizing.memory_limit
        assert "release" in [p["name"] for p in step["outputs"]["parameters"]]
    train_args = steps["train"]["container"]["args"]
    assert train_args[train_args.index("--clean") + 1] == "{{inputs.parameters.clean}}"
    assert "MLFLOW_TRACKING_URI" in {e["name"] for e in steps["train"]["container"]["env"]}


def test_the_weekly_cron_releases_the_seven_days_ending_yesterday():
    cron = manifests()[CRON]["spec"]
    assert cron["workflowSpec"]["workflowTemplateRef"] == {"name": NAME}
    arguments = {p["name"]: p["value"] for p in cron["workflowSpec"]["arguments"]["parameters"]}
    assert arguments == {"to": "yesterday", "days": "7", "name": "weekly-{to}"}
    assert cron["concurrencyPolicy"] == "Forbid" and cron["timezone"] and cron["startingDeadlineSeconds"]
    assert cron["schedules"] == ["0 6 * * 1"]  # Mondays: the week up to Sunday
    declared = {p["name"] for p in manifests()[TEMPLATE]["spec"]["arguments"]["parameters"]}
    assert set(arguments) <= declared


def local_run(store: str, env: dict, root, *params: str):
    argv = ["medallion", "workflows", "run-local", str(RENDERED), "--workflow", NAME, "--store", store]
    for param in params:
        argv += ["-p", param]
    return run_cli(*argv, env=env, cwd=root, timeout=600)


@pytest.mark.slow
@pytest.mark.xdist_group("release")
def test_run_local_builds_a_release_and_its_model(three_days):
    """On three days of the demo (its own release aside): the batches a release is built from."""
    store, env, tmp_path, _output = three_days

    result = local_run(store, env, tmp_path, "name=wk-{to}", f"from={FIRST}", f"to={LAST}", "clean=true")
    assert result.returncode == 0, result.stderr.decode()[-3000:]
    assert f"[run-local] {NAME}-local-" in result.stdout.decode() and b"Succeeded" in result.stdout
    name = f"wk-{LAST}"  # {to} resolved by the release task, and the train task took it from there
    assert (tmp_path / "data" / f"html-classification/releases/{name}/documents.parquet").is_file()
    assert (tmp_path / "data" / f"html-classification/models/releases/{name}/predictions.parquet").is_file()
    release = meta_of(store, "release", name)
    assert release["release"]["days"] == ["2026-12-01", "2026-12-02", "2026-12-03"]
    assert release["workflow"]["name"] == NAME
    model = meta_of(store, "release-model", name)
    assert model["sources"][0]["sha1"] == release["sha1"]
    assert model["statistics"]["mlflow"]["model_name"] == "html-classification"
    cleaned = meta_of(store, "release", name + pipeline.CLEAN_SUFFIX)
    assert cleaned["stage"]["name"] == "release-clean" and cleaned["release"]["cleaned_from"] == name
    assert meta_of(store, "release", "wk-{to}") is None

    # A window by --days, and clean=false (the default): the model, and no cleaned release.
    result = local_run(store, env, tmp_path, "name=two-{to}", "to=2026-12-02", "days=2")
    assert result.returncode == 0, result.stderr.decode()[-3000:]
    assert meta_of(store, "release", "two-2026-12-02")["release"]["days"] == ["2026-12-01", "2026-12-02"]
    assert meta_of(store, "release-model", "two-2026-12-02")
    assert meta_of(store, "release", "two-2026-12-02" + pipeline.CLEAN_SUFFIX) is None
