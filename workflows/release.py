"""A release and the model trained on it: the ``release`` WorkflowTemplate and its weekly CronWorkflow.

The template's DAG has two tasks: ``release`` builds the training set across days (``python -m
steps.release`` in the release image, as the release identity), then ``train`` fits and registers a model
on it (``python -m steps.train --release`` in the release-model image, as that identity), by the name the
release task resolved (``{to}`` replaced), so a run that crosses midnight trains on the release it built.
``clean=true`` also writes ``<name>-clean`` (``--clean true``: Argo cannot drop an argument).
The weekly schedule builds ``weekly-<yesterday>`` from the seven days ending yesterday.
"""

from __future__ import annotations

from hera.workflows import DAG, CronWorkflow, Parameter, Task, WorkflowTemplate
from hera.workflows.models import WorkflowTemplateRef

from medallion.core.config import SWITCHES
from medallion.core.pipeline import stage
from workflows.settings import SERVICE_ACCOUNT, Deployment
from workflows.stages import RELEASE_NAME, container

NAME = "release"
WEEKLY = "html-classification-weekly-release"
RELEASE = stage("release")
MODEL = stage("release-model")
TRAIN_PARAMS = (  # name, default, description, enum: the train task's own, beside the release's
    ("model-name", "", "MLflow registered model the new version goes to (empty: html-classification)", ()),
    (
        "clean",
        "false",
        "true: also write the release <name>-clean, without the rows cleanlab finds mislabeled",
        ("false", "true"),
    ),
)
ARGUMENTS = [
    ("bucket", "", "S3 bucket (optionally bucket/prefix) that holds the datasets.", ()),
    ("name", "", f"The {RELEASE_NAME}.", ()),
    *((p.name, p.default or "", p.help, p.enum) for p in RELEASE.params),
    *TRAIN_PARAMS,
    *((name, "false", text, ("false", "true")) for name, (_variable, text) in SWITCHES.items()),
]


def passed(names) -> dict[str, str]:
    """Task arguments taking the workflow parameters of the same names."""
    return {name: f"{{{{workflow.parameters.{name}}}}}" for name in names}


def release_template(deployment: Deployment = Deployment()) -> WorkflowTemplate:
    arguments = [
        Parameter(
            name=name,
            description=text,
            enum=list(enum) or None,
            **({"value": deployment.bucket if name == "bucket" else default} if name != "name" else {}),
        )  # the release name has no default: a run names its release
        for name, default, text, enum in ARGUMENTS
    ]
    train_inputs = [
        Parameter(name=name, value=default, description=text, enum=list(enum) or None)
        for name, default, text, enum in TRAIN_PARAMS
    ]
    common = ["bucket", *SWITCHES]
    with WorkflowTemplate(
        name=NAME,
        namespace=deployment.namespace,
        entrypoint="release-and-train",
        service_account_name=SERVICE_ACCOUNT,
        arguments=arguments,
        labels={"app.kubernetes.io/part-of": "html-classification", "html-classification/stage": NAME},
        annotations={
            "workflows.argoproj.io/title": "HTML classification: a release and its model",
            "workflows.argoproj.io/description": RELEASE.description
            + " Then a model trained on it and registered in MLflow.",
        },
    ) as template:
        build = container(RELEASE, deployment, "release", [], [], outputs=True)
        train = container(
            MODEL,
            deployment,
            "train",
            ["--model-name", "{{inputs.parameters.model-name}}", "--clean", "{{inputs.parameters.clean}}"],
            train_inputs,
            outputs=True,
        )
        with DAG(name="release-and-train"):
            built = Task(
                name="release",
                template=build,
                arguments={
                    **passed([*common, "name", *(p.name for p in RELEASE.params)]),
                    "workflow": NAME,
                },
            )
            trained = Task(
                name="train",
                template=train,
                arguments={
                    **passed([*common, *(name for name, *_ in TRAIN_PARAMS)]),
                    "name": "{{tasks.release.outputs.parameters.release}}",
                    "workflow": NAME,
                },
            )
            built >> trained
    return template


def weekly_cron(deployment: Deployment = Deployment(), days: int = 7) -> CronWorkflow:
    """Every week, a rolling release of the ``days`` days ending yesterday, named weekly-<yesterday>."""
    return CronWorkflow(
        name=WEEKLY,
        namespace=deployment.namespace,
        schedules=[deployment.release_schedule],
        timezone=deployment.timezone,
        concurrency_policy="Forbid",  # a slow release never overlaps the next one
        starting_deadline_seconds=3600,
        successful_jobs_history_limit=4,
        failed_jobs_history_limit=8,
        workflow_template_ref=WorkflowTemplateRef(name=NAME),
        arguments=[
            Parameter(name="to", value="yesterday"),
            Parameter(name="days", value=str(days)),
            Parameter(name="name", value="weekly-{to}"),
        ],
        labels={"app.kubernetes.io/part-of": "html-classification"},
        annotations={
            "workflows.argoproj.io/description": f"Builds the release of the last {days} days and trains on it."
        },
    )
