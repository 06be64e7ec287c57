"""Training and label cleaning: the pure cores of the train and post-train stages.

``train`` fits TF-IDF + logistic regression and gives every row out-of-sample class probabilities from
stratified K-fold (each row scored by a model that never saw it), which is what cleanlab needs.
``find_issues`` asks cleanlab which given labels those probabilities contradict; ``clean`` removes or
relabels them. ``flip_labels`` and ``precision_recall`` measure it against known noise.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TrainConfig:
    folds: int = 5
    seed: int = 0
    max_features: int = 50000
    ngram_max: int = 2
    C: float = 4.0
    min_df: int = 1


@dataclass
class TrainResult:
    classes: list[str]
    probabilities: np.ndarray  # (rows, classes), out of sample, rows in input order
    predicted: list[str]
    metrics: dict
    model: object  # the pipeline fit on every row


def _pipeline(config: TrainConfig):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    return Pipeline(
        [
            (
                "tfidf",
                TfidfVectorizer(
                    sublinear_tf=True,
                    ngram_range=(1, config.ngram_max),
                    min_df=config.min_df,
                    max_features=config.max_features,
                    dtype=np.float64,
                ),
            ),
            ("classifier", LogisticRegression(C=config.C, max_iter=2000, random_state=config.seed)),
        ]
    )


def train(texts: Sequence[str], labels: Sequence[str], config: TrainConfig = TrainConfig()) -> TrainResult:
    """Out-of-sample probabilities by stratified K-fold, cross-validated metrics, and the final model."""
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    counts = Counter(labels)
    if len(counts) < 2:
        raise ValueError(f"training needs at least two classes, got {sorted(counts)}")
    rare = {label: n for label, n in counts.items() if n < config.folds}
    if rare:
        raise ValueError(
            f"classes with fewer rows than the {config.folds} folds: "
            + ", ".join(f"{label} ({n})" for label, n in sorted(rare.items()))
        )
    classes = sorted(counts)
    folds = StratifiedKFold(n_splits=config.folds, shuffle=True, random_state=config.seed)
    probabilities = cross_val_predict(
        _pipeline(config), list(texts), list(labels), cv=folds, method="predict_proba"
    )
    predicted = [classes[i] for i in probabilities.argmax(axis=1)]
    per_class = f1_score(labels, predicted, labels=classes, average=None, zero_division=0)
    metrics = {
        "cv_accuracy": float(accuracy_score(labels, predicted)),
        "cv_macro_f1": float(f1_score(labels, predicted, average="macro", zero_division=0)),
        "folds": config.folds,
        "rows": len(labels),
        "per_class_f1": {c: float(f) for c, f in zip(classes, per_class, strict=True)},
    }
    model = _pipeline(config).fit(list(texts), list(labels))
    # scikit-learn keeps id(stop_words), a memory address, to skip a re-check; without it the saved model
    # is the same bytes on every run (the check runs again when the model is used, and finds the same).
    vars(model.named_steps["tfidf"]).pop("_stop_words_id", None)
    return TrainResult(classes, probabilities, predicted, metrics, model)


def find_issues(
    labels: Sequence[str],
    probabilities: np.ndarray,
    classes: Sequence[str],
    *,
    filter_by: str = "prune_by_noise_rate",
) -> list[dict]:
    """Rows whose given label the out-of-sample probabilities contradict, by row index."""
    from cleanlab.filter import find_label_issues

    index = {c: i for i, c in enumerate(classes)}
    given = np.array([index[label] for label in labels])
    probabilities = np.asarray(probabilities, dtype=float)
    flagged = find_label_issues(labels=given, pred_probs=probabilities, filter_by=filter_by)
    issues = []
    for row in np.flatnonzero(flagged):
        suggested = int(probabilities[row].argmax())
        issues.append(
            {
                "row": int(row),
                "given": labels[row],
                "suggested": classes[suggested],
                "score": float(probabilities[row, given[row]]),
                "suggested_probability": float(probabilities[row, suggested]),
            }
        )
    return issues


def issues_per_class(issues: list[dict]) -> dict[str, int]:
    return dict(sorted(Counter(issue["given"] for issue in issues).items()))


def clean(rows: Sequence[Mapping], issues: list[dict], mode: str = "remove") -> tuple[list[dict], dict]:
    """Drop (``remove``) or relabel (``relabel``) the flagged rows; counts that add up."""
    if mode not in ("remove", "relabel"):
        raise ValueError(f"mode must be remove or relabel, got {mode!r}")
    by_row = {issue["row"]: issue for issue in issues}
    out, removed, relabeled = [], 0, 0
    for i, row in enumerate(rows):
        issue = by_row.get(i)
        if issue is None:
            out.append(dict(row))
        elif mode == "remove":
            removed += 1
        else:
            relabeled += 1
            out.append(
                {
                    **row,
                    "category": issue["suggested"],
                    "original_category": row["category"],
                    "label_source": "cleanlab",
                }
            )
    return out, {"input": len(rows), "removed": removed, "relabeled": relabeled, "output": len(out)}


def flip_labels(
    labels: Sequence[str], rate: float, seed: int, classes: Sequence[str]
) -> tuple[list[str], set[int]]:
    """Flip exactly round(rate * n) labels, chosen at random, each to another random class."""
    rng = random.Random(seed)
    flipped = set(rng.sample(range(len(labels)), round(rate * len(labels))))
    noisy = list(labels)
    for i in sorted(flipped):
        noisy[i] = rng.choice([c for c in classes if c != labels[i]])
    return noisy, flipped


def precision_recall(flagged: set[int], truth: set[int]) -> tuple[float, float]:
    hits = len(flagged & truth)
    precision = hits / len(flagged) if flagged else (1.0 if not truth else 0.0)
    recall = hits / len(truth) if truth else 1.0
    return precision, recall


def scores(labels: Sequence[str], predicted: Sequence[str], classes: Sequence[str]) -> dict:
    """Accuracy, macro-F1 and F1 per class of ``predicted`` against ``labels``."""
    from sklearn.metrics import accuracy_score, f1_score

    per_class = f1_score(labels, predicted, labels=list(classes), average=None, zero_division=0)
    return {
        "accuracy": float(accuracy_score(labels, predicted)),
        "macro_f1": float(
            f1_score(labels, predicted, labels=list(classes), average="macro", zero_division=0)
        ),
        "f1": {c: float(f) for c, f in zip(classes, per_class, strict=True)},
    }


@dataclass
class Selected:
    model: object  # fit on the train split with the chosen C
    C: float
    validation: dict[float, float]  # C -> validation macro-F1 (empty when there is no validation split)


def fit_selected(
    train: tuple[Sequence[str], Sequence[str]],
    validation: tuple[Sequence[str], Sequence[str]],
    grid: Sequence[float],
    config: TrainConfig = TrainConfig(),
) -> Selected:
    """Fit one model per regularization strength ``C`` of ``grid`` on ``train`` (texts, labels) and keep
    the one with the best macro-F1 on ``validation`` (the smaller C on a tie); ``config.C`` when the
    validation split is empty."""
    from dataclasses import replace

    texts, labels = list(train[0]), list(train[1])
    if len(set(labels)) < 2:
        raise ValueError(f"the train split needs at least two classes, got {sorted(set(labels))}")
    classes = sorted(set(labels) | set(validation[1]))
    if not validation[0]:
        return Selected(_fit(texts, labels, config), config.C, {})
    results = {}
    best = None
    for C in sorted(grid):
        model = _fit(texts, labels, replace(config, C=C))
        results[C] = scores(list(validation[1]), list(model.predict(list(validation[0]))), classes)[
            "macro_f1"
        ]
        if best is None or results[C] > results[best[0]]:
            best = (C, model)
    return Selected(best[1], best[0], results)


def _fit(texts: list[str], labels: list[str], config: TrainConfig):
    model = _pipeline(config).fit(texts, labels)
    vars(model.named_steps["tfidf"]).pop("_stop_words_id", None)  # see train(): the same bytes every run
    return model
