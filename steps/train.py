"""train: out-of-sample probabilities for every gold row, and the model, logged to MLflow.

A TF-IDF + logistic-regression classifier is cross-validated with stratified K folds; each row's
probabilities come from the fold that did not see it, which is what label cleaning needs. Rows of a
class too rare to stratify are quarantined. The run, its metrics, and the datasets it was trained on
(URI and SHA1) are logged to MLflow.

    python -m steps.train --store URI --date 2026-11-23 [--folds 5]
"""

from __future__ import annotations

import sys
import tempfile
from collections import Counter
from pathlib import Path

from medallion.core import pipeline, sidecar
from medallion.core.errors import StepFailed
from medallion.runtime import tracking
from medallion.runtime.args import step_parser
from medallion.runtime.step import StepRun, guarded
from steps import train_release
from steps.train_release import plain

STAGE = pipeline.stage("train")

COLUMNS = {
    "url": "Canonical URL of the document.",
    "category": "The label the document was trained with (from the gold layer).",
    "predicted": "The class the out-of-sample model predicts.",
    "given_probability": "Out-of-sample probability of the given label (self-confidence).",
    "probabilities": "Out-of-sample probability of every class, in the order of statistics.classes.",
}


def _schema():
    import pyarrow as pa

    return pa.schema(
        [
            ("url", pa.string()),
            ("category", pa.string()),
            ("predicted", pa.string()),
            ("given_probability", pa.float64()),
            ("probabilities", pa.list_(pa.float64())),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if any(arg in ("--release", "--name") or arg.startswith("--release=") for arg in argv):
        return train_release.main(argv)  # a model on a release, registered in MLflow
    parser = step_parser(
        STAGE, epilog="python -m steps.train --release NAME --help: train on a release instead"
    )
    parser.add_argument("--folds", type=int, default=5, help="cross-validation folds")
    parser.add_argument("--seed", type=int, default=0, help="fold assignment seed")
    args = parser.parse_args(argv)
    return guarded(lambda: train(args))


def train(args) -> int:
    from medallion.transforms.training import TrainConfig, find_issues
    from medallion.transforms.training import train as fit

    config = TrainConfig(folds=args.folds, seed=args.seed)
    params = {"model": "tfidf+logistic-regression", **config.__dict__}
    process = [
        {
            "name": "tfidf-logistic-regression",
            "description": "TF-IDF features of the normalized text, "
            "multinomial logistic regression; out-of-sample probabilities from stratified K-fold.",
            "params": params,
        },
    ]
    with StepRun(STAGE, args, schema=_schema(), columns=COLUMNS, params=params) as run:
        if run.up_to_date():
            return 0
        gold = run.input("annotated")
        run.start(total=gold.rows)
        rows = list(run.rows("annotated", columns=["url", "text", "category"]))
        counts = Counter(row["category"] for _position, row in rows)
        rare = {c for c, n in counts.items() if n < config.folds}
        kept = []
        for position, row in rows:
            if row["category"] in rare:
                run.reject(
                    position,
                    "class-too-rare",
                    f"class {row['category']!r} has {counts[row['category']]} "
                    f"rows, fewer than the {config.folds} folds",
                    row,
                    url=row["url"],
                )
            else:
                kept.append((position, row))
        positions, kept = [p for p, _ in kept], [r for _, r in kept]
        if len({row["category"] for row in kept}) < 2:
            raise StepFailed(
                f"[{run.label}] fewer than two classes with at least {config.folds} rows: nothing to train"
            )
        result = fit([r["text"] for r in kept], [r["category"] for r in kept], config)
        index = {c: i for i, c in enumerate(result.classes)}
        for position, row, probs, predicted in zip(
            positions, kept, result.probabilities, result.predicted, strict=True
        ):
            run.write(
                {
                    "url": row["url"],
                    "category": row["category"],
                    "predicted": predicted,
                    "given_probability": float(probs[index[row["category"]]]),
                    "probabilities": [float(p) for p in probs],
                },
                position,
            )
        issues = find_issues([r["category"] for r in kept], result.probabilities, result.classes)
        metrics = {k: float(v) for k, v in result.metrics.items() if isinstance(v, int | float)}
        metrics["label_issues"] = float(len(issues))
        with tempfile.TemporaryDirectory() as tmp:
            import joblib

            model_path = Path(tmp) / "model.joblib"
            joblib.dump(result.model, model_path)
            run.add_artifact("model.joblib", model_path)
            mlflow_run = tracking.log_training(
                run.store,
                run_name=f"train-{run.date}",
                params={
                    "date": run.date,
                    "annotated.uri": gold.uri,
                    "annotated.sha1": gold.sha1,
                    "text_normalization_version": gold.meta["parameters"].get("version", ""),
                    **params,
                },
                metrics=metrics,
                inputs=[
                    {"name": f"annotated-{run.date}", "uri": gold.uri, "sha1": gold.sha1, "rows": gold.rows}
                ],
                sidecars={"annotated.meta.yaml": sidecar.dumps(gold.meta)},
                tags={"workflow": run.context.workflow, "run_id": run.context.run_id},
            )
            run.commit(
                process=process,
                extra_stats=plain(
                    {
                        "classes": result.classes,
                        "metrics": result.metrics,
                        "label_issues": len(issues),
                        "mlflow_run_id": mlflow_run,
                        "mlflow_tracking": tracking.shown_uri(tracking.tracking_uri(run.store)),
                    }
                ),
            )
    return 0


def replay(meta: dict, store, scratch) -> tuple[list[str], dict[str, str]]:
    """The arguments that repeat the run ``meta`` records (``medallion reproduce``); MLflow logs into the
    scratch folder. Its other settings have no option: a difference shows as different parameters."""
    params = meta["parameters"]
    env = {"MLFLOW_TRACKING_URI": f"sqlite:///{Path(scratch.root) / 'mlflow.db'}"}
    return ["--folds", str(params["folds"]), "--seed", str(params["seed"])], env


if __name__ == "__main__":
    sys.exit(main())
