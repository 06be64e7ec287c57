"""Agreement between human annotators: majority label, Cohen's and Fleiss' kappa, accuracy on gold.

Kappa is agreement corrected for chance: 1 is perfect, 0 is what random labelling with the same label
frequencies would give. Below 0.8 the labels are too inconsistent to train on without review.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from itertools import combinations


def majority_label(labels: Sequence[str]) -> str | None:
    """The most frequent label; ties go to the alphabetically first (deterministic); None when empty."""
    if not labels:
        return None
    counts = Counter(labels)
    return min(counts, key=lambda label: (-counts[label], label))


def cohen_kappa(a: Sequence[str], b: Sequence[str]) -> float:
    """Two raters on the same items."""
    if len(a) != len(b):
        raise ValueError(f"the raters labeled different numbers of items ({len(a)} and {len(b)})")
    if not a:
        raise ValueError("no items to compare")
    n = len(a)
    observed = sum(x == y for x, y in zip(a, b, strict=True)) / n
    ca, cb = Counter(a), Counter(b)
    expected = sum(ca[label] * cb[label] for label in set(ca) | set(cb)) / (n * n)
    if expected == 1.0:
        return 1.0 if observed == 1.0 else 0.0
    return (observed - expected) / (1 - expected)


def fleiss_kappa(ratings: Sequence[Sequence[str]]) -> float:
    """Many raters; items may have different numbers of raters (items with fewer than two are skipped)."""
    items = [list(r) for r in ratings if len(r) >= 2]
    if not items:
        raise ValueError("no item has two or more ratings")
    categories = sorted({label for item in items for label in item})
    agreement = []
    totals: Counter[str] = Counter()
    for item in items:
        counts = Counter(item)
        n = len(item)
        agreement.append(sum(c * (c - 1) for c in counts.values()) / (n * (n - 1)))
        totals.update(item)
    p_bar = sum(agreement) / len(agreement)
    all_ratings = sum(totals.values())
    p_e = sum((totals[c] / all_ratings) ** 2 for c in categories)
    if p_e == 1.0:
        return 1.0
    return (p_bar - p_e) / (1 - p_e)


def annotator_accuracy(
    annotations: Mapping[str, Mapping[str, str]], gold: Mapping[str, str]
) -> dict[str, dict]:
    """annotator -> {"accuracy", "items"} on the items of the gold-standard sample they labeled."""
    scores: dict[str, list[bool]] = {}
    for item, votes in annotations.items():
        if item in gold:
            for annotator, label in votes.items():
                scores.setdefault(annotator, []).append(label == gold[item])
    return {
        a: {"accuracy": round(sum(s) / len(s), 4) if s else None, "items": len(s)}
        for a, s in sorted(scores.items())
    }


def agreement_report(
    per_item: Mapping[str, Mapping[str, str]], gold: Mapping[str, str] | None = None, threshold: float = 0.8
) -> dict:
    """What the sidecar records about human labels: kappas, accuracy on gold, and warnings."""
    annotators = sorted({a for votes in per_item.values() for a in votes})
    report: dict = {"items": len(per_item), "annotators": annotators, "threshold": threshold, "warnings": []}
    multi = [list(votes.values()) for votes in per_item.values() if len(votes) >= 2]
    report["fleiss_kappa"] = round(fleiss_kappa(multi), 4) if multi else None
    pairs = {}
    for x, y in combinations(annotators, 2):
        shared = [item for item, votes in per_item.items() if x in votes and y in votes]
        if len(shared) >= 2:
            pairs[f"{x}|{y}"] = round(
                cohen_kappa([per_item[i][x] for i in shared], [per_item[i][y] for i in shared]), 4
            )
    report["pairwise_cohen_kappa"] = pairs
    if gold:
        report["annotator_accuracy"] = annotator_accuracy(per_item, gold)
    kappa = report["fleiss_kappa"]
    report["below_threshold"] = kappa is not None and kappa < threshold
    if report["below_threshold"]:
        report["warnings"].append(
            f"Fleiss' kappa {kappa:.2f} is below {threshold}: annotators disagree; review the guidelines "
            "and the disputed documents before training on these labels"
        )
    for pair, value in pairs.items():
        if value < threshold:
            report["warnings"].append(
                f"Cohen's kappa of {pair.replace('|', ' and ')} is {value:.2f} (< {threshold})"
            )
    return report
