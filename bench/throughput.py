"""Docs/s per stage and peak memory at two batch sizes (default 10k and 100k synthetic documents).

Each stage runs as its own process, exactly as its container would; peak memory is the largest resident
set of that process and its workers. Streaming means the peak at 100k stays within 1.3x of the peak at 10k.

    .venv/bin/python bench/throughput.py [--sizes 10000,100000] [--store-dir DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from medallion.core import pipeline  # noqa: E402
from medallion.demo.synthetic import CrawlSpec, write_crawl  # noqa: E402

DAY = "2026-11-23"


def run_stage(module: str, argv: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (MiB) of one stage process, its worker processes included."""
    env = {**os.environ, "MEDALLION_PROGRESS_SECONDS": "3600"}
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", module, *argv],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{module} failed: {proc.stderr.read().decode()[-2000:]}")
    return elapsed, usage.ru_maxrss // 1024


def bench_size(documents: int, root: Path) -> dict[str, tuple[int, float, int]]:
    crawl = root / f"crawl-{documents}.jsonl"
    started = time.perf_counter()
    with open(crawl, "w", encoding="utf-8") as out:
        counts = write_crawl(CrawlSpec(date=DAY, documents=documents, seed=11), out)
    print(
        f"  generated {counts['lines']:,} lines ({crawl.stat().st_size / 2**20:,.0f} MiB) "
        f"in {time.perf_counter() - started:.1f}s",
        flush=True,
    )
    store = f"file://{root / f'store-{documents}'}"
    results = {}
    for stage in STREAMING:
        argv = ["--store", store, "--date", DAY] + (["--input", str(crawl)] if stage.name == "raw" else [])
        seconds, peak = run_stage(stage.module, argv)
        rows = counts["lines"] if stage.name == "raw" else None
        results[stage.name] = (rows, seconds, peak)
        print(f"  {stage.name:<20} {seconds:7.1f}s  peak {peak:5d} MiB", flush=True)
    crawl.unlink()
    return results


# The stages that stream a batch of any size; the gold and post-train stages work on a day's labeled set.
STREAMING = pipeline.stages_until("text-normalization")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--store-dir", type=Path, default=None, help="scratch folder (default: a temp dir)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    root = Path(tempfile.mkdtemp(prefix="medallion-bench-", dir=args.store_dir))
    table = {}
    try:
        for size in sizes:
            print(f"{size:,} documents:", flush=True)
            table[size] = bench_size(size, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"\n{'stage':<20}" + "".join(f"{f'{s:,} docs/s':>16}{'peak MiB':>10}" for s in sizes))
    for stage in STREAMING:
        cells = "".join(
            f"{size / table[size][stage.name][1]:>16,.0f}{table[size][stage.name][2]:>10}" for size in sizes
        )
        print(f"{stage.name:<20}{cells}")
    if len(sizes) >= 2:
        small, large = sizes[0], sizes[-1]
        peak_small = max(v[2] for v in table[small].values())
        peak_large = max(v[2] for v in table[large].values())
        print(
            f"\npeak memory {large:,} / {small:,}: {peak_large} / {peak_small} MiB = {peak_large / peak_small:.2f}x "
            "(target <= 1.3x)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
