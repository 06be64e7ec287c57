"""url-normalization: canonical URLs, then deduplication keeping the freshest copy.

Two streaming passes over bronze ``raw/``: the first keeps only small per-document keys (canonical URL,
timestamp, title and content digests) and decides the winners; the second writes the winners in input
order. Every removed row is counted under the rule that removed it.

    python -m steps.url_normalization --store URI --date 2026-11-23 [--dedup canonical-url,title]
"""

from __future__ import annotations

import hashlib
import html as html_lib
import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from medallion.core import datasets, pipeline
from medallion.core.timestamps import parse_timestamp
from medallion.runtime.args import step_parser
from medallion.runtime.failures import UsageError
from medallion.runtime.step import StepRun, guarded
from medallion.transforms.urls import InvalidURL, canonicalize, host_of

STAGE = pipeline.stage("url-normalization")

DEDUP_RULES = {
    "canonical-url": "Rows with the same canonical URL are one page: keep the most recently crawled copy.",
    "title": "Rows on the same host with the same <title> (case and spacing folded, at least min_title_words "
    "words) are one article under two URLs: keep the freshest.",
    "content-hash": "Rows whose HTML is byte-identical are one page: keep the freshest.",
}
CANONICAL_RULES = [
    "lowercase scheme and host, IDNA host to punycode, IPv6 host in its compressed form",
    "drop default ports, userinfo, fragments and a leading www.",
    "drop tracking parameters (utm_*, gclid, fbclid, ...) and sort the rest",
    "normalize percent-encoding, resolve dot segments, collapse slashes, drop trailing slash",
]
TITLE_RE = re.compile(rb"<title[^>]*>(.*?)</title", re.IGNORECASE | re.DOTALL)
SPACE_RE = re.compile(r"\s+")


def _schema():
    import pyarrow as pa

    return pa.schema(
        [
            ("url", pa.string()),
            ("source_url", pa.string()),
            ("host", pa.string()),
            ("timestamp", pa.timestamp("us", tz="UTC")),
            ("copies", pa.int32()),
            ("html", pa.string()),
        ]
    )


COLUMNS = {
    "url": "Canonical URL of the page: the document's identity from here on.",
    "source_url": "The URL as crawled for the copy that was kept.",
    "host": "Host of the canonical URL, without www.",
    "timestamp": "When the kept copy was crawled (UTC); the freshest of its duplicates.",
    "copies": "How many crawled rows this document stands for (1 + the duplicates removed in its favour).",
    "html": "The page's HTML as crawled.",
}


@dataclass(frozen=True, slots=True)
class DocKey:
    """What the first pass remembers of one row: digests and a timestamp, small whatever the page size."""

    position: int
    timestamp: int  # microseconds since the epoch
    url: bytes  # digest of the canonical URL
    title: bytes | None  # digest of (host, folded <title>); None when the title is too short to trust
    content: bytes  # digest of the HTML

    @property
    def freshness(self) -> tuple[int, int]:
        # The freshest copy wins; among equal timestamps the later line, as it was written last.
        return (self.timestamp, self.position)


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def title_key(html: str) -> str:
    """The page's <title>, entity-decoded, case and whitespace folded ('' when there is none)."""
    match = TITLE_RE.search(html[:65536].encode("utf-8", "surrogatepass"))
    if not match:
        return ""
    text = html_lib.unescape(match.group(1).decode("utf-8", "replace"))
    return SPACE_RE.sub(" ", text).strip().casefold()


def doc_key(
    position: int, url: str, timestamp: datetime, html: str, min_title_words: int = 3, content: bool = True
) -> DocKey:
    """``content``: digest the HTML too (only the content-hash rule needs it; it costs a pass over the page)."""
    title = title_key(html)
    return DocKey(
        position=position,
        timestamp=int(timestamp.timestamp() * 1_000_000),
        url=_digest(url),
        title=_digest(host_of(url) + "\0" + title) if len(title.split()) >= min_title_words else None,
        content=_digest(html) if content else b"",
    )


@dataclass
class DedupPlan:
    copies: dict[int, int]  # winning position -> how many rows it stands for
    removed: Counter  # rule -> rows removed by it


