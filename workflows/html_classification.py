"""The pipeline: a DAG over the stage WorkflowTemplates, with the parameters a person edits in the UI.

Tasks call the stage templates by ``templateRef`` in pipeline-table order; ``until`` skips every stage
after the one named. The first stage resolves the date (``yesterday`` on a schedule) and every later task
takes the resolved date from it, so a run that crosses midnight stays on one batch. An exit handler
prints a summary of what was produced and, when a webhook is given, posts failures to it.
"""

from __future__ import annotations

from hera.workflows import DAG, Container, Env, Parameter, Task, WorkflowTemplate
from hera.workflows.models import Sequence, TemplateRef

from medallion.core.config import SWITCHES
from medallion.core.pipeline import STAGE_NAMES, STAGES
from workflows.settings import SERVICE_ACCOUNT, Deployment, image, s3_env

NAME = "html-classification"
MAX_PARALLEL_SHARDS = 8  # pods of one run at a time: bounds the load a wide fan-out puts on the cluster
EXIT_IDENTITY = "html-classification-s3-analyst"  # read-only: the summary only reads sidecars

ARGUMENTS = [
    ("date", "yesterday", "Batch date, YYYY-MM-DD; 'yesterday' (UTC) is what the daily schedule uses.", ()),
    ("until", STAGE_NAMES[-1], "The last stage to run.", STAGE_NAMES),
    ("bucket", "", "S3 bucket (optionally bucket/prefix) that holds the datasets.", ()),
    ("webhook", "", "Optional URL that receives a JSON summary when the run fails.", ()),
    (
        "shards",
        "1",
        "Shards html-parsing and text-normalization fan out over (same result for any number).",
        (),
    ),
] + [(param.name, param.default or "", param.help, param.enum) for stage in STAGES for param in stage.params]
ARGUMENTS += [(name, "false", text, ("false", "true")) for name, (_variable, text) in SWITCHES.items()]


def runs(stage_index: int) -> str | None:
    """The ``when`` of a stage's task: it runs unless ``until`` names an earlier stage."""
    earlier = STAGE_NAMES[:stage_index]
    if not earlier:
        return None
    return " && ".join(f"'{{{{workflow.parameters.until}}}}' != '{name}'" for name in earlier)


def task_arguments(index: int) -> dict[str, str]:
    stage = STAGES[index]
    date = (
        "{{workflow.parameters.date}}"
        if index == 0
        else f"{{{{tasks.{STAGES[0].name}.outputs.parameters.date}}}}"
    )
    args = {
        "bucket": "{{workflow.parameters.bucket}}",
        "date": date,
        "workflow": NAME,
        **{name: f"{{{{workflow.parameters.{name}}}}}" for name in SWITCHES},
    }
    for param in stage.params:
        args[param.name] = f"{{{{workflow.parameters.{param.name}}}}}"
    return args


def pipeline_template(deployment: Deployment = Deployment()) -> WorkflowTemplate:
    arguments = [
        Parameter(
            name=name,
            value=deployment.bucket if name == "bucket" else default,
            description=text,
            enum=list(enum) or None,
        )
        for name, default, text, enum in ARGUMENTS
    ]
    with WorkflowTemplate(
        name=NAME,
        namespace=deployment.namespace,
        entrypoint="pipeline",
        on_exit="exit-handler",
        service_account_name=SERVICE_ACCOUNT,
        arguments=arguments,
        labels={"app.kubernetes.io/part-of": "html-classification"},
        annotations={
            "workflows.argoproj.io/title": "HTML classification: crawl to training data",
            "workflows.argoproj.io/description": "Bronze, silver (and later gold) datasets for one daily batch.",
        },
    ) as template:
        Container(
            name="exit-handler",
            image=image(deployment, "base"),
            command=["python", "-m", "medallion.cli", "workflows", "exit-summary"],
            args=[
                "--store",
                "s3://{{workflow.parameters.bucket}}",
                "--date",
                "{{workflow.parameters.date}}",
                "--status",
                "{{workflow.status}}",
                "--failures",
                "{{workflow.failures}}",
                "--webhook",
                "{{workflow.parameters.webhook}}",
            ],
            env=[*s3_env(EXIT_IDENTITY), Env(name="MEDALLION_IDENTITY", value="analyst")],
        )
        with DAG(name="pipeline", parallelism=MAX_PARALLEL_SHARDS):
            previous = None
            for index, stage in enumerate(STAGES):
                if stage.shardable:
                    # Fan out over the shards, then merge them into the one dataset.
                    fan_out = Task(
                        name=f"{stage.name}-shard",
                        template_ref=TemplateRef(name=stage.workflow, template="shard"),
                        arguments={
                            **task_arguments(index),
                            "shard": "{{item}}",
                            "shards": "{{workflow.parameters.shards}}",
                        },
                        with_sequence=Sequence(count="{{workflow.parameters.shards}}"),
                        when=runs(index),
                    )
                    previous >> fan_out
                    previous = fan_out
                task = Task(
                    name=stage.name,
                    template_ref=TemplateRef(
                        name=stage.workflow, template="merge" if stage.shardable else "run"
                    ),
                    arguments={
                        **task_arguments(index),
                        **({"shards": "{{workflow.parameters.shards}}"} if stage.shardable else {}),
                    },
                    when=runs(index),
                )
                if previous is not None:
                    previous >> task
                previous = task
    return template
