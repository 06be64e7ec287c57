"""``medallion labels``: human labels, with documents exported as Label Studio tasks."""

from __future__ import annotations

import argparse
from pathlib import Path

from medallion.core import config, datasets, pipeline
from medallion.core.store import open_store
from medallion.runtime.args import parse_date


def default_version() -> str:
    """The text-normalization version the annotated stage labels by default (its ``annotate-version``)."""
    return next(p.default for p in pipeline.stage("annotated").params if p.name == "annotate-version")


def cmd_export_tasks(args: argparse.Namespace) -> int:
    """Documents of a text-normalization version that the gold layer has no label for yet."""
    import json

    from medallion.core import taxonomy
    from medallion.labeling.labelstudio import export_tasks, labeling_config

    labels = taxonomy.load()
    categories = list(labels.names)

    store = open_store(args.store)
    source = datasets.Dataset.open(
        store,
        pipeline.dataset_key(pipeline.stage("text-normalization"), args.date, args.version),
        hint="run the pipeline through text-normalization first",
    )
    gold = datasets.read_meta(store, pipeline.dataset_key(pipeline.stage("annotated"), args.date))
    labeled = set()
    if gold is not None:
        annotated = datasets.Dataset.open(store, pipeline.dataset_key(pipeline.stage("annotated"), args.date))
        labeled = {row["url"] for row in annotated.records(columns=["url"])}
    todo = [row for row in source.records(columns=["url", "title", "text"]) if row["url"] not in labeled]
    tasks = export_tasks(todo, categories)
    Path(args.out).write_text(json.dumps(tasks, ensure_ascii=False, indent=1))
    config_path = Path(args.out).with_suffix(".labeling-config.xml")
    config_path.write_text(labeling_config(categories, {c.name: c.description for c in labels.categories}))
    print(
        f"wrote {len(tasks):,} tasks to {args.out} ({len(labeled):,} documents already labeled); "
        f"labeling interface in {config_path}"
    )
    return 0


def add_parser(sub, store_help: str) -> None:
    labels = sub.add_parser("labels", help="human labels: export documents as Label Studio tasks")
    labels_sub = labels.add_subparsers(dest="labels_command", required=True, metavar="COMMAND")
    export = labels_sub.add_parser(
        "export-tasks", help="write unlabeled documents as Label Studio tasks (JSON)"
    )
    export.add_argument("--store", default=config.default_store(), help=store_help)
    export.add_argument("--date", required=True, type=parse_date, help="batch date, YYYY-MM-DD")
    version = default_version()
    export.add_argument(
        "--version", default=version, help=f"text-normalization version to label (default {version})"
    )
    export.add_argument("--out", required=True, help="tasks file to write (import it into Label Studio)")
    export.set_defaults(func=cmd_export_tasks)