def plan_dedup(keys: Iterable[DocKey], rules: list[str]) -> DedupPlan:
    """Decide which rows survive. ``canonical-url`` always applies first; other rules follow in order,
    each over the survivors of the one before."""
    unknown = [rule for rule in rules if rule not in DEDUP_RULES]
    if unknown:
        raise ValueError(f"unknown dedup rule(s) {unknown}; choose from {', '.join(DEDUP_RULES)}")
    removed: Counter[str] = Counter()
    copies: Counter[int] = Counter()
    by_url: dict[bytes, DocKey] = {}
    url_copies: Counter[bytes] = Counter()
    for key in keys:
        url_copies[key.url] += 1
        current = by_url.get(key.url)
        if current is None or key.freshness > current.freshness:
            by_url[key.url] = key
        if current is not None:
            removed["canonical-url"] += 1
    survivors = {key.position: key for key in by_url.values()}
    for key in survivors.values():
        copies[key.position] = url_copies[key.url]
    del by_url, url_copies
    for rule in rules:
        if rule == "canonical-url":
            continue
        field = "title" if rule == "title" else "content"
        winners: dict[bytes, DocKey] = {}
        for key in survivors.values():
            group = getattr(key, field)
            if group is None:
                continue
            current = winners.get(group)
            if current is None or key.freshness > current.freshness:
                winners[group] = key
        for position in sorted(survivors):
            key = survivors[position]
            group = getattr(key, field)
            winner = winners.get(group) if group is not None else None
            if winner is not None and winner.position != position:
                copies[winner.position] += copies.pop(position)
                del survivors[position]
                removed[rule] += 1
    return DedupPlan(copies=dict(copies), removed=removed)


def main(argv: list[str] | None = None) -> int:
    parser = step_parser(STAGE)
    parser.add_argument("--min-title-words", type=int, default=3, help="shorter titles never deduplicate")
    args = parser.parse_args(argv)
    return guarded(lambda: normalize(args))


def dedup_rules(text: str) -> list[str]:
    """``--dedup`` as the rules applied, canonical-url first; an unknown one is a UsageError (exit 2)."""
    rules = ["canonical-url"] + [
        r for r in (x.strip() for x in text.split(",")) if r and r != "canonical-url"
    ]
    unknown = [rule for rule in rules if rule not in DEDUP_RULES]
    if unknown:
        raise UsageError(
            f"--dedup: unknown rule(s) {', '.join(unknown)}; choose from {', '.join(DEDUP_RULES)}"
        )
    return rules


def normalize(args) -> int:
    rules = dedup_rules(args.dedup)
    params = {"dedup": rules, "min_title_words": args.min_title_words}
    process = [
        {
            "name": "canonical-url-form",
            "description": "; ".join(CANONICAL_RULES),
            "params": {"strip_www": True},
        }
    ]
    process += [
        {"name": f"dedup-{rule}", "description": DEDUP_RULES[rule], "params": params} for rule in rules
    ]
    with StepRun(STAGE, args, schema=_schema(), columns=COLUMNS, params=params) as run:
        if run.up_to_date():
            return 0
        raw = run.input("raw")
        run.start(total=raw.rows)
        with raw.checking_copy() as (path, check):
            keys = _keys(
                run, datasets.iter_file(path, "jsonl"), args.min_title_words, "content-hash" in rules
            )
            plan = plan_dedup(keys, rules)
            check()  # hashed during the first pass: the data matches its sidecar before a row is written
            for rule, count in plan.removed.items():
                run.deduplicated(rule, count)
            for position, record in enumerate(datasets.iter_file(path, "jsonl")):
                copies = plan.copies.get(position)
                if copies is None:
                    continue
                url = canonicalize(record["url"])
                run.write(
                    {
                        "url": url,
                        "source_url": record["url"],
                        "host": host_of(url),
                        "timestamp": parse_timestamp(record["timestamp"]),
                        "copies": copies,
                        "html": record["html"],
                    },
                    position,
                )
        run.commit(process=process)
    return 0


def _keys(run: StepRun, records: Iterable[dict], min_title_words: int, content: bool) -> Iterator[DocKey]:
    """First pass: key each row; a row that cannot be keyed is quarantined (bronze should not hold one)."""
    for position, record in run.rows("raw", records=records):
        try:
            url = canonicalize(record["url"])
            timestamp = parse_timestamp(record["timestamp"])
            yield doc_key(position, url, timestamp, record["html"], min_title_words, content)
        except (InvalidURL, ValueError, KeyError, TypeError) as exc:
            run.reject(
                position,
                "unkeyable-row",
                f"cannot canonicalize or date this row: {exc}",
                record,
                url=record.get("url") if isinstance(record, dict) else None,
            )


def check_params(values: dict[str, str]) -> None:
    """The stage's parameters (by Param name), checked before a pipeline run starts: UsageError."""
    if values.get("dedup"):
        dedup_rules(values["dedup"])


def replay(meta: dict, store, scratch) -> tuple[list[str], dict[str, str]]:
    """The arguments that repeat the run ``meta`` records (``medallion reproduce``)."""
    params = meta["parameters"]
    return ["--dedup", ",".join(params["dedup"]), "--min-title-words", str(params["min_title_words"])], {}


if __name__ == "__main__":
    sys.exit(main())
