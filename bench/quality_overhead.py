"""What contracts and quality profiling cost per row, against what each stage costs per row.

Builds a synthetic batch through text-normalization, then re-runs, on every dataset's own rows, exactly
what a step does per written row: the contract check and the quality profile. Prints microseconds per row
(the best of ``--repeat`` passes) and the share of the stage's measured duration (from its sidecar). The
contract column is the check as steps run it (the compiled copy, jsonschema for what it does not accept);
the jsonschema column is the reference validator alone on the same rows, for comparison.

    .venv/bin/python bench/quality_overhead.py [--documents 2000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from medallion import cli  # noqa: E402
from medallion.core import compiled, contracts, datasets, pipeline  # noqa: E402
from medallion.core.store import open_store  # noqa: E402
from medallion.demo.synthetic import CrawlSpec, write_crawl  # noqa: E402
from medallion.runtime import quality  # noqa: E402

DAY = "2026-11-23"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--documents", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5, help="passes per measurement; the best one counts")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        crawl = Path(tmp) / "crawl.jsonl"
        with open(crawl, "w") as out:
            write_crawl(CrawlSpec(date=DAY, documents=args.documents, seed=5), out)
        store_uri = f"file://{tmp}/store"
        code = cli.main(
            [
                "run",
                "--store",
                store_uri,
                "--date",
                DAY,
                "--input",
                str(crawl),
                "--until",
                "text-normalization",
            ]
        )
        if code:
            return code
        store = open_store(store_uri)
        print(
            f"\n{'dataset':<22}{'rows':>7}{'contract us/row':>17}{'jsonschema us/row':>19}"
            f"{'profile us/row':>16}{'share of stage':>16}"
        )
        for name, version in [
            ("raw", None),
            ("url-normalization", None),
            ("html-parsing", None),
            ("text-normalization", "v2"),
        ]:
            key = pipeline.dataset_key(pipeline.stage(name), DAY, version)
            dataset = datasets.Dataset.open(store, key)
            rows = list(dataset.records())
            # A step streams its rows; the collector need not walk the ones held here for the measurement.
            gc.collect()
            gc.freeze()
            contract = contracts.contract(name)
            checked = best(args.repeat, rows, contract.check)
            validate = contract._validator.is_valid
            reference = best(
                args.repeat, rows, lambda row, validate=validate: validate(compiled.as_json(row))
            )
            profile = quality.Profile(name, DAY)
            profiled = best(1, rows, profile.add)  # a profile accumulates: one pass
            gc.unfreeze()
            stage_seconds = dataset.meta["execution"]["duration_seconds"]
            share = (checked + profiled) * len(rows) / stage_seconds if stage_seconds else 0.0
            print(
                f"{name + (' ' + version if version else ''):<22}{len(rows):>7,}{checked * 1e6:>17.1f}"
                f"{reference * 1e6:>19.1f}{profiled * 1e6:>16.1f}{share:>16.1%}"
            )
    return 0


def best(repeat: int, rows: list, work) -> float:
    """Seconds per row of ``work`` over ``rows``: the fastest of ``repeat`` passes."""
    fastest = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for row in rows:
            work(row)
        fastest = min(fastest, time.perf_counter() - started)
    return fastest / len(rows)


if __name__ == "__main__":
    sys.exit(main())
