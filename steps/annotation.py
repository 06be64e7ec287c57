"""annotation: the gold layer. Each document of a text-normalization version gets a topic category.

Labels come from the external paid labeling API (``api``: ``LABELER_NAME`` names it, ``LABELER_URL`` and
``LABELER_TOKEN`` reach it) through a client that batches, retries, caches every paid label in the store
and respects a budget; or from human annotators in a Label Studio export (``label-studio:FILE``).
Documents that get no label are quarantined with the reason.

    python -m steps.annotation --store URI --date 2026-11-23 [--version v2] [--label-source api]
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

from medallion.core import columns, config, datasets, pipeline
from medallion.core.store import open_store
from medallion.labeling.api import LabelCache, LabelingClient, LabelingFailed, Usage, labeler_id
from medallion.runtime.failures import UsageError
from medallion.runtime.step import StepFailed, StepRun, guarded, step_parser

STAGE = pipeline.stage("annotated")
KEEP = ("url", "host", "timestamp", "title", "content", "language", "text")

NAMES = [*KEEP, "category", "label_source", "label_confidence", "annotators"]
COLUMNS = columns.meanings(
    NAMES,
    {
        "text": "The normalized text that was labeled (from the text-normalization version "
        "named in the parameters)."
    },
)


def _schema():
    return columns.schema(NAMES)


def main(argv: list[str] | None = None) -> int:
    parser = step_parser(STAGE)
    parser.add_argument("--budget", type=int, default=None, help="most documents this run may pay for")
    parser.add_argument("--batch-size", type=int, default=32, help="documents per API request")
    parser.add_argument("--concurrency", type=int, default=4, help="API requests in flight")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per API request")
    parser.add_argument("--max-retries", type=int, default=6, help="retries of a failing API request")
    parser.add_argument("--gold", help="gold-standard sample for annotator accuracy: JSON {url: category}")
    args = parser.parse_args(argv)
    return guarded(lambda: annotate(args))


def check_label_source(source: str) -> None:
    """``api`` or ``label-studio:FILE`` with FILE present; a UsageError (exit 2) before anything runs."""
    if source != "api" and not source.startswith("label-studio:"):
        raise UsageError(f"--label-source must be 'api' or 'label-studio:FILE', got {source!r}")
    if source != "api" and not Path(source.split(":", 1)[1]).is_file():
        raise UsageError(f"--label-source {source}: there is no such Label Studio export file")


def annotate(args) -> int:
    check_label_source(args.label_source)
    if args.label_source == "api":
        return annotate_with_api(args)
    from steps.annotation_human import annotate_with_humans

    return annotate_with_humans(args, args.label_source.split(":", 1)[1])


def annotate_with_api(args) -> int:
    labeler = config.labeler_settings()
    committed = _committed_labeler(args)
    # Nothing set (say `medallion run` after the demo): the committed labeler is assumed, for the
    # up-to-date check only; rebuilding needs the API's settings.
    name = labeler.name or committed or labeler.require().name
    if committed and name != committed and not args.force:
        raise StepFailed(
            f"[{STAGE.name}] {args.date} is committed with labels of {committed!r}, this run's labeler is "
            f"{name!r}; nothing was overwritten. Set LABELER_NAME={committed} if it is the same service (its "
            "paid labels are cached under that name), or rerun with --force to relabel (paid again)."
        )
    # The name is the labeler's identity (parameters, source, label cache); the URL is information only.
    params = {"version": args.version, "label_source": "api", "labeler": name}
    where = {"url": labeler.url} if labeler.url else {}
    process = [
        {
            "name": "labeling-api",
            "description": "Each document's normalized text is categorized by the external labeling API "
            "(schemas/labeling-api.openapi.yaml); labels are cached by text SHA1 and labeler name.",
            "params": {
                "labeler": name,
                **where,
                "batch_size": args.batch_size,
                "concurrency": args.concurrency,
            },
        }
    ]
    source = {"uri": f"labeler:{name}", "kind": "api", **where}
    with StepRun(
        STAGE,
        args,
        schema=_schema(),
        columns=COLUMNS,
        params=params,
        input_versions={"text-normalization": args.version},
        external_sources=[source],
    ) as run:
        if run.up_to_date():
            return 0
        if not labeler.name:
            labeler.require()
        documents = run.input("text-normalization")
        run.start(total=documents.rows)
        cache = LabelCache(run.store, labeler_id(name))
        # Only the small (url, text) pairs are held: a few kB per document for one day's batch.
        pairs = [(row["url"], row["text"]) for row in documents.records(columns=["url", "text"])]
        labels, usage = cache.lookup(pairs), Usage(cached=len(pairs))
        if labels is None:  # some labels are still to be paid for: only now is the API needed
            labeler.require()
            client = LabelingClient(
                labeler.url,
                labeler.token,
                batch_size=args.batch_size,
                concurrency=args.concurrency,
                timeout=args.timeout,
                max_retries=args.max_retries,
                budget=args.budget,
            )
            try:
                labels = client.label(pairs, cache)
            except LabelingFailed as exc:  # BudgetExhausted too
                raise StepFailed(f"{exc} (usage this run: {client.usage.as_dict()})") from exc
            usage = client.usage
        categories: Counter[str] = Counter()
        for position, row in enumerate(documents.records(columns=list(KEEP))):
            run.read()
            if not run.valid_input("text-normalization", position, row):
                continue
            label = labels.get(row["url"])
            if label is None or not label.category:
                run.reject(
                    position,
                    "unlabelable",
                    "the labeling API returned no category for this document",
                    row,
                    url=row["url"],
                )
                continue
            categories[label.category] += 1
            run.write(
                {
                    **row,
                    "category": label.category,
                    "label_source": f"api:{name}",
                    "label_confidence": label.confidence,
                    "annotators": 1,
                },
                position,
            )
        usage = usage.as_dict()
        print(
            f"[{run.label}] labeling: {usage['paid']} documents paid for, {usage['cached']} from the cache, "
            f"{usage['requests']} requests, {usage['retries']} retries",
            flush=True,
        )
        run.commit(
            process=process, extra_stats={"labeling": usage, "categories": dict(sorted(categories.items()))}
        )
    return 0


def _committed_labeler(args) -> str | None:
    """The labeler named in the committed dataset's parameters, if the API labeled it."""
    meta = datasets.read_meta(open_store(args.store), pipeline.dataset_key(STAGE, args.date))
    params = (meta or {}).get("parameters") or {}
    return params.get("labeler") if params.get("label_source") == "api" else None


if __name__ == "__main__":
    sys.exit(main())
