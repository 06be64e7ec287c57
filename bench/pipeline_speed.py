"""The whole `medallion run --until html-parsing` against trafilatura's extract() as a program, same crawl.

The crawl is built from the real pages of the extraction dev set (each page 10 times, every copy under its
own URL and title so that nothing is deduplicated and both tools extract the same number of pages).
Both sides are timed as whole processes, start-up included; the pipeline's output is scored against the
human-marked article bodies with the dev set's own method.

    .venv/bin/python bench/pipeline_speed.py [--copies 10] [--repeat 3]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))

from extraction import DEFAULT_DATASET, score  # noqa: E402

DAY = "2026-11-23"
TRAFILATURA_PROGRAM = """
import json, sys
from trafilatura import extract
out = open(sys.argv[2], "w")
for line in open(sys.argv[1], encoding="utf-8"):
    rec = json.loads(line)
    out.write(json.dumps({"url": rec["url"], "text": extract(rec["html"]) or ""}) + "\\n")
"""


def build_crawl(dataset: Path, copies: int, out: Path) -> dict[str, str]:
    """Write the crawl; return {url: ground-truth key} for the pages that are scored."""
    truth = json.loads((dataset / "ground-truth.json").read_text())
    keys = {}
    with open(out, "w", encoding="utf-8") as handle:
        for copy in range(copies):
            for key in sorted(truth):
                html = gzip.decompress((dataset / "html" / f"{key}.html.gz").read_bytes()).decode(
                    "utf-8", "replace"
                )
                if copy:
                    html = html.replace("<title>", f"<title>[{copy}] ", 1).replace(
                        "<TITLE>", f"<TITLE>[{copy}] ", 1
                    )
                url = f"https://copy{copy}.bench.example/{key}"
                keys[url] = key
                record = {"url": url, "html": html, "timestamp": f"{DAY}T08:00:00Z"}
                handle.write(json.dumps(record) + "\n")
    return keys


def timed(cmd: list[str], env: dict | None = None) -> float:
    started = time.perf_counter()
    subprocess.run(
        cmd,
        check=True,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def pipeline_f1(store: Path, keys: dict[str, str], truth: dict) -> tuple[float, float, float, int]:
    import pyarrow.parquet as pq

    table = pq.read_table(
        store / f"html-classification/preprocess/html-parsing/{DAY}/documents.parquet",
        columns=["url", "content"],
    )
    got = dict(zip(table.column("url").to_pylist(), table.column("content").to_pylist(), strict=True))
    pairs = [
        (got.get(url, ""), truth[key]["articleBody"])
        for url, key in keys.items()
        if url.startswith("https://copy0.")
    ]
    return (*score(pairs), len(got))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--copies", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    truth = json.loads((args.dataset / "ground-truth.json").read_text())
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        crawl = tmp / "crawl.jsonl"
        keys = build_crawl(args.dataset, args.copies, crawl)
        program = tmp / "trafilatura_program.py"
        program.write_text(TRAFILATURA_PROGRAM)
        medallion = str(Path(sys.executable).parent / "medallion")
        ours, theirs = [], []
        for attempt in range(args.repeat):
            store = tmp / f"store{attempt}"
            ours.append(
                timed(
                    [
                        medallion,
                        "run",
                        "--store",
                        f"file://{store}",
                        "--date",
                        DAY,
                        "--input",
                        str(crawl),
                        "--until",
                        "html-parsing",
                    ],
                    env={"MEDALLION_PROGRESS_SECONDS": "3600"},
                )
            )
            theirs.append(timed([sys.executable, str(program), str(crawl), str(tmp / "trafilatura.jsonl")]))
        f1, precision, recall, rows = pipeline_f1(tmp / "store0", keys, truth)
    ours_s, theirs_s = statistics.median(ours), statistics.median(theirs)
    pages = len(keys)
    print(f"crawl: {pages} pages ({args.copies} copies of {len(truth)} dev pages), {os.cpu_count()} cores")
    print(f"{'':34}{'seconds':>9}{'pages/s':>9}")
    print(f"{'medallion run --until html-parsing':34}{ours_s:>9.2f}{pages / ours_s:>9.0f}")
    print(f"{'trafilatura extract() program':34}{theirs_s:>9.2f}{pages / theirs_s:>9.0f}")
    print(f"speed-up: {theirs_s / ours_s:.2f}x (target >= 5x); median of {args.repeat} runs")
    print(
        f"html-parsing output: {rows} rows; extraction F1 {f1:.3f} (P {precision:.3f}, R {recall:.3f}) "
        "on the dev pages (target >= 0.95)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
