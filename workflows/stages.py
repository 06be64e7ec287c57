"""One WorkflowTemplate per stage, from the pipeline table: the stage's container and nothing else.

Each runs ``python -m steps.<stage>`` in the stage's own image, as the stage's own S3 identity, and hands
the dataset's date, URI, SHA1 and row count on as output parameters (its sidecar as an artifact).
"""

from __future__ import annotations

from hera.workflows import Artifact, Container, Env, Parameter, Resources, WorkflowTemplate
from hera.workflows.models import ArchiveStrategy, NoneStrategy, ValueFrom

from medallion.pipeline import STAGES, Stage
from workflows.settings import (
    ACTIVE_DEADLINE_SECONDS,
    OUTPUTS_DIR,
    RESOURCES,
    SERVICE_ACCOUNT,
    Deployment,
    identity,
    image,
    retry_strategy,
    s3_env,
)

OUTPUT_PARAMETERS = {
    "date": "the batch date the stage ran for",
    "uri": "URI of the dataset written",
    "sha1": "SHA1 of the dataset's data file",
    "rows": "rows in the dataset",
}


def stage_parameters(stage: Stage) -> list[Parameter]:
    """What the stage's container takes: where, when, and the stage's own parameters."""
    params = [
        Parameter(name="bucket", description="S3 bucket (or bucket/prefix) holding the datasets"),
        Parameter(name="date", description="batch date: YYYY-MM-DD, or yesterday"),
        Parameter(name="workflow", value=stage.workflow, description="workflow name recorded in the sidecar"),
    ]
    for param in stage.params:
        params.append(Parameter(name=param.name, value=param.default or "", description=param.help))
    return params


def container_args(stage: Stage) -> list[str]:
    args = ["--store", "s3://{{inputs.parameters.bucket}}", "--date", "{{inputs.parameters.date}}"]
    for param in stage.params:
        args += [f"--{param.name}", f"{{{{inputs.parameters.{param.name}}}}}"]
    return args + ["--output-params", OUTPUTS_DIR]


def stage_template(stage: Stage, deployment: Deployment = Deployment()) -> WorkflowTemplate:
    with WorkflowTemplate(
        name=stage.workflow,
        namespace=deployment.namespace,
        entrypoint="run",
        service_account_name=SERVICE_ACCOUNT,
        labels={"app.kubernetes.io/part-of": "html-classification", "html-classification/stage": stage.name},
        annotations={"workflows.argoproj.io/description": stage.description},
    ) as template:
        Container(
            name="run",
            image=image(deployment, stage.name),
            command=["python", "-m", stage.module],
            args=container_args(stage),
            inputs=stage_parameters(stage),
            outputs=[
                *(
                    Parameter(name=name, value_from=ValueFrom(path=f"{OUTPUTS_DIR}/{name}"), description=text)
                    for name, text in OUTPUT_PARAMETERS.items()
                ),
                Artifact(
                    name="sidecar",
                    path=f"{OUTPUTS_DIR}/sidecar.yaml",
                    archive=ArchiveStrategy(none=NoneStrategy()),
                ),
            ],
            env=[
                *s3_env(identity(stage)),
                Env(name="MEDALLION_WORKFLOW", value="{{inputs.parameters.workflow}}"),
                Env(name="MEDALLION_RUN_ID", value="{{workflow.name}}"),
            ],
            resources=Resources(**RESOURCES[stage.name]),
            retry_strategy=retry_strategy(),
            active_deadline_seconds=ACTIVE_DEADLINE_SECONDS,
        )
    return template


def stage_templates(deployment: Deployment = Deployment()) -> list[WorkflowTemplate]:
    return [stage_template(stage, deployment) for stage in STAGES]
