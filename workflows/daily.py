"""The daily schedule: submit the pipeline for the previous day's batch, one run at a time."""

from __future__ import annotations

from hera.workflows import CronWorkflow, Parameter
from hera.workflows.models import WorkflowTemplateRef

from workflows.html_classification import NAME as PIPELINE
from workflows.settings import Deployment

NAME = "html-classification-daily"


def daily_cron(deployment: Deployment = Deployment()) -> CronWorkflow:
    return CronWorkflow(
        name=NAME,
        namespace=deployment.namespace,
        schedules=[deployment.schedule],
        timezone=deployment.timezone,
        concurrency_policy="Forbid",  # a slow day never overlaps the next one
        starting_deadline_seconds=3600,  # a controller that was down catches up within the hour, not later
        successful_jobs_history_limit=7,
        failed_jobs_history_limit=14,
        workflow_template_ref=WorkflowTemplateRef(name=PIPELINE),
        arguments=[Parameter(name="date", value="yesterday")],
        labels={"app.kubernetes.io/part-of": "html-classification"},
        annotations={"workflows.argoproj.io/description": "Builds yesterday's batch every night."},
    )
