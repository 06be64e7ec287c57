"""html-parsing: title, main content, description, language and declared encoding from each page (lxml).

Pages are parsed in parallel worker processes, in order-preserving chunks, so memory holds one chunk at a
time. Each page runs under a size limit, a nesting-depth limit and a time limit; a page that breaks one
is quarantined with the reason and never fails the batch.

    python -m steps.html_parsing --store URI --date 2026-11-23
"""

from __future__ import annotations

import functools
import signal
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from medallion.core import columns, config, datasets, pipeline
from medallion.runtime import parallel
from medallion.runtime.args import step_parser
from medallion.runtime.parallel import map_parquet, positions
from medallion.runtime.step import StepRun, guarded

STAGE = pipeline.stage("html-parsing")

MAX_HTML_CHARS = 10 * 1024 * 1024
MAX_DEPTH = 256  # libxml2 stops nesting there; deeper pages are rejected as too-deep
TIME_LIMIT_SECONDS = 10.0
LANGID_CHARS = 1000  # language is decided on the first characters of the content: enough, and langid cost grows with length
MIN_CONTENT_CHARS = 1

NAMES = ["url", "host", "timestamp", "title", "content", "description", "language", "encoding"]
COLUMNS = columns.meanings(NAMES)


def _schema():
    return columns.schema(NAMES)


@dataclass(frozen=True)
class Limits:
    max_html_chars: int = MAX_HTML_CHARS
    max_depth: int = MAX_DEPTH
    time_limit: float = TIME_LIMIT_SECONDS
    comments: bool = True  # readers' comment threads kept in the content (--comments include)


class ParseTimeout(Exception):
    pass


def _on_alarm(signum, frame):
    raise ParseTimeout


def detect_language(text: str, hint: str = "") -> str:
    """The content's language; the page's declared language when there is too little text to tell."""
    sample = text[:LANGID_CHARS]
    if len(sample) < 40:
        return hint
    import py3langid

    return py3langid.classify(sample)[0]


def warm_up() -> None:
    """Load the language model and the block model once, in the process the workers start from."""
    import py3langid

    from medallion.transforms.extract_model import shipped

    shipped()
    py3langid.classify("warm up the language model")


def block_model() -> dict:
    """The block model's version, the SHA1 of its training data and of its file (for the sidecar)."""
    from medallion.transforms.extract_model import shipped_description

    return shipped_description()


def read(html: str | bytes, limits: Limits = Limits()):
    """One page (text, or UTF-8 bytes from Parquet) read and cut into described blocks, or
    ``(reason, detail)`` when it is rejected."""
    from medallion.transforms.extract import ExtractionError, read_page

    if len(html) > limits.max_html_chars:
        return "html-too-large", f"{len(html):,} characters; the limit is {limits.max_html_chars:,}"
    try:
        page = read_page(
            html, encoding="utf-8" if isinstance(html, bytes) else None, max_depth=limits.max_depth
        )
        page.features()
    except ExtractionError as exc:
        return exc.reason, str(exc) or exc.reason
    return page


def fields(page) -> dict | tuple[str, str]:
    """The row's extracted fields from a judged page, or ``(reason, detail)`` when it has no content."""
    if len(page.content.strip()) < MIN_CONTENT_CHARS:
        return "no-main-content", "no main content could be found on the page"
    return {
        "title": page.title,
        "content": page.content,
        "description": page.description,
        "language": detect_language(page.content, page.language_hint),
        "encoding": page.charset,
    }


def parse_page(url: str, html: str | bytes, limits: Limits = Limits()) -> dict | tuple[str, str]:
    """The pure core: one page in, the extracted fields out, or ``(reason, detail)`` when it is rejected."""
    from medallion.transforms.extract import judge

    page = read(html, limits)
    return page if isinstance(page, tuple) else fields(judge([page], comments=limits.comments)[0])


def read_with_deadline(html: str | bytes, limits: Limits):
    """``read`` under a wall-clock alarm, in a worker process."""
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    try:
        # Armed and disarmed inside the try: an alarm can only ever land where it is caught.
        signal.setitimer(signal.ITIMER_REAL, limits.time_limit)
        result = read(html, limits)
        signal.setitimer(signal.ITIMER_REAL, 0)
    except ParseTimeout:
        result = "parse-timeout", f"parsing took longer than {limits.time_limit:g}s"
    except RecursionError:
        result = "too-deep", "the page is nested too deeply to parse"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    return result


