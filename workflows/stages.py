"""One WorkflowTemplate per stage, from the pipeline table: the stage's container and nothing else.

Each runs ``python -m steps.<stage>`` in the stage's own image, as the stage's own S3 identity, and hands
the dataset's date, URI, SHA1 and row count on as output parameters (its sidecar as an artifact). The
container code also serves the release stages (``workflows/release.py``), keyed by ``--release NAME``.
"""

from __future__ import annotations

import dataclasses

from hera.workflows import Artifact, Container, Env, Parameter, Resources, WorkflowTemplate
from hera.workflows.models import ArchiveStrategy, NoneStrategy, ValueFrom

from medallion.core.config import SWITCHES
from medallion.core.pipeline import STAGES, Stage
from workflows.settings import (
    ACTIVE_DEADLINE_SECONDS,
    OUTPUTS_DIR,
    SERVICE_ACCOUNT,
    SERVICE_ENV,
    Deployment,
    identity,
    image,
    lineage_env,
    retry_strategy,
    s3_env,
)

OUTPUT_PARAMETERS = {
    "date": "the batch date the stage ran for",
    "release": "the release name, with {to} resolved (release-keyed stages only)",
    "uri": "URI of the dataset written",
    "sha1": "SHA1 of the dataset's data file",
    "rows": "rows in the dataset",
}
RELEASE_NAME = "release name, one path segment; {to} in it becomes the window's last date (weekly-{to})"


def output_parameters(stage: Stage) -> dict[str, str]:
    """What the step writes to --output-params (medallion/runtime/step.py): ``release`` only when keyed by it."""
    if stage.keyed_by != "release":
        return {k: v for k, v in OUTPUT_PARAMETERS.items() if k != "release"}
    return {**OUTPUT_PARAMETERS, "date": "the last batch date of the release's window"}


def partition(stage: Stage) -> tuple[str, str, str]:
    """The option naming one dataset of the stage, and the input parameter (and its text) that fills it."""
    if stage.keyed_by == "release":
        return "--release", "name", RELEASE_NAME
    return "--date", "date", "batch date: YYYY-MM-DD, or yesterday"


def stage_parameters(stage: Stage) -> list[Parameter]:
    """What the stage's container takes: where, which dataset (date or release), and its own parameters."""
    _option, name, text = partition(stage)
    params = [
        Parameter(name="bucket", description="S3 bucket (or bucket/prefix) holding the datasets"),
        Parameter(name=name, description=text),
        Parameter(name="workflow", value=stage.workflow, description="workflow name recorded in the sidecar"),
    ]
    params += [
        Parameter(name=name, value="false", enum=["false", "true"], description=text)
        for name, (_variable, text) in SWITCHES.items()
    ]
    for param in stage.params:
        params.append(Parameter(name=param.name, value=param.default or "", description=param.help))
    return params


def container_args(stage: Stage) -> list[str]:
    option, name, _text = partition(stage)
    args = ["--store", "s3://{{inputs.parameters.bucket}}", option, f"{{{{inputs.parameters.{name}}}}}"]
    for param in stage.params:
        args += [param.option, f"{{{{inputs.parameters.{param.name}}}}}"]
    return args + ["--output-params", OUTPUTS_DIR]


def container(
    stage: Stage,
    deployment: Deployment,
    name: str,
    extra_args: list[str],
    extra_inputs: list[Parameter],
    outputs: bool,
) -> Container:
    return Container(
        name=name,
        image=image(deployment, stage.name),
        command=["python", "-m", stage.module],
        args=container_args(stage)[:-2] + extra_args + ["--output-params", OUTPUTS_DIR],
        inputs=stage_parameters(stage) + extra_inputs,
        outputs=[
            *(
                Parameter(name=key, value_from=ValueFrom(path=f"{OUTPUTS_DIR}/{key}"), description=text)
                for key, text in output_parameters(stage).items()
            ),
            Artifact(
                name="sidecar",
                path=f"{OUTPUTS_DIR}/sidecar.yaml",
                archive=ArchiveStrategy(none=NoneStrategy()),
            ),
        ]
        if outputs
        else None,
        env=[
            *s3_env(identity(stage)),
            *lineage_env(),
            *(env for service in stage.services for env in SERVICE_ENV[service]()),
            Env(name="MEDALLION_WORKFLOW", value="{{inputs.parameters.workflow}}"),
            Env(name="MEDALLION_RUN_ID", value="{{workflow.name}}"),
            *(
                Env(name=variable, value=f"{{{{inputs.parameters.{name}}}}}")
                for name, (variable, _text) in SWITCHES.items()
            ),
            Env(name="MEDALLION_IDENTITY", value=stage.identity),
        ],
        resources=Resources(**dataclasses.asdict(stage.sizing)),
        retry_strategy=retry_strategy(),
        active_deadline_seconds=ACTIVE_DEADLINE_SECONDS,
    )


def stage_template(stage: Stage, deployment: Deployment = Deployment()) -> WorkflowTemplate:
    """Template ``run`` does the whole stage; a shardable stage also has ``shard`` (one of N slices of
    the input, into scratch) and ``merge`` (the N slices into the dataset, identical to ``run``'s)."""
    shards = Parameter(name="shards", value="1", description="how many shards the input is split into")
    with WorkflowTemplate(
        name=stage.workflow,
        namespace=deployment.namespace,
        entrypoint="run",
        service_account_name=SERVICE_ACCOUNT,
        labels={"app.kubernetes.io/part-of": "html-classification", "html-classification/stage": stage.name},
        annotations={"workflows.argoproj.io/description": stage.description},
    ) as template:
        container(stage, deployment, "run", [], [], outputs=True)
        if stage.shardable:
            container(
                stage,
                deployment,
                "shard",
                ["--shard", "{{inputs.parameters.shard}}/{{inputs.parameters.shards}}"],
                [Parameter(name="shard", description="which shard, 0 to shards-1"), shards],
                outputs=False,
            )
            container(
                stage,
                deployment,
                "merge",
                ["--merge", "{{inputs.parameters.shards}}"],
                [shards],
                outputs=True,
            )
    return template


def stage_templates(deployment: Deployment = Deployment()) -> list[WorkflowTemplate]:
    return [stage_template(stage, deployment) for stage in STAGES]
