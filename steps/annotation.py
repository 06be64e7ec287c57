"""annotation: the gold layer. Each document of a text-normalization version gets a topic category.

Labels come from the source ``--label-source`` names (medallion/labeling/sources.py): the external paid
labeling API (``api``: ``LABELER_NAME`` names it, ``LABELER_URL`` and ``LABELER_TOKEN`` reach it) through a
client that batches, retries, caches every paid label in the store and respects a budget; a chat model
(``llm``, ``--llm-model``, ``OPENAI_BASE_URL``, ``OPENAI_API_KEY``) the same way, within ``--token-budget``; or human
annotators in a Label Studio export (``label-studio:FILE``). Documents that get no label are quarantined
with the reason the source gives.

    python -m steps.annotation --store URI --date 2026-11-23 [--version v2] [--label-source api]
"""

from __future__ import annotations

import sys

from medallion.core import columns, config, pipeline
from medallion.labeling import sources
from medallion.labeling.sources import LabelSource, Unlabeled
from medallion.runtime.args import step_parser
from medallion.runtime.failures import UsageError
from medallion.runtime.step import StepRun, guarded

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
    parser.add_argument("--batch-size", type=int, default=32, help="documents per API request")
    parser.add_argument("--concurrency", type=int, default=4, help="API requests in flight")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per API request")
    parser.add_argument("--max-retries", type=int, default=6, help="retries of a failing API request")
    parser.add_argument("--gold", help="gold-standard sample for annotator accuracy: JSON {url: category}")
    args = parser.parse_args(argv)
    for name in ("budget", "token_budget"):  # table parameters are text, as Argo passes them
        value = getattr(args, name)
        if value and not value.isdigit():
            parser.error(f"--{name.replace('_', '-')} must be a whole number, got {value!r}")
        setattr(args, name, int(value) if value else None)
    return guarded(lambda: annotate(args))


def check_label_source(source: str) -> None:
    """``api`` or ``label-studio:FILE`` with FILE present (a source of ``sources.SOURCES``); a UsageError
    (exit 2) before anything runs."""
    try:
        sources.parse(source)
    except sources.LabelSourceError as exc:
        raise UsageError(str(exc)) from exc


def annotated(source: LabelSource, row: dict) -> dict | Unlabeled:
    """The core: ``row`` with the category ``source`` gives it, or why it gets none."""
    label = source.label(row)
    if isinstance(label, Unlabeled):
        return label
    return {
        **row,
        "category": label.category,
        "label_source": label.source,
        "label_confidence": label.confidence,
        "annotators": label.annotators,
    }


def annotate(args) -> int:
    check_label_source(args.label_source)
    try:
        source = sources.create(args.label_source, args)
    except sources.LabelSourceError as exc:  # --label-source llm without --llm-model
        raise UsageError(str(exc)) from exc
    with StepRun(
        STAGE,
        args,
        schema=_schema(),
        columns=COLUMNS,
        params={},
        input_versions={"text-normalization": args.version},
    ) as run:
        # The source's identity can depend on what is committed (the API's labeler name), so it is
        # set once the run holds the committed sidecar, before the up-to-date check reads it.
        identity = source.identify(args.version, run.committed, args.force)
        run.identify(identity.params, [identity.source])
        if run.up_to_date():
            return 0
        documents = run.input("text-normalization")
        run.start(total=documents.rows)
        for line in source.prepare(run.store, documents, run.taxonomy):
            print(f"[{run.label}] {line}", flush=True)
        for position, row in run.rows("text-normalization", columns=list(KEEP)):
            labeled = annotated(source, row)
            if isinstance(labeled, Unlabeled):
                run.reject(position, labeled.reason, labeled.detail, row, url=row["url"])
            else:
                run.write(labeled, position)
        for line in source.summary():
            print(f"[{run.label}] {line}", flush=True)
        run.commit(process=identity.process, extra_stats=source.statistics())
    return 0


def check_params(values: dict[str, str]) -> None:
    """The stage's parameters (by Param name), checked before a pipeline run starts: UsageError.

    The version is looked up among the rule sets' names only: the text-normalization stage, which runs
    before this one, checks the rule file itself (and this stage's image carries no normalization rules)."""
    import yaml

    path, version = config.rule_sets_path(), values.get("annotate-version") or ""
    try:
        configured = list((yaml.safe_load(path.read_text()) or {}).get("versions") or {})
    except (OSError, yaml.YAMLError, AttributeError):
        configured = None  # unreadable: text-normalization's own check says why
    if version and configured is not None and version not in configured:
        raise UsageError(
            f"--annotate-version: unknown version(s) {version} in {path}; configured: {', '.join(configured)}"
        )
    check_label_source(values.get("label-source") or "")
    if (values.get("label-source") or "") == "llm" and not (values.get("llm-model") or "").strip():
        raise UsageError("--label-source llm needs --llm-model: the chat model to ask")


def replay(meta: dict, store, scratch) -> tuple[list[str], dict[str, str]]:
    """The arguments that repeat the run ``meta`` records (``medallion reproduce``): its version and the
    options of its label source, which brings what it needs into ``scratch`` (the API its label cache)."""
    source = sources.SOURCES[meta["parameters"]["label_source"]]
    argv, env = source.replay(meta, store, scratch)
    # A replay labels from the cache it brought and pays for nothing: a label it would have to buy
    # is quarantined, and the rebuild then diverges rather than spending money.
    budgets = ["--budget", "0", "--token-budget", "0"]
    return ["--version", meta["parameters"]["version"], *argv, *budgets], env


if __name__ == "__main__":
    sys.exit(main())
