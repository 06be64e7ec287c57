"""release: a training set across days, ``html-classification/releases/<name>/documents.parquet``.

It takes every daily batch of ``--source`` (post-train, or annotated) in the date window and deduplicates
across days: first by canonical URL, keeping the freshest crawl, then by near-duplicate text (MinHash LSH;
the earliest batch keeps the text). Each document gets its batch ``date`` and a ``split`` from a hash of its
canonical URL, so it never changes split from one release to the next. The sidecar lists every batch in
the window (URI, SHA1, rows contributed, rows dropped by rule), the days missing from it, the class
balance per split and the taxonomy. Like every step it is rebuilt only when a batch in its window changed.

    python -m steps.release --store URI --release NAME [--from D] [--to D | --days N] [--source post-train]
    medallion release --store URI --name NAME ...   (the same)
"""

from __future__ import annotations

import sys
from collections import Counter
from datetime import date

from medallion.core import columns, datasets, pipeline
from medallion.core.errors import StepFailed
from medallion.runtime.args import parse_date, step_parser
from medallion.runtime.failures import UsageError
from medallion.runtime.step import StepRun, guarded
from medallion.transforms import release as core

STAGE = pipeline.stage("release")
KEEP = (
    "url",
    "host",
    "timestamp",
    "title",
    "content",
    "language",
    "text",
    "category",
    "label_source",
    "label_confidence",
    "annotators",
)
COLUMNS = columns.meanings(
    list(KEEP),
    {
        "url": "Canonical URL of the document: unique in the release.",
        "timestamp": "When the page was crawled (UTC): its freshest crawl in the window.",
        "category": "The training label, as the source layer gave it.",
        "original_category": "The gold label before cleanlab relabeled the row in post-train "
        "(empty when unchanged, or when the release is built from the annotated layer).",
        "date": "The batch date the document came from.",
        "split": "train, validation or test, from a hash of the canonical URL: stable across releases.",
    },
)
NUM_PERM = 128
SHINGLE_SIZE = 3


def schema():
    import pyarrow as pa

    return columns.schema(
        list(KEEP), [("original_category", pa.string()), ("date", pa.string()), ("split", pa.string())]
    )


def main(argv: list[str] | None = None) -> int:
    args = step_parser(STAGE).parse_args(argv)
    return guarded(lambda: build(args))


def settle(args, store) -> dict:
    """The release's parameters from its options: the window resolved against the batches in the store."""
    source = pipeline.stage(args.source)
    try:
        fractions = core.parse_splits(args.splits)
        threshold = float(args.near_duplicate_threshold)
        if not 0 < threshold <= 1:
            raise ValueError(f"--near-duplicate-threshold must be above 0 and at most 1, got {threshold}")
        days = int(args.days) if args.days else None
        first = parse_date(args.__dict__["from"]) if args.__dict__["from"] else None
        last = parse_date(args.to) if args.to else None
    except (ValueError, TypeError) as exc:
        raise UsageError(str(exc)) from exc
    if days is not None and first is not None:
        raise UsageError("give --from or --days, not both")
    available = batch_dates(store, source)
    try:
        first, last, taken, missing = core.window(available, first, last, days)
    except ValueError as exc:
        raise StepFailed(
            f"[release] {exc}: no {source.name} batch in {store.url(pipeline.stage_root(source))}"
        ) from exc
    return {
        "from": first,
        "to": last,
        "days": taken,
        "missing": missing,
        "source": source.name,
        "near_duplicate_threshold": threshold,
        "num_perm": NUM_PERM,
        "shingle_size": SHINGLE_SIZE,
        "splits": dict(zip(core.SPLITS, fractions, strict=True)),
        "require_all_days": args.require_all_days == "true",
        "allow_other_taxonomy": args.allow_other_taxonomy == "true",
    }


def batch_dates(store, source: pipeline.Stage) -> list[str]:
    """The dates with a committed batch of ``source``."""
    root = pipeline.stage_root(source)
    found = []
    for key in datasets.find_datasets(store, root):
        day, _, name = key[len(root) :].partition("/")
        if name == source.dataset and len(day) == 10:
            try:
                found.append(date.fromisoformat(day).isoformat())
            except ValueError:  # a folder that is not a date is not a batch
                continue
    return sorted(found)


