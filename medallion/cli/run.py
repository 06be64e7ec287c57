"""``medallion run``: the pipeline table executed in order on one machine, each stage exactly as its
container would run it: the command's options, the options each stage gets, and running the stages."""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import subprocess
import sys
import uuid

from medallion.core import config, pipeline, taxonomy
from medallion.runtime import failures, parallel
from medallion.runtime.args import add_config_dir, add_step_arguments, parse_date
from medallion.runtime.failures import UsageError

PIPELINE_WORKFLOW = "html-classification"


def stage_argv(stage: pipeline.Stage, args: argparse.Namespace) -> list[str]:
    """The command-line arguments a stage's container gets for this run: its parameters from the table."""
    argv = ["--store", args.store, "--date", args.date]
    for param in stage.params:
        value = getattr(args, param.name.replace("-", "_"), None)
        if value:
            argv += [param.option, value]
    if args.force:
        argv.append("--force")
    if getattr(args, "warn_only", False):
        argv.append("--warn-only")
    return argv


def check_options(args: argparse.Namespace, stages: tuple[pipeline.Stage, ...]) -> None:
    """The options and configuration files of the stages about to run, checked before the first one runs
    (a typo costs a second, not the stages before the one that reads it): UsageError, exit 2."""
    from medallion.runtime.quality_gates import QualityConfigError, load_config

    for stage in stages:
        values = {param.name: getattr(args, param.name.replace("-", "_"), None) for param in stage.params}
        for param in stage.params:
            if param.enum and values[param.name] and values[param.name] not in param.enum:
                raise UsageError(
                    f"--{param.name} must be one of {', '.join(param.enum)}, got {values[param.name]!r}"
                )
        check = getattr(importlib.import_module(stage.module), "check_params", None)
        if check is not None:  # the stage's own checks of its values and the files they name
            check(values)
    try:
        load_config()
        if any(stage.labeled for stage in stages):
            taxonomy.load()
    except (QualityConfigError, taxonomy.TaxonomyError) as exc:
        raise UsageError(str(exc)) from exc


def run_pipeline(args: argparse.Namespace) -> int:
    """Execute the pipeline table in order, each stage exactly as its container would run it."""
    os.environ.setdefault("MEDALLION_WORKFLOW", PIPELINE_WORKFLOW)
    os.environ.setdefault("MEDALLION_RUN_ID", f"local-{uuid.uuid4().hex[:12]}")
    stages = pipeline.stages_until(args.until)
    check_options(args, stages)
    if not args.isolate:  # isolated, each stage's process starts its own
        warm_up(stages[1:])
    for stage in stages:
        try:
            code = run_stage(stage, stage_argv(stage, args), args.isolate)
        except KeyboardInterrupt as exc:  # outside the stage's own handling (while it is imported, say)
            raise exc if isinstance(exc, failures.Interrupted) else failures.Interrupted(stage.name) from None
        if code != 0:
            return code  # the stage said why, in one line; the later stages were not run
    return 0


def warm_up(stages: tuple[pipeline.Stage, ...]) -> None:
    """Load the models of the later stages (their ``warm_up``) in the process their workers will start
    from (``parallel.prewarm``), on the core the first stages leave idle."""
    modules = [stage.module for stage in stages if hasattr(importlib.import_module(stage.module), "warm_up")]
    if modules:
        parallel.prewarm(modules)


def run_stage(stage: pipeline.Stage, argv: list[str], isolate: bool) -> int:
    if not isolate:
        return importlib.import_module(stage.module).main(argv)
    child = subprocess.Popen([sys.executable, "-m", stage.module, *argv])
    try:
        return child.wait()
    except KeyboardInterrupt:
        failures.shield()
        if child.poll() is None:  # Ctrl-C reaches the child too; `kill -INT` of this process alone does not
            child.send_signal(signal.SIGINT)  # (a second one is harmless: the child shields its cleanup)
        code = child.wait()
        if code == 0:  # it finished first: its dataset is committed, no later stage ran
            raise failures.Interrupted(f"the stages after {stage.name}") from None
        if code < 0:  # killed before it could say so itself
            raise failures.Interrupted(stage.name) from None
        return code


def cmd_run(args: argparse.Namespace) -> int:
    return run_pipeline(args)


def cmd_release(args: argparse.Namespace) -> int:
    """``medallion release``: the release stage exactly as its container runs it (``python -m steps.release``)."""
    os.environ.setdefault("MEDALLION_WORKFLOW", "release")
    os.environ.setdefault("MEDALLION_RUN_ID", f"local-{uuid.uuid4().hex[:12]}")
    return importlib.import_module(pipeline.stage("release").module).build(args)


def add_parser(sub, store_help: str) -> None:
    stage = pipeline.stage("release")
    release = sub.add_parser(
        "release", help="build a training set across days (a release)", description=stage.description
    )
    add_step_arguments(release, stage)
    release.set_defaults(func=cmd_release)

    run = sub.add_parser("run", help="run the stages for one daily batch in order")
    run.add_argument("--store", default=config.default_store(), help=store_help)
    add_config_dir(run)
    run.add_argument("--date", required=True, type=parse_date, help="batch date, YYYY-MM-DD")
    run.add_argument("--until", choices=pipeline.STAGE_NAMES, help="last stage to run (default: all)")
    pipeline.add_stage_params(run)  # every stage parameter Argo exposes, from the pipeline table
    run.add_argument("--force", action="store_true", help="rebuild datasets even when up to date")
    run.add_argument("--isolate", action="store_true", help="run each stage in its own process")
    run.add_argument(
        "--warn-only", action="store_true", help="report failed quality gates instead of stopping"
    )
    run.set_defaults(func=cmd_run)
