"""Main-content extraction quality and speed on the dev set, against trafilatura.

Scoring is the dev set's own method: lowercase ``\\w+`` tokens, multisets of 4-token shingles, per-page
precision and recall (an empty page on both sides counts 1.0), averaged over pages; F1 is the harmonic
mean of the averages. Speed is single-core pages/s with parsing included, on the same decoded text.

    .venv/bin/python bench/extraction.py [--dataset DIR] [--no-trafilatura] [--split even|odd]
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATASET = REPO.parent / "shared" / "benchmarks" / "extraction-dev"
TOKEN = re.compile(r"\w+")


def shingles(text: str, n: int = 4) -> Counter:
    tokens = TOKEN.findall(text.lower())
    return Counter(tuple(tokens[i : i + n]) for i in range(max(len(tokens) - n + 1, 0)))


def page_scores(extracted: str, truth: str) -> tuple[float, float]:
    got, want = shingles(extracted), shingles(truth)
    if not got and not want:
        return 1.0, 1.0
    shared = sum((got & want).values())
    precision = shared / sum(got.values()) if got else 0.0
    recall = shared / sum(want.values()) if want else 0.0
    return precision, recall


def score(pairs: Iterable[tuple[str, str]]) -> tuple[float, float, float]:
    """(F1, precision, recall) over (extracted, truth) pairs."""
    scores = [page_scores(got, want) for got, want in pairs]
    precision = statistics.mean(p for p, _ in scores)
    recall = statistics.mean(r for _, r in scores)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return f1, precision, recall


def load_pages(dataset: Path, split: str | None = None) -> list[tuple[str, str, str, str]]:
    """(key, url, html, article body) for each page, html decoded with errors replaced."""
    truth = json.loads((dataset / "ground-truth.json").read_text())
    pages = []
    for index, key in enumerate(sorted(truth)):
        if split == "even" and index % 2 or split == "odd" and not index % 2:
            continue
        html = gzip.decompress((dataset / "html" / f"{key}.html.gz").read_bytes()).decode("utf-8", "replace")
        pages.append((key, truth[key]["url"], html, truth[key]["articleBody"]))
    return pages


def measure(
    extract: Callable[[str, str], str], pages, repeat: int = 3
) -> tuple[tuple[float, float, float], float, dict]:
    outputs = {key: extract(html, url) for key, url, html, _ in pages}
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        for _key, url, html, _truth in pages:
            extract(html, url)
        runs.append(time.perf_counter() - started)
    quality = score((outputs[key], truth) for key, _, _, truth in pages)
    return quality, len(pages) / statistics.median(runs), outputs


def ours(html: str, url: str) -> str:
    from medallion.transforms.extract import ExtractionError, extract

    try:
        return extract(html, url).content
    except ExtractionError:
        return ""


def trafilatura_default(html: str, url: str) -> str:
    import trafilatura

    return trafilatura.extract(html) or ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--no-trafilatura", action="store_true", help="measure only our extractor")
    parser.add_argument("--split", choices=["even", "odd"], help="score only half of the pages")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--worst", type=int, default=0, help="list the N worst pages of ours")
    args = parser.parse_args()
    if not (args.dataset / "ground-truth.json").is_file():
        print(f"dev set not found at {args.dataset}: pass --dataset DIR", file=sys.stderr)
        return 2
    pages = load_pages(args.dataset, args.split)
    rows = [("medallion.transforms.extract", *measure(ours, pages, args.repeat))]
    if not args.no_trafilatura:
        rows.append(("trafilatura 2.3.1 extract()", *measure(trafilatura_default, pages, args.repeat)))
    print(f"{len(pages)} pages from {args.dataset.name}{f' ({args.split} half)' if args.split else ''}")
    print(f"{'extractor':<30}{'F1':>7}{'P':>7}{'R':>7}{'pages/s':>10}")
    for name, (f1, p, r), speed, _ in rows:
        print(f"{name:<30}{f1:>7.3f}{p:>7.3f}{r:>7.3f}{speed:>10.0f}")
    if len(rows) == 2:
        print(f"speed ratio (ours / trafilatura, one core): {rows[0][2] / rows[1][2]:.1f}x")
    if args.worst:
        outputs = rows[0][3]
        worst = sorted(pages, key=lambda p: sum(page_scores(outputs[p[0]], p[3])))[: args.worst]
        for key, url, _html, truth in worst:
            precision, recall = page_scores(outputs[key], truth)
            print(f"  P {precision:.2f} R {recall:.2f}  {key[:12]}  {url[:90]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