def parse_rows(records: list[dict], limits: Limits) -> list[dict | tuple[str, str, Any]]:
    """``parse_page`` of a row group of url-normalization rows: each page read under its own time limit,
    then the block model judges all of them in one call.

    A rejected page comes back as ``(reason, detail, html)`` so that its quarantine record holds the page.
    """
    from medallion.transforms.extract import judge

    pages = [read_with_deadline(record["html"], limits) for record in records]
    judged = iter(judge([page for page in pages if not isinstance(page, tuple)], comments=limits.comments))
    results = []
    for record, page in zip(records, pages, strict=True):
        result = page if isinstance(page, tuple) else fields(next(judged))
        results.append((*result, record["html"]) if isinstance(result, tuple) else result)
    return results


def parse_with_deadline(record: dict, limits: Limits) -> dict | tuple[str, str, Any]:
    return parse_rows([record], limits)[0]


def main(argv: list[str] | None = None) -> int:
    parser = step_parser(STAGE)
    parser.add_argument("--max-html-chars", type=int, default=MAX_HTML_CHARS, help="page-size limit")
    parser.add_argument("--max-depth", type=int, default=MAX_DEPTH, help="element nesting limit")
    parser.add_argument("--time-limit", type=float, default=TIME_LIMIT_SECONDS, help="seconds per page")
    parser.add_argument("--workers", type=int, default=None, help="parallel processes (default: all cores)")
    args = parser.parse_args(argv)
    return guarded(lambda: parse(args))


def parse(args) -> int:
    limits = Limits(args.max_html_chars, args.max_depth, args.time_limit, args.comments != "exclude")
    workers = args.workers or config.worker_count()
    if workers > 1:  # the workers' models load in their own process while this one checks its input
        parallel.prewarm([STAGE.module])
    try:
        return _parse(args, limits, workers)
    finally:
        parallel.release()


def _parse(args, limits: Limits, workers: int) -> int:
    params = {
        "max_html_chars": limits.max_html_chars,
        "max_depth": limits.max_depth,
        "time_limit": limits.time_limit,
        "comments": "include" if limits.comments else "exclude",
    }
    process = [
        {
            "name": "lxml-main-content",
            "description": "Main-content extraction (medallion.transforms.extract) with lxml: text blocks "
            "judged by the packaged block model (gradient-boosted trees, bench/train_extractor.py): content "
            "from its threshold, inside comment-named markup from its comment_threshold; never inside a "
            "navigation, footer or complementary landmark (nav, menu, footer, aside or their ARIA roles), nor inside "
            "a link around at most a quarter of the page's text (a teaser card); "
            "with comments exclude, nothing inside an element whose class, id or role names comments.",
            "params": params,
            "model": block_model(),
        },
        {
            "name": "language-id",
            "description": "py3langid on the first characters of the content; the page's "
            "declared language when the content is shorter than 40 characters.",
            "params": {"chars": LANGID_CHARS},
        },
    ]
    with StepRun(STAGE, args, schema=_schema(), columns=COLUMNS, params=params) as run:
        if run.up_to_date():
            return 0
        results = run.results("url-normalization", lambda path, groups: parsed(path, limits, workers, groups))
        if results is None:  # one shard of the input, into scratch
            return 0
        languages: Counter[str] = Counter()
        for position, record, result in results:
            if isinstance(result, tuple):
                reason, detail, html = result
                page = html.decode("utf-8", "replace") if isinstance(html, bytes) else html
                run.reject(position, reason, detail, {"url": record["url"], "html": page}, url=record["url"])
                continue
            languages[result["language"] or "unknown"] += 1
            run.write({**record, **result}, position)
        run.commit(process=process, extra_stats={"languages": dict(sorted(languages.items()))})
    return 0


def parsed(
    path, limits: Limits, workers: int, groups: list[int] | None = None
) -> Iterator[tuple[int, dict, Any]]:
    """(position, row, result) for the input's rows (only ``groups`` when given), in order.

    Workers read the HTML themselves; this process reads only the small columns it passes on.
    """
    if workers <= 1:
        warm_up()
    parse_group = functools.partial(parse_rows, limits=limits)
    results = map_parquet(
        path,
        ["url", "html"],
        parse_group,
        workers,
        as_bytes=("html",),
        groups=groups,
        per_group=True,
        warm=True,
    )
    rows = datasets.iter_file(path, "parquet", columns=["url", "host", "timestamp"], groups=groups)
    yield from zip(positions(path, groups), rows, results, strict=True)


def replay(meta: dict, store, scratch) -> tuple[list[str], dict[str, str]]:
    """The arguments that repeat the run ``meta`` records (``medallion reproduce``)."""
    params = meta["parameters"]
    limits = ["--max-html-chars", str(params["max_html_chars"]), "--max-depth", str(params["max_depth"])]
    comments = ["--comments", params.get("comments", "include")]  # recorded since the option exists
    return [*limits, "--time-limit", str(params["time_limit"]), *comments], {}


if __name__ == "__main__":
    sys.exit(main())
