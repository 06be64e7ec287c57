"""``medallion``: run the pipeline on one machine, and look at what it produced.

medallion run --date 2026-11-23 --input crawl.jsonl [--until html-parsing] [--versions v1,v2] [--force]
medallion demo
medallion ls | show URI | verify URI... | validate URI... | quality URI

One module per command group: ``run`` (the pipeline table in order), ``demo``, ``inspect`` (ls, show,
verify, validate, quality) and ``labels``; the cross-stage tools add their own commands
(``medallion.tools.*.add_parser``).
"""

from __future__ import annotations

import argparse

from medallion.cli import demo, inspect, labels, run
from medallion.runtime import failures

# What the tests and benchmarks call besides ``main``: the demo's gold sample and a dataset's re-check.


def build_parser() -> argparse.ArgumentParser:
    parser = failures.ArgumentParser(prog="medallion", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    store_help = "store URI: file://PATH (default ./data, or MEDALLION_STORE) or s3://BUCKET[/PREFIX]"

    run.add_parser(sub, store_help)
    demo.add_parser(sub, store_help)
    inspect.add_parser(sub, store_help)  # ls, show, verify, validate, quality

    from medallion.demo import labeler
    from medallion.tools import argo, catalog, croissant, lineage, policies, reproduce

    lineage.add_parser(sub)
    catalog.add_parser(sub)
    croissant.add_parser(sub)
    reproduce.add_parser(sub)
    argo.add_parser(sub)
    labeler.add_parser(sub)
    policies.add_parser(sub)

    labels.add_parser(sub, store_help)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return failures.run(lambda: args.func(args))
