"""post-train (workflow ``clean-lab``): cleanlab finds the gold rows whose label looks wrong.

It reads the gold documents and the train stage's out-of-sample probabilities, asks cleanlab's
``find_label_issues`` which rows are likely mislabeled, and writes the cleaned training set: flagged rows
removed (quarantined with the given and suggested label) or, with ``--mode relabel``, relabeled. A second
dataset beside it lists every flagged row.

    python -m steps.post_train --store URI --date 2026-11-23 [--mode remove|relabel]
"""

from __future__ import annotations

import sys
from collections import Counter

from medallion.core import columns, pipeline
from medallion.runtime.args import step_parser
from medallion.runtime.step import StepRun, guarded

STAGE = pipeline.stage("post-train")
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
        "category": "The training label after cleaning.",
        "original_category": "The gold label before cleanlab relabeled the row (empty when unchanged).",
    },
)
ISSUE_COLUMNS = {
    "url": "Canonical URL of the flagged document.",
    "given": "The label the gold layer gave it.",
    "suggested": "The label the out-of-sample model finds most likely.",
    "score": "Self-confidence: the model's probability of the given label (low means likely wrong).",
    "suggested_probability": "The model's probability of the suggested label.",
    "action": "What post-train did with the row: removed or relabeled.",
}


def _schemas():
    import pyarrow as pa

    documents = columns.schema(list(KEEP), [("original_category", pa.string())])
    issues = pa.schema(
        [
            ("url", pa.string()),
            ("given", pa.string()),
            ("suggested", pa.string()),
            ("score", pa.float64()),
            ("suggested_probability", pa.float64()),
            ("action", pa.string()),
        ]
    )
    return documents, issues


def main(argv: list[str] | None = None) -> int:
    parser = step_parser(STAGE)
    args = parser.parse_args(argv)
    return guarded(lambda: clean(args))


def clean(args) -> int:
    import numpy as np

    from medallion.transforms.training import find_issues, issues_per_class

    documents_schema, issues_schema = _schemas()
    params = {"mode": args.mode, "filter_by": "prune_by_noise_rate"}
    process = [
        {
            "name": "cleanlab-find-label-issues",
            "description": "cleanlab.filter.find_label_issues on the "
            "out-of-sample probabilities; flagged rows are "
            + ("removed." if args.mode == "remove" else "relabeled."),
            "params": params,
        }
    ]
    with StepRun(STAGE, args, schema=documents_schema, columns=COLUMNS, params=params) as run:
        if run.up_to_date():
            return 0
        gold, model = run.input("annotated"), run.input("train")
        run.start(total=gold.rows)
        classes = model.meta["statistics"]["classes"]
        trained = list(model.records(columns=["url", "category", "probabilities"]))
        issues = find_issues(
            [r["category"] for r in trained], np.array([r["probabilities"] for r in trained]), classes
        )
        flagged = {trained[issue["row"]]["url"]: issue for issue in issues}
        seen = {r["url"] for r in trained}
        issue_writer = run.add_output(
            "label-issues.parquet",
            issues_schema,
            ISSUE_COLUMNS,
            f"Rows cleanlab flagged as likely mislabeled for {run.date}.",
        )
        actions: Counter[str] = Counter()
        for position, row in run.rows("annotated", columns=list(KEEP)):
            if row["url"] not in seen:
                run.reject(
                    position,
                    "not-trained",
                    "the train stage left this row out (its class was too rare)",
                    row,
                    url=row["url"],
                )
                continue
            issue = flagged.get(row["url"])
            if issue is None:
                run.write({**row, "original_category": None}, position)
                continue
            action = "removed" if args.mode == "remove" else "relabeled"
            actions[action] += 1
            issue_writer.write(
                {
                    "url": row["url"],
                    "given": issue["given"],
                    "suggested": issue["suggested"],
                    "score": issue["score"],
                    "suggested_probability": issue["suggested_probability"],
                    "action": action,
                }
            )
            if args.mode == "remove":
                run.reject(
                    position,
                    "label-issue",
                    f"label {issue['given']!r} looks wrong; the model suggests "
                    f"{issue['suggested']!r} (self-confidence {issue['score']:.3f})",
                    row,
                    url=row["url"],
                )
            else:
                run.write(
                    {
                        **row,
                        "category": issue["suggested"],
                        "label_source": "cleanlab",
                        "label_confidence": issue["suggested_probability"],
                        "original_category": issue["given"],
                    },
                    position,
                )
        run.commit(
            process=process,
            extra_stats={
                "label_issues": len(issues),
                "issues_per_class": issues_per_class(issues),
                "actions": dict(actions),
            },
        )
    return 0


def replay(meta: dict, store, scratch) -> tuple[list[str], dict[str, str]]:
    """The arguments that repeat the run ``meta`` records (``medallion reproduce``)."""
    return ["--mode", meta["parameters"]["mode"]], {}


if __name__ == "__main__":
    sys.exit(main())
