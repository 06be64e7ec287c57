"""The training and cleaning cores on synthetic articles with known label noise."""

from __future__ import annotations

import numpy as np
import pytest

from medallion.demo.synthetic import CrawlSpec, article
from medallion.demo.vocabulary import CATEGORIES
from medallion.transforms.training import (
    TrainConfig,
    clean,
    find_issues,
    flip_labels,
    issues_per_class,
    precision_recall,
    train,
)


@pytest.fixture(scope="module")
def corpus():
    spec = CrawlSpec(documents=900, seed=5)
    arts = [a for a in (article(spec, i) for i in range(900)) if a.language == "en"]
    return ["\n".join((a.title, *a.paragraphs)) for a in arts], [a.category for a in arts]


def test_cleanlab_finds_known_flipped_labels(corpus):
    """The product target: on 10% randomly flipped labels, precision and recall of the removed rows >= 0.7."""
    texts, labels = corpus
    noisy, flipped = flip_labels(labels, 0.1, seed=1, classes=CATEGORIES)
    assert len(flipped) == round(0.1 * len(labels))
    result = train(texts, noisy)
    issues = find_issues(noisy, result.probabilities, result.classes)
    precision, recall = precision_recall({i["row"] for i in issues}, flipped)
    assert precision >= 0.7 and recall >= 0.7, (precision, recall)
    assert result.probabilities.shape == (len(texts), len(result.classes))
    assert np.allclose(result.probabilities.sum(axis=1), 1.0)
    assert result.classes == sorted(set(noisy))
    assert sum(issues_per_class(issues).values()) == len(issues)
    again = train(texts, noisy)
    assert again.probabilities.tobytes() == result.probabilities.tobytes(), "deterministic"


def test_clean_counts_add_up():
    rows = [{"category": c} for c in "aabbc"]
    issues = [{"row": 1, "given": "a", "suggested": "b"}, {"row": 4, "given": "c", "suggested": "a"}]
    kept, counts = clean(rows, issues, "remove")
    assert counts == {"input": 5, "removed": 2, "relabeled": 0, "output": 3} and len(kept) == 3
    relabeled, counts = clean(rows, issues, "relabel")
    assert (
        counts["relabeled"] == 2
        and relabeled[1]["category"] == "b"
        and relabeled[1]["original_category"] == "a"
    )
    with pytest.raises(ValueError, match="remove or relabel"):
        clean(rows, issues, "delete")


def test_rare_classes_and_single_class_are_clear_errors():
    with pytest.raises(ValueError, match="fewer rows than the 5 folds: b \\(2\\)"):
        train(["x"] * 10 + ["y"] * 2, ["a"] * 10 + ["b"] * 2, TrainConfig())
    with pytest.raises(ValueError, match="at least two classes"):
        train(["x"] * 6, ["a"] * 6)


def test_precision_recall_edges():
    assert precision_recall(set(), set()) == (1.0, 1.0)
    assert precision_recall({1, 2}, {2, 3}) == (0.5, 0.5)
    assert precision_recall(set(), {1}) == (0.0, 0.0)
