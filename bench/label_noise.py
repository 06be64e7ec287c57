"""How well cleanlab finds known label noise: flip a share of labels at random, train, flag, score.

.venv/bin/python bench/label_noise.py [--documents 1500] [--rate 0.1] [--seeds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from medallion.demo.synthetic import CrawlSpec, article  # noqa: E402
from medallion.demo.vocabulary import CATEGORIES  # noqa: E402
from medallion.transforms.training import find_issues, flip_labels, precision_recall, train  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--documents", type=int, default=1500)
    parser.add_argument("--rate", type=float, default=0.1)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    spec = CrawlSpec(documents=args.documents, seed=13)
    arts = [a for a in (article(spec, i) for i in range(args.documents)) if a.language == "en"]
    texts = ["\n".join((a.title, *a.paragraphs)) for a in arts]
    labels = [a.category for a in arts]
    clean_accuracy = train(texts, labels).metrics["cv_accuracy"]
    print(f"{len(texts)} English synthetic articles, {args.rate:.0%} of labels flipped at random")
    print(f"cv accuracy on clean labels: {clean_accuracy:.3f}")
    print(f"{'seed':>4}{'noisy acc':>11}{'flagged':>9}{'precision':>11}{'recall':>8}{'seconds':>9}")
    rows = []
    for seed in range(1, args.seeds + 1):
        started = time.perf_counter()
        noisy, flipped = flip_labels(labels, args.rate, seed, CATEGORIES)
        result = train(texts, noisy)
        issues = find_issues(noisy, result.probabilities, result.classes)
        precision, recall = precision_recall({i["row"] for i in issues}, flipped)
        rows.append((precision, recall))
        print(
            f"{seed:>4}{result.metrics['cv_accuracy']:>11.3f}{len(issues):>9}{precision:>11.3f}{recall:>8.3f}"
            f"{time.perf_counter() - started:>9.1f}"
        )
    print(
        f"mean precision {statistics.mean(p for p, _ in rows):.3f}, mean recall {statistics.mean(r for _, r in rows):.3f}"
        " (target: both >= 0.7)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
