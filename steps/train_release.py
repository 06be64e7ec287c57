"""train on a release: a model fit on the release's train split, selected on validation, scored on test.

The model (TF-IDF + logistic regression, the regularization strength chosen on validation macro-F1) is
logged with MLflow's sklearn flavour and registered as a new version of a named model, with the release as
its input dataset (URI, SHA1) and its test metrics (accuracy, macro-F1, F1 per class). Every document's
prediction is the dataset ``models/releases/<name>/predictions.parquet``. With ``--clean``, cleanlab also
runs over the whole release (out-of-sample probabilities by K-fold) and the release without the rows it
finds mislabeled is written beside it as the release ``<name>-clean``.

    python -m steps.train --store URI --release NAME [--model-name NAME] [--clean [false|true]]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import tempfile
from collections import Counter
from pathlib import Path

from medallion.core import datasets, pipeline
from medallion.core.errors import StepFailed
from medallion.runtime import tracking
from medallion.runtime.args import step_parser
from medallion.runtime.step import StepRun, guarded

STAGE = pipeline.stage("release-model")
CLEAN = pipeline.stage("release-clean")
RELEASE = pipeline.stage("release")
GRID = (0.5, 2.0, 8.0)  # regularization strengths C tried on the validation split
DEFAULT_MODEL_NAME = "html-classification"

COLUMNS = {
    "url": "Canonical URL of the release document.",
    "split": "The document's split in the release (train rows are in-sample).",
    "category": "The label the release gives the document.",
    "predicted": "The class the registered model predicts.",
    "predicted_probability": "The model's probability of the predicted class.",
}


def _schema():
    import pyarrow as pa

    return pa.schema(
        [
            ("url", pa.string()),
            ("split", pa.string()),
            ("category", pa.string()),
            ("predicted", pa.string()),
            ("predicted_probability", pa.float64()),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = step_parser(STAGE)
    parser.add_argument(
        "--model-name",
        default="",
        help="MLflow registered model the new version goes to (default, or empty: MEDALLION_MODEL_NAME, "
        f"else {DEFAULT_MODEL_NAME})",
    )
    # A value as well as a bare flag: a workflow passes --clean false|true, since Argo cannot drop an arg.
    parser.add_argument(
        "--clean",
        nargs="?",
        const="true",
        default="false",
        choices=("false", "true"),
        help="also write <release>-clean: the release without the rows cleanlab finds mislabeled",
    )
    parser.add_argument("--folds", type=int, default=5, help="cross-validation folds for --clean")
    parser.add_argument("--seed", type=int, default=0, help="fold assignment and model seed")
    args = parser.parse_args(argv)
    args.clean = args.clean == "true"
    args.model_name = args.model_name or os.environ.get("MEDALLION_MODEL_NAME") or DEFAULT_MODEL_NAME
    return guarded(lambda: train_release(args))


def release_meta(store, name: str) -> dict:
    meta = datasets.read_meta(store, pipeline.dataset_key(RELEASE, name))
    if meta is None:
        raise StepFailed(
            f"[release-model {name}] no release {name!r} in {store.url(pipeline.dataset_dir(RELEASE, name))}: "
            f"build it first (medallion release --name {name})"
        )
    return meta


def train_release(args: argparse.Namespace) -> int:
    from medallion.core.store import open_store

    meta = release_meta(open_store(args.store), args.release)
    args.date = meta["date"]
    fit(args)
    if args.clean:
        clean(args, meta)
    return 0


def fit(args: argparse.Namespace) -> None:
    from medallion.transforms.training import TrainConfig, fit_selected, scores

    config = TrainConfig(seed=args.seed)
    params = {
        "model": "tfidf+logistic-regression",
        "grid": list(GRID),
        "model_name": args.model_name,
        **{k: v for k, v in config.__dict__.items() if k not in ("C", "folds")},
    }
    process = [
        {
            "name": "fit-select-score",
            "description": "TF-IDF + logistic regression fit on the train split for each C of the grid; "
            "the best validation macro-F1 is kept and scored on the test split.",
            "params": params,
        }
    ]
    with StepRun(STAGE, args, schema=_schema(), columns=COLUMNS, params=params) as run:
        if run.up_to_date():
            return
        release = run.input("release")
        run.start(total=release.rows)
        rows = [row for _position, row in run.rows("release", columns=["url", "text", "category", "split"])]
        part = {s: [r for r in rows if r["split"] == s] for s in ("train", "validation", "test")}
        if not part["test"]:
            raise StepFailed(
                f"[{run.label}] the release has no test documents: rebuild it with a test fraction above 0 "
                "(medallion release --splits 0.8,0.1,0.1)"
            )
        try:
            selected = fit_selected(
                ([r["text"] for r in part["train"]], [r["category"] for r in part["train"]]),
                ([r["text"] for r in part["validation"]], [r["category"] for r in part["validation"]]),
                GRID,
                config,
            )
        except ValueError as exc:
            raise StepFailed(f"[{run.label}] {exc}: the release is too small to train on") from exc
        model = selected.model
        classes = [str(c) for c in model.classes_]
        probabilities = model.predict_proba([r["text"] for r in rows]) if rows else []
        predicted = {}
        for position, (row, probs) in enumerate(zip(rows, probabilities, strict=True)):
            best = int(probs.argmax())
            predicted[row["url"]] = classes[best]
            run.write(
                {
                    **{k: row[k] for k in ("url", "split", "category")},
                    "predicted": classes[best],
                    "predicted_probability": float(probs[best]),
                },
                position,
            )
        labels = sorted({r["category"] for r in rows})
        test = scores(
            [r["category"] for r in part["test"]], [predicted[r["url"]] for r in part["test"]], labels
        )
        metrics = {
            "test_accuracy": test["accuracy"],
            "test_macro_f1": test["macro_f1"],
            **{f"test_f1_{metric_name(c)}": f for c, f in test["f1"].items()},
            "validation_macro_f1": selected.validation.get(selected.C, float("nan")),
            "train_rows": float(len(part["train"])),
            "validation_rows": float(len(part["validation"])),
            "test_rows": float(len(part["test"])),
        }
        metrics = {k: v for k, v in metrics.items() if v == v}  # no validation split: nothing to report
        with tempfile.TemporaryDirectory() as tmp:
            import joblib
            import sklearn

            model_path = Path(tmp) / "model.joblib"
            joblib.dump(model, model_path)
            run.add_artifact("model.joblib", model_path)
            registered = tracking.log_registered_model(
                run.store,
                run_name=f"train-release-{run.partition}",
                params={"release": run.partition, "release.uri": release.uri, "C": selected.C, **params},
                metrics=metrics,
                release={
                    "name": f"release-{run.partition}",
                    "uri": release.uri,
                    "sha1": release.sha1,
                    "rows": release.rows,
                },
                model=model,
                model_name=args.model_name,
                requirements=[f"scikit-learn=={sklearn.__version__}"],
                tags={
                    "workflow": run.context.workflow,
                    "run_id": run.context.run_id,
                    "release": run.partition,
                },
            )
            run.described["release"] = {"name": run.partition, "uri": release.uri, "sha1": release.sha1}
            run.commit(
                process=process,
                extra_stats=plain(
                    {
                        "classes": classes,
                        "metrics": metrics,
                        "test": test,
                        "selection": {
                            "C": selected.C,
                            "validation_macro_f1": {str(c): f for c, f in selected.validation.items()},
                        },
                        "mlflow": {
                            **registered,
                            "tracking": tracking.shown_uri(tracking.tracking_uri(run.store)),
                        },
                    }
                ),
            )
        print(
            f"[{run.label}] test accuracy {test['accuracy']:.3f}, macro-F1 {test['macro_f1']:.3f} "
            f"({len(part['test'])} documents); registered {args.model_name} version {registered['model_version']}",
            flush=True,
        )


def clean(args: argparse.Namespace, meta: dict) -> None:
    """cleanlab over the whole release: the release ``<name>-clean`` without the rows it flags."""
    from medallion.transforms.training import TrainConfig, find_issues, issues_per_class, train
    from steps.release import COLUMNS as RELEASE_COLUMNS
    from steps.release import schema

    source = args.release
    cleaned = copy.copy(args)
    cleaned.release = source + pipeline.CLEAN_SUFFIX
    cleaned.output_params = None  # the step's output parameters describe the model, not <name>-clean
    config = TrainConfig(folds=args.folds, seed=args.seed)
    params = {"folds": config.folds, "seed": config.seed, "filter_by": "prune_by_noise_rate"}
    process = [
        {
            "name": "cleanlab-find-label-issues",
            "description": "Out-of-sample probabilities over the whole release by stratified K-fold; "
            "cleanlab.filter.find_label_issues flags rows, which are removed.",
            "params": params,
        }
    ]
    batches = {"release": (RELEASE.name, pipeline.dataset_key(RELEASE, source))}
    with StepRun(
        CLEAN, cleaned, schema=schema(), columns=RELEASE_COLUMNS, params=params, batches=batches
    ) as run:
        if run.up_to_date():
            return
        run.start(total=run.input("release").rows)
        rows = list(run.rows("release"))
        counts = Counter(row["category"] for _p, row in rows)
        checked = [(p, r) for p, r in rows if counts[r["category"]] >= config.folds]
        if len({r["category"] for _p, r in checked}) < 2:
            raise StepFailed(
                f"[{run.label}] fewer than two classes with at least {config.folds} rows: nothing to clean"
            )
        result = train([r["text"] for _p, r in checked], [r["category"] for _p, r in checked], config)
        issues = find_issues([r["category"] for _p, r in checked], result.probabilities, result.classes)
        flagged = {checked[issue["row"]][0]: issue for issue in issues}
        for position, row in rows:
            issue = flagged.get(position)
            if issue is None:
                run.write(row, position)
            else:
                run.reject(
                    position,
                    "label-issue",
                    f"label {issue['given']!r} looks wrong; the model suggests {issue['suggested']!r} "
                    f"(self-confidence {issue['score']:.3f})",
                    row,
                    url=row["url"],
                )
        window = dict(meta.get("release") or {})
        run.described["release"] = {**window, "name": run.partition, "cleaned_from": source}
        balance = {s: Counter() for s in ("train", "validation", "test")}
        for position, row in rows:
            if position not in flagged:
                balance[row["split"]][row["category"]] += 1
        run.commit(
            process=process,
            extra_stats={
                "label_issues": len(issues),
                "issues_per_class": issues_per_class(issues),
                "not_checked": len(rows) - len(checked),  # rows of classes too rare for the folds
                "splits": {s: sum(c.values()) for s, c in balance.items()},
                "class_balance": {s: dict(sorted(c.items())) for s, c in balance.items()},
            },
        )


def metric_name(category: str) -> str:
    """A category as MLflow accepts it in a metric name (letters, digits, _ - . / and spaces)."""
    return re.sub(r"[^A-Za-z0-9_\-./ ]", "_", category)


def plain(value):
    """Numbers from numpy as plain Python numbers, so the sidecar is plain YAML."""
    return json.loads(json.dumps(value, default=float))


def replay(meta: dict, store, scratch) -> tuple[list[str], dict[str, str]]:
    """The arguments that repeat the run ``meta`` records (``medallion reproduce``); MLflow logs into the
    scratch folder."""
    params = meta["parameters"]
    env = {"MLFLOW_TRACKING_URI": f"sqlite:///{Path(scratch.root) / 'mlflow.db'}"}
    if meta["stage"]["name"] == CLEAN.name:
        release = meta["release"]["cleaned_from"]
        return [
            "--release",
            release,
            "--clean",
            "--folds",
            str(params["folds"]),
            "--seed",
            str(params["seed"]),
        ], env
    release = meta["release"]["name"]
    return ["--release", release, "--model-name", params["model_name"], "--seed", str(params["seed"])], env
