"""A step's command line: the options every step shares, and its stage's parameters from the pipeline table."""

from __future__ import annotations

import argparse
import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from medallion.core import config, pipeline
from medallion.core.pipeline import Stage
from medallion.runtime import failures


def parse_date(text: str) -> str:
    """A batch date: YYYY-MM-DD, or ``yesterday`` / ``today`` (UTC) as a scheduled run passes it."""
    relative = {"today": 0, "yesterday": 1}
    if text in relative:
        return (datetime.now(UTC).date() - timedelta(days=relative[text])).isoformat()
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"--date must be YYYY-MM-DD, yesterday or today, got {text!r}"
        ) from exc


def release_name(text: str) -> str:
    """A release name as given: checked to be one safe path segment once ``{to}`` is filled in."""
    try:
        pipeline.check_release_name(text.replace("{to}", "2000-01-01"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc
    return text


class ConfigDir(argparse.Action):
    """``--config-dir DIR``: the configuration folder (taxonomy.yaml, quality.yaml, text-normalization.yaml)
    of this process and of every stage it runs, as ``MEDALLION_CONFIG_DIR`` sets it."""

    def __call__(self, parser, namespace, value, option_string=None):
        folder = Path(value).expanduser().resolve()
        if not folder.is_dir():
            parser.error(
                f"--config-dir {value}: no such folder (it holds taxonomy.yaml, quality.yaml and "
                "text-normalization.yaml)"
            )
        os.environ["MEDALLION_CONFIG_DIR"] = str(folder)
        setattr(namespace, self.dest, str(folder))


def add_config_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config-dir",
        metavar="DIR",
        action=ConfigDir,
        help="configuration folder: taxonomy.yaml, quality.yaml, text-normalization.yaml "
        "(default: MEDALLION_CONFIG_DIR, else the package's medallion/config/)",
    )


def step_parser(
    stage: Stage, description: str | None = None, epilog: str | None = None
) -> argparse.ArgumentParser:
    """``python -m <stage module>``'s parser: store, date, force, warn-only, shards, the stage's parameters."""
    parser = failures.ArgumentParser(
        prog=f"python -m {stage.module}", description=description or stage.description, epilog=epilog
    )
    add_step_arguments(parser, stage)
    return parser


def add_step_arguments(parser: argparse.ArgumentParser, stage: Stage) -> None:
    """The options of ``stage``'s step on ``parser`` (its own, or a ``medallion`` subcommand's)."""
    parser.add_argument(
        "--store", default=config.default_store(), help="store URI: file://PATH or s3://BUCKET[/PREFIX]"
    )
    if stage.keyed_by == "release":
        parser.add_argument(
            "--release",
            "--name",
            dest="release",
            required=True,
            type=release_name,
            metavar="NAME",
            help="release name: one path segment; {to} in it becomes the window's last date",
        )
    else:
        parser.add_argument("--date", required=True, type=parse_date, help="batch date, YYYY-MM-DD")
    add_config_dir(parser)
    parser.add_argument(
        "--force",
        action="store_true",
        default=config.switch("force"),
        help="rebuild even when the output is up to date, and replace a dataset built from other inputs or "
        "parameters (default: MEDALLION_FORCE)",
    )
    parser.add_argument(
        "--warn-only",
        action="store_true",
        default=config.switch("warn-only"),
        help="report failed quality gates (medallion/config/quality.yaml) instead of failing the step "
        "(default: MEDALLION_WARN_ONLY)",
    )
    if stage.shardable:
        from medallion.runtime.shards import parse_shard, positive

        parser.add_argument(
            "--shard", type=parse_shard, metavar="K/N", help="process shard K of N into scratch"
        )
        parser.add_argument("--merge", type=positive, metavar="N", help="merge N shards into the dataset")
    for param in stage.params:  # the stage's parameters, from the pipeline table
        param.add_to(parser)
    parser.add_argument(
        "--output-params",
        metavar="DIR",
        help="write the dataset URI, SHA1 and row count as files in DIR (Argo output parameters)",
    )
