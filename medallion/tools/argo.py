"""``medallion workflows ...``: render, check, run locally, and talk to an Argo server.

The Argo server comes from ``ARGO_SERVER`` (and ``ARGO_TOKEN``, ``ARGO_NAMESPACE``); see ``config``.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.request
from datetime import date, timedelta
from pathlib import Path

from medallion.core import config
from medallion.core.config import ConfigError

PIPELINE = "html-classification"


def deployment(args: argparse.Namespace):
    from workflows.settings import Deployment

    base = Deployment()
    return Deployment(
        registry=args.registry or base.registry,
        tag=args.tag or base.tag,
        namespace=args.namespace or base.namespace,
        bucket=args.bucket or base.bucket,
        schedule=args.schedule or base.schedule,
        release_schedule=args.release_schedule or base.release_schedule,
        timezone=args.timezone or base.timezone,
    )


def cmd_render(args: argparse.Namespace) -> int:
    from workflows.render import render
    from workflows.validate import strict_check

    problems = 0
    for path in render(Path(args.out), deployment(args)):
        import yaml

        for problem in strict_check(yaml.safe_load(path.read_text())):
            problems += 1
            print(f"{path.name}: {problem}", file=sys.stderr)
        print(f"wrote {path}")
    return 1 if problems else 0


def cmd_run_local(args: argparse.Namespace) -> int:
    from workflows.local import LocalRun, WiringError

    params = dict(parse_param(p) for p in args.param)
    try:
        return LocalRun(Path(args.folder), args.store, params, workflow=args.workflow).run()
    except WiringError as exc:
        print(f"error: the rendered workflows do not fit together: {exc}", file=sys.stderr)
        return 2


def parse_param(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise ConfigError(f"-p takes NAME=VALUE, got {text!r}")
    return name, value


def service():
    from hera.workflows.service import WorkflowsService

    server = config.argo_server()
    return WorkflowsService(
        host=server.url, token=server.token, namespace=server.namespace, verify_ssl=server.verify
    )


def talking_to_argo(fn):
    """Failures of the Argo server or the network become one clear line, not a traceback."""

    def wrapped(args: argparse.Namespace) -> int:
        try:
            return fn(args)
        except ConfigError:
            raise
        except Exception as exc:
            raise ConfigError(
                f"the Argo server at {config.argo_server().url} did not accept the request: {exc}. "
                "Check ARGO_SERVER, ARGO_TOKEN and ARGO_NAMESPACE, and that the server is reachable."
            ) from exc

    return wrapped


@talking_to_argo
def cmd_apply(args: argparse.Namespace) -> int:
    """Create or update every rendered manifest on the Argo server."""
    import yaml
    from hera.workflows import models

    svc = service()
    # kind -> (model, get, create, update, create request, update request, request field)
    calls = {
        "WorkflowTemplate": (models.WorkflowTemplate, svc.get_workflow_template, svc.create_workflow_template,
                             svc.update_workflow_template, models.WorkflowTemplateCreateRequest,
                             models.WorkflowTemplateUpdateRequest, "template"),
        "CronWorkflow": (models.CronWorkflow, svc.get_cron_workflow, svc.create_cron_workflow,
                         svc.update_cron_workflow, models.CreateCronWorkflowRequest,
                         models.UpdateCronWorkflowRequest, "cron_workflow"),
    }  # fmt: skip
    for path in sorted(Path(args.folder).glob("*.yaml")):
        manifest = yaml.safe_load(path.read_text())
        if manifest["kind"] not in calls:
            continue
        model, get, create, update, create_request, update_request, field = calls[manifest["kind"]]
        resource = model.model_validate(manifest)
        name = manifest["metadata"]["name"]
        try:
            resource.metadata.resource_version = get(name).metadata.resource_version
        except Exception:  # not there yet
            create(create_request(**{field: resource}))
            action = "created"
        else:
            update(name, update_request(**{field: resource}))
            action = "updated"
        print(f"{action} {manifest['kind']} {name}")
    return 0


def submit(params: dict[str, str]) -> str:
    from hera.workflows import models

    svc = service()
    request = models.WorkflowSubmitRequest(
        resource_kind="WorkflowTemplate",
        resource_name=PIPELINE,
        submit_options=models.SubmitOpts(parameters=[f"{k}={v}" for k, v in params.items()]),
    )
    workflow = svc.submit_workflow(request)
    return workflow.metadata.name


@talking_to_argo
def cmd_submit(args: argparse.Namespace) -> int:
    name = submit(dict(parse_param(p) for p in args.param))
    print(f"submitted {name}")
    return 0


def date_range(first: str, last: str) -> list[str]:
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    if end < start:
        raise ConfigError(f"--to {last} is before --from {first}")
    return [(start + timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]


@talking_to_argo
def cmd_backfill(args: argparse.Namespace) -> int:
    extra = dict(parse_param(p) for p in args.param)
    for day in date_range(args.date_from, args.date_to):
        print(f"{day}: submitted {submit({**extra, 'date': day})}", flush=True)
    return 0


def cmd_exit_summary(args: argparse.Namespace) -> int:
    """The pipeline's exit handler: what was produced for the date, and a webhook post on failure."""
    from medallion.core.store import open_store
    from medallion.runtime.args import parse_date
    from medallion.tools.inventory import print_summary

    day = parse_date(args.date)
    print(f"workflow status: {args.status}")
    failures = json.loads(args.failures) if args.failures and args.failures != "null" else []
    for failure in failures:
        print(f"failed: {failure.get('displayName')}: {failure.get('message')}")
    print_summary(open_store(args.store), day)
    if args.webhook and args.status != "Succeeded":
        body = json.dumps(
            {"workflow": PIPELINE, "date": day, "status": args.status, "failures": failures}
        ).encode()
        request = urllib.request.Request(
            args.webhook, data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            print(f"posted the failure to the webhook ({response.status})")
    return 0


def add_parser(sub) -> None:
    parser = sub.add_parser("workflows", help="Argo Workflows: render, run locally, apply, submit, backfill")
    commands = parser.add_subparsers(dest="workflows_command", required=True, metavar="COMMAND")

    def deployment_options(p):
        p.add_argument("--registry", help="image registry (default ghcr.io/html-classification)")
        p.add_argument("--tag", help="image tag (default: the package version)")
        p.add_argument("--namespace", help="Kubernetes namespace (default argo)")
        p.add_argument("--bucket", help="default bucket of the pipeline (default html-classification)")
        p.add_argument("--schedule", help="cron schedule of the daily run (default '30 2 * * *')")
        p.add_argument("--release-schedule", help="cron schedule of the weekly release (default '0 6 * * 1')")
        p.add_argument("--timezone", help="time zone of the schedule (default UTC)")

    render = commands.add_parser(
        "render", help="write every WorkflowTemplate and CronWorkflow as YAML, strictly checked"
    )
    render.add_argument("--out", default="workflows/rendered", help="folder (default workflows/rendered)")
    deployment_options(render)
    render.set_defaults(func=cmd_render)

    local = commands.add_parser(
        "run-local", help="execute a rendered WorkflowTemplate's DAG (html-classification, release) here"
    )
    local.add_argument("folder", help="folder of rendered manifests")
    local.add_argument(
        "--workflow",
        default=PIPELINE,
        help=f"the WorkflowTemplate to run (default {PIPELINE}; release: a release and its model)",
    )
    local.add_argument(
        "--store", default=config.default_store(), help="store the templates' s3://<bucket> maps onto"
    )
    local.add_argument(
        "-p", "--param", action="append", default=[], metavar="NAME=VALUE", help="workflow parameter"
    )
    local.set_defaults(func=cmd_run_local)

    apply = commands.add_parser("apply", help="create or update the rendered manifests on the Argo server")
    apply.add_argument("folder", nargs="?", default="workflows/rendered")
    apply.set_defaults(func=cmd_apply)

    sub_ = commands.add_parser("submit", help="submit the html-classification pipeline")
    sub_.add_argument(
        "-p", "--param", action="append", default=[], metavar="NAME=VALUE", help="workflow parameter"
    )
    sub_.set_defaults(func=cmd_submit)

    back = commands.add_parser("backfill", help="submit one pipeline run per date")
    back.add_argument("--from", dest="date_from", required=True, help="first date, YYYY-MM-DD")
    back.add_argument("--to", dest="date_to", required=True, help="last date, YYYY-MM-DD (inclusive)")
    back.add_argument(
        "-p", "--param", action="append", default=[], metavar="NAME=VALUE", help="other parameters"
    )
    back.set_defaults(func=cmd_backfill)

    summary = commands.add_parser("exit-summary", help="(the pipeline's exit handler) summarize a run")
    summary.add_argument("--store", required=True)
    summary.add_argument("--date", required=True)
    summary.add_argument("--status", required=True)
    summary.add_argument("--failures", default="")
    summary.add_argument("--webhook", default="")
    summary.set_defaults(func=cmd_exit_summary)