def build(args) -> int:
    from medallion.core.store import open_store

    store = open_store(args.store)
    params = settle(args, store)
    try:
        args.release = pipeline.check_release_name(
            args.release.replace("{to}", params["to"]), pipeline.CLEAN_SUFFIX
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    if not params["days"]:
        raise StepFailed(
            f"[release {args.release}] the window {params['from']} .. {params['to']} is empty: no "
            f"{params['source']} batch in it. Run the pipeline for those days (medallion run --date D) "
            "or widen the window (--from, --to, --days)."
        )
    if params["missing"] and params["require_all_days"]:
        raise StepFailed(
            f"[release {args.release}] {len(params['missing'])} day(s) of the window {params['from']} .. "
            f"{params['to']} have no {params['source']} batch: {', '.join(params['missing'])}. Run the "
            "pipeline for them, or leave out --require-all-days to build the release without them."
        )
    args.date = params["to"]
    source = pipeline.stage(params["source"])
    batches = {day: (source.name, pipeline.dataset_key(source, day)) for day in params["days"]}
    process = [
        {
            "name": "canonical-url",
            "description": "One row per canonical URL across the window: the freshest crawl "
            "(ties: the later batch).",
            "params": {},
        },
        {
            "name": "near-duplicate",
            "description": "Text whose MinHash estimate of Jaccard similarity (word 3-grams) to a text "
            "already taken reaches the threshold is dropped: the earliest batch keeps it.",
            "params": {"threshold": params["near_duplicate_threshold"], "num_perm": NUM_PERM},
        },
        {
            "name": "split",
            "description": "train/validation/test from the first 64 bits of the SHA1 of the canonical URL.",
            "params": params["splits"],
        },
    ]
    with StepRun(STAGE, args, schema=schema(), columns=COLUMNS, params=params, batches=batches) as run:
        check_taxonomies(run, params)
        if run.up_to_date():
            return 0
        run.start(total=sum(dataset.rows for dataset in run.inputs.values()))
        stats = collect(run, params)
        print(
            f"[{run.label}] {len(params['days'])} batch(es) {params['from']} .. {params['to']}"
            + (f"; missing: {', '.join(params['missing'])}" if params["missing"] else ""),
            flush=True,
        )
        run.commit(process=process, extra_stats=stats)
    return 0


def check_taxonomies(run, params: dict) -> None:
    """Every batch was labeled under the current taxonomy, unless --allow-other-taxonomy."""
    if params["allow_other_taxonomy"]:
        return
    for day, dataset in run.inputs.items():
        recorded = dataset.meta.get("taxonomy") or {}
        if recorded.get("sha1") != run.taxonomy.sha1:
            names = ", ".join(c["name"] for c in recorded.get("categories", [])) or "none recorded"
            raise StepFailed(
                f"[{run.label}] the {day} batch ({dataset.uri}) was labeled under another taxonomy "
                f"(sha1 {str(recorded.get('sha1'))[:12]}: {names}), not the current one "
                f"({run.taxonomy.path}, sha1 {run.taxonomy.sha1[:12]}: {', '.join(run.taxonomy.names)}). "
                f"Relabel it (medallion run --date {day} --force), or pass --allow-other-taxonomy to take "
                "it: its rows outside the current taxonomy are then quarantined."
            )


def collect(run, params: dict) -> dict:
    """Both passes over the window: the freshest crawl of every URL, then the rows in batch order."""
    winners = core.freshest(
        (row["url"], row["timestamp"], day, position)
        for day, dataset in run.inputs.items()
        for position, row in enumerate(dataset.records(columns=["url", "timestamp"]))
    )
    fractions = tuple(params["splits"][s] for s in core.SPLITS)
    near = core.NearDuplicates(params["near_duplicate_threshold"], NUM_PERM, SHINGLE_SIZE)
    allowed = set(run.taxonomy.names)
    balance: dict[str, Counter] = {split: Counter() for split in core.SPLITS}
    batches = []
    for day, dataset in run.inputs.items():
        before, written = run.quarantined + run.duplicates, run.writer.stats.rows
        wanted = [c for c in (*KEEP, "original_category") if c in dataset.meta["schema"]]
        for position, row in run.rows(day, columns=wanted):
            if winners[row["url"]][1:] != (day, position):
                run.deduplicated("canonical-url")
            elif row["category"] not in allowed:
                run.reject(
                    position,
                    "category-outside-taxonomy",
                    f"category {row['category']!r} of the {day} batch is not in the current taxonomy "
                    f"({', '.join(run.taxonomy.names)})",
                    row,
                    url=row["url"],
                )
            elif near.first(row["url"], row["text"]) is not None:
                run.deduplicated("near-duplicate")
            else:
                split = core.split_of(row["url"], fractions)
                kept = run.writer.stats.rows
                run.write({"original_category": None, **row, "date": day, "split": split}, position)
                if run.writer.stats.rows > kept:
                    balance[split][row["category"]] += 1
        dropped = (run.quarantined + run.duplicates) - before
        batches.append(
            {
                "date": day,
                "uri": dataset.uri,
                "key": dataset.key,
                "sha1": dataset.sha1,
                "rows": dataset.rows,
                "contributed": run.writer.stats.rows - written,
                "dropped": dict(sorted(dropped.items())),
            }
        )
    run.described["release"] = {
        "name": run.partition,
        **{k: params[k] for k in ("from", "to", "source", "days", "missing")},
    }
    return {
        "batches": batches,
        "splits": {split: sum(balance[split].values()) for split in core.SPLITS},
        "class_balance": {split: dict(sorted(balance[split].items())) for split in core.SPLITS},
    }


def replay(meta: dict, store, scratch) -> tuple[list[str], dict[str, str]]:
    """The arguments that repeat the run ``meta`` records (``medallion reproduce``)."""
    params = meta["parameters"]
    argv = [
        "--release",
        meta["release"]["name"],
        "--from",
        params["from"],
        "--to",
        params["to"],
        "--source",
        params["source"],
        "--near-duplicate-threshold",
        str(params["near_duplicate_threshold"]),
        "--splits",
        ",".join(str(params["splits"][s]) for s in core.SPLITS),
    ]
    argv += ["--require-all-days", str(params["require_all_days"]).lower()]
    argv += ["--allow-other-taxonomy", str(params["allow_other_taxonomy"]).lower()]
    return argv, {}


if __name__ == "__main__":
    sys.exit(main())
