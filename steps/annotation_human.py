"""The annotation step's human path: labels from a Label Studio JSON export.

Tasks are matched to documents by canonical URL. With several annotators per document the majority label
wins, and agreement (Cohen's and Fleiss' kappa, accuracy against a gold-standard subset) is measured;
agreement below the threshold is a warning in the sidecar and on the console. Documents nobody labeled
are quarantined; tasks that match no document are counted and reported.
"""

from __future__ import annotations

from pathlib import Path

from medallion.core import sidecar
from medallion.runtime.step import StepFailed, StepRun

AGREEMENT_THRESHOLD = 0.8


def annotate_with_humans(args, export_path: str) -> int:
    from medallion.demo.synthetic import CATEGORIES
    from medallion.labeling.agreement import agreement_report, majority_label
    from medallion.labeling.labelstudio import import_labels, load_export
    from steps.annotation import COLUMNS, KEEP, STAGE, _schema

    path = Path(export_path)
    if not path.is_file():
        raise StepFailed(
            f"Label Studio export {export_path!r} does not exist: pass --label-source label-studio:FILE"
        )
    export_sha1 = sidecar.file_sha1(path)
    try:
        export = load_export(path.read_bytes())
    except ValueError as exc:
        raise StepFailed(f"cannot read the Label Studio export {export_path}: {exc}") from exc
    gold_path = getattr(args, "gold", None)
    gold = _load_gold(gold_path) if gold_path else None
    params = {
        "version": args.version,
        "label_source": "label-studio",
        "export_sha1": export_sha1,
        "agreement_threshold": AGREEMENT_THRESHOLD,
    }
    process = [
        {
            "name": "label-studio-majority",
            "description": "Human labels from a Label Studio export, "
            "matched by canonical URL; the majority label of each document's annotators.",
            "params": params,
        }
    ]
    source = {"uri": str(path.resolve()), "kind": "file", "sha1": export_sha1}
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
        documents = run.input("text-normalization")
        run.start(total=documents.rows)
        urls = [row["url"] for row in documents.records(columns=["url"])]
        report = import_labels(export, urls, categories=CATEGORIES)
        agreement = agreement_report(report.per_document, gold=gold, threshold=AGREEMENT_THRESHOLD)
        for warning in agreement.get("warnings", []):
            print(f"[{run.label}] warning: {warning}", flush=True)
        for position, row in enumerate(documents.records(columns=list(KEEP))):
            run.read()
            if not run.valid_input("text-normalization", position, row):
                continue
            votes = report.per_document.get(row["url"], {})
            label = majority_label(list(votes.values()))
            if label is None:
                run.reject(
                    position, "no-human-label", "no annotator labeled this document", row, url=row["url"]
                )
                continue
            share = sum(1 for v in votes.values() if v == label) / len(votes)
            run.write(
                {
                    **row,
                    "category": label,
                    "label_source": "label-studio",
                    "label_confidence": round(share, 4),
                    "annotators": len(votes),
                },
                position,
            )
        run.commit(
            process=process,
            extra_stats={
                "human_labels": {
                    "tasks": report.tasks,
                    "annotations": report.annotations,
                    "unmatched_tasks": len(report.unmatched_tasks),
                    "invalid": len(report.invalid),
                    "unlabeled_documents": len(report.unlabeled_documents),
                },
                "agreement": agreement,
            },
        )
    return 0


def _load_gold(path: str) -> dict[str, str]:
    """A gold-standard sample: JSON {url: category} (canonical URLs)."""
    import json

    from medallion.transforms.urls import canonicalize

    return {canonicalize(url): category for url, category in json.loads(Path(path).read_text()).items()}
