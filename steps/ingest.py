"""ingest (workflow ``crawler-to-s3``): the crawler's JSON Lines batch into bronze ``raw/``.

Every valid line is kept byte for byte; every other line goes to quarantine with its reason, so
input lines = rows + quarantined.

    python -m steps.ingest --store URI --date 2026-11-23 --input crawl.jsonl
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import orjson

from medallion.core import pipeline, sidecar
from medallion.core.errors import StepFailed
from medallion.core.store import open_store
from medallion.core.store_local import LocalStore
from medallion.core.store_s3 import S3Store
from medallion.core.timestamps import ACCEPTED, end_of_day, parse_timestamp
from medallion.runtime.args import step_parser
from medallion.runtime.crawlfile import MAX_LINE_BYTES, crawl_lines, open_crawl
from medallion.runtime.step import StepRun, guarded
from medallion.transforms.urls import InvalidURL, canonicalize

STAGE = pipeline.stage("raw")

MAX_HTML_CHARS = 10 * 1024 * 1024  # the documented page-size limit: larger pages are quarantined
REQUIRED_FIELDS = {"url": str, "html": str, "timestamp": str}
ESCAPED_COLON = re.compile(rb"\\u003[aA]")  # ':' written as an escape, which a count of ':' misses

SCHEMA = {"url": "string", "html": "string", "timestamp": "string (ISO 8601)"}
COLUMNS = {
    "url": "The page address exactly as the crawler fetched it (not yet canonical).",
    "html": "The full HTML of the page as fetched, decoded to text by the crawler.",
    "timestamp": "When the crawler fetched the page: ISO 8601 date and time or an HTTP date (UTC when no zone).",
}
RULES = [
    {
        "name": "crawl-file",
        "description": "The crawl is JSON Lines in UTF-8, optionally gzip- or zstd-compressed (recognised by "
        "its magic bytes, not its name); raw keeps the decompressed lines byte for byte.",
    },
    {"name": "valid-utf8", "description": "A line must be valid UTF-8."},
    {
        "name": "json-object",
        "description": "A line must be one JSON object, with no key twice in any object.",
    },
    {"name": "required-fields", "description": "url, html and timestamp must be present and be strings."},
    {
        "name": "http-url",
        "description": "url must be an absolute http(s) URL whose host is a domain name (international "
        "names to punycode), a dotted-quad IPv4 address or a bracketed IPv6 address without a zone.",
    },
    {"name": "html-size", "description": "html must be non-empty and at most max_html_chars characters."},
    {
        "name": "timestamp",
        "description": f"timestamp must be {ACCEPTED}, and not after the end of the batch date.",
    },
]


class Rejected(ValueError):
    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class CrawlRecord:
    url: str
    html: str
    timestamp: datetime


def validate_line(line: bytes, batch_date: str, max_html_chars: int = MAX_HTML_CHARS) -> CrawlRecord:
    """The pure core: one crawler line in, a valid record out, or ``Rejected`` with a reason."""
    if not line.strip():
        raise Rejected("empty-line", "the line is blank")
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Rejected("invalid-utf8", f"not valid UTF-8 at byte {exc.start}") from exc
    try:
        obj = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise Rejected("invalid-json", f"not valid JSON: {exc}") from exc
    if not isinstance(obj, dict):
        raise Rejected("not-an-object", f"a line must be a JSON object, got {type(obj).__name__}")
    if (key := repeated_key(line, obj)) is not None:
        raise Rejected(
            "duplicate-key", f"key {key!r} appears twice in one object: JSON readers disagree on which counts"
        )
    for field, kind in REQUIRED_FIELDS.items():
        if field not in obj or obj[field] is None:
            raise Rejected("missing-field", f"field {field!r} is missing")
        if not isinstance(obj[field], kind):
            raise Rejected("wrong-type", f"field {field!r} must be a string, got {type(obj[field]).__name__}")
    try:
        canonicalize(obj["url"])
    except InvalidURL as exc:
        raise Rejected("invalid-url", f"url is not a usable http(s) URL ({exc.reason}): {exc}") from exc
    html = obj["html"]
    if not html.strip():
        raise Rejected("empty-html", "html is empty")
    if len(html) > max_html_chars:
        raise Rejected(
            "html-too-large", f"html has {len(html):,} characters; the limit is {max_html_chars:,}"
        )
    try:
        moment = parse_timestamp(obj["timestamp"])
    except ValueError as exc:
        raise Rejected("invalid-timestamp", str(exc)) from exc
    if moment >= end_of_day(batch_date):
        raise Rejected(
            "future-timestamp", f"timestamp {obj['timestamp']} is after the batch date {batch_date}"
        )
    return CrawlRecord(url=obj["url"], html=html, timestamp=moment)


def _shape(value) -> tuple[int, int]:
    """(members of all objects, ':' inside all keys and strings) of a parsed JSON value, at any depth."""
    members = colons = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            colons += item.count(":")
        elif isinstance(item, dict):
            members += len(item)
            colons += sum(key.count(":") for key in item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return members, colons


def repeated_key(line: bytes, obj: dict) -> str | None:
    """A key that appears twice in one object of the JSON ``line`` (which parsed to ``obj``), or None.

    orjson silently keeps the last value of a repeated key, and it has no option to refuse one. Outside
    strings a ':' only ever follows a key, so the line's colons minus those inside its strings count its
    keys exactly; when that equals the members orjson kept, nothing repeats and the line is parsed once.
    Only a line with a repeat, or an escaped colon (\\u003a) the count cannot see, is parsed again.
    """
    members, colons = _shape(obj)
    certain = line.count(b":") - colons != members
    if not certain and not ESCAPED_COLON.search(line):
        return None
    found: list[str] = []

    def note(pairs: list[tuple[str, object]]) -> None:
        keys = [key for key, _ in pairs]
        if len(set(keys)) < len(keys):
            found.append(next(key for i, key in enumerate(keys) if key in keys[:i]))

    try:
        json.loads(line, object_pairs_hook=note)
    except RecursionError:
        if not certain:
            raise Rejected("invalid-json", "nested too deeply to be checked for repeated keys") from None
        return "(too deeply nested to name)"
    return found[0] if found else None


@contextlib.contextmanager
def local_input(spec: str) -> Iterator[tuple[Path, dict]]:
    """The crawl as a local file, and how the sidecar names its source. ``-`` spools stdin to disk."""
    with tempfile.TemporaryDirectory(prefix="medallion-ingest-") as tmp:
        if spec == "-":
            path = Path(tmp) / "stdin.jsonl"
            with open(path, "wb") as out:
                shutil.copyfileobj(sys.stdin.buffer, out, 1 << 20)
            yield path, {"uri": "stdin", "kind": "stdin"}
            return
        if spec.startswith("s3://"):
            bucket, _, key = spec[len("s3://") :].partition("/")
            path = Path(tmp) / "crawl.jsonl"
            S3Store(bucket).download(key, path)
            yield path, {"uri": spec, "kind": "file"}
            return
        store = open_store(spec) if spec.startswith("file://") else None
        path = store.root if isinstance(store, LocalStore) else Path(spec)
        if not path.is_file():
            what = "is a folder, not a file" if path.is_dir() else "does not exist"
            raise StepFailed(f"crawl file {spec!r} {what}: pass --input PATH, '-' for stdin, or a store URI")
        yield path, {"uri": str(path.resolve()), "kind": "file"}


def main(argv: list[str] | None = None) -> int:
    parser = step_parser(STAGE)
    parser.add_argument("--max-html-chars", type=int, default=MAX_HTML_CHARS, help="page-size limit")
    args = parser.parse_args(argv)
    return guarded(lambda: ingest(args))


def ingest(args) -> int:
    params = {"max_html_chars": args.max_html_chars}
    process = [{**rule, "params": params} if rule["name"] == "html-size" else rule for rule in RULES]
    store = open_store(args.store)
    crawl = args.input or store.url(pipeline.landing_key(args.date))
    with local_input(crawl) as (path, source), open_crawl(path, source["uri"]) as (stream, compression):
        with ThreadPoolExecutor(1) as thread:  # the file as received, compressed or not, hashed meanwhile
            sha1 = thread.submit(sidecar.file_sha1, path)
            inside = store.uri.rstrip("/") + "/"
            if crawl.startswith(inside):  # a crawl in the store (landing/) moves with it: name it by key
                source["key"] = crawl[len(inside) :]
            run = StepRun(
                STAGE, args, schema=SCHEMA, columns=COLUMNS, params=params, external_sources=[source]
            )
            source["sha1"] = sha1.result()
        with run:
            if run.up_to_date():
                return 0
            run.start()
            for position, (line, complete) in enumerate(crawl_lines(stream, compression, source["uri"])):
                run.read()
                if not complete:
                    run.reject(
                        position, "line-too-large", f"line longer than {MAX_LINE_BYTES:,} bytes", _text(line)
                    )
                    continue
                try:
                    record = validate_line(line, args.date, args.max_html_chars)
                except Rejected as exc:
                    run.reject(position, exc.reason, exc.detail, _text(line))
                    continue
                run.write_line(
                    line, {"url": record.url, "html": record.html, "timestamp": record.timestamp}, position
                )
            source["rows"] = run.input_rows
            run.commit(process=process)
    return 0


def _text(line: bytes) -> str:
    """A rejected line as its quarantine record keeps it."""
    return line.rstrip(b"\r\n").decode("utf-8", "backslashreplace")


def replay(meta: dict, store, scratch) -> tuple[list[str], dict[str, str]]:
    """The arguments that repeat the run ``meta`` records (``medallion reproduce``): the same crawl file."""
    files = [s for s in meta["sources"] if s["kind"] == "file"]
    if not files:
        raise StepFailed("raw was read from stdin: there is no recorded crawl file to read again")
    return ["--input", files[0]["uri"], "--max-html-chars", str(meta["parameters"]["max_html_chars"])], {}


if __name__ == "__main__":
    sys.exit(main())
