"""Main-content extraction quality per corpus, ours against the open extractors, and their speed.

Pages: both shared sets through ``bench/corpora.py`` (``news`` = extraction-dev, 93 pages; ``cleaneval``,
``dragnet``, ``l3s-gn1``, ``readability`` = extraction-broad, 937 pages). Every extractor gets the page's
raw bytes and decodes them itself.

Scoring is the sets' own method: lowercase ``\\w+`` tokens, multisets of 4-token shingles, per-page
precision and recall (an empty page on both sides counts 1.0), averaged over pages; F1 is the harmonic
mean of the averages. The column ``all`` pools the 937 broad pages (page-averaged P and R, not a mean of
the corpora's F1); it is shown only when all four broad corpora are selected.

The open extractors, as invoked here:

- trafilatura: ``trafilatura.extract(raw)`` with its defaults (readers' comments included), and as
  ``trafilatura-article``, ``extract(raw, include_comments=False)``.
- readability-lxml: ``Document(raw).summary()``, then the text of that HTML with a line break at each
  block element (p, div, li, td, h1...). lxml's ``text_content()`` glues blocks together ("end</p><p>Next"
  becomes one token) and scores about 0.003 lower; the block-aware text is the fair reading.
- resiliparse: ``bytes_to_str(raw, detect_encoding(raw))``, then ``extract_plain_text(main_content=True)``.

A page an extractor raises on counts as an empty extraction; the failures are counted under the table.

Quality runs the competitors in a pool of 2 processes (the machine's cores) and ours in this process.
Speed (pages/s) is a one-core figure: every extractor is timed in this process, after the pool has
finished, pinned to one CPU with native thread pools at one thread (``one_core``), on the same evenly
spaced subset of at most 200 of the selected pages, once (no repeats), timing only the bytes-to-text call
after one untimed warm-up call (imports). Ours is timed during its quality pass, so its figure over all
selected pages is printed too, with the load average: other processes on the machine slow every figure.

Competitors' texts and speeds are cached in ``bench/.cache/`` (JSON, keyed by extractor, its version and
each corpus's ``corpora.fingerprint``), so a rerun recomputes only ours; ``--no-cache`` recomputes them
(and refreshes the cache). ``--loco`` also scores ours with a block model trained with
``bench/train_extractor.py`` on every corpus but the one it is scored on; ``--folds K`` scores every page
with a model fitted on the other K-1 folds of pages (all corpora in training, never the page itself).

The corpora disagree about readers' comments: Dragnet's truth (and some of CleanEval's) holds them, the
others' do not. ``--comments exclude`` runs ours as html-parsing's ``--comments exclude`` does (the article
alone) and scores every row's Dragnet pages against their article alone (the truth cut at its comments
marker, as the broad set's README describes); the default scores each truth whole.

    .venv/bin/python bench/extraction.py [--extractors ours,trafilatura,trafilatura-article,readability,
        resiliparse] [--corpus news --corpus dragnet ...] [--comments include|exclude] [--worst N] [--loco]
        [--folds K] [--cache DIR | --no-cache]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import math
import os
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import corpora  # noqa: E402

from medallion.core import pipeline  # noqa: E402

REPO = corpora.REPO
DEFAULT_DATASET = corpora.DEV
CACHE = REPO / "bench" / ".cache"
BROAD = ("cleaneval", "dragnet", "l3s-gn1", "readability")
SPEED_PAGES = 200
WORKERS = 2
TOKEN = re.compile(r"\w+")
# Dragnet's truth: the article, this line (its punctuation varies a little), then the readers' comments.
COMMENTS_MARKER = re.compile(r"^!+@.*COMMENTS\s*$", re.MULTILINE)


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


def combine(scores: Iterable[tuple[float, float]]) -> tuple[float, float, float]:
    """(F1, precision, recall) from per-page (precision, recall): means over pages, then their F1."""
    scores = list(scores)
    precision = statistics.mean(p for p, _ in scores)
    recall = statistics.mean(r for _, r in scores)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return f1, precision, recall


def score(pairs: Iterable[tuple[str, str]]) -> tuple[float, float, float]:
    """(F1, precision, recall) over (extracted, truth) pairs."""
    return combine(page_scores(got, want) for got, want in pairs)


def article_alone(page: corpora.Page) -> corpora.Page:
    """The page with its truth cut at Dragnet's comments marker, as the broad set's README describes for
    looking at the article alone (a truth without the marker is returned as it is)."""
    match = COMMENTS_MARKER.search(page.truth)
    return dataclasses.replace(page, truth=page.truth[: match.start()].rstrip()) if match else page


# The extractors: page bytes (and URL) in, main-content text out; heavy imports stay inside.


def ours(raw: bytes, url: str = "", model: object | None = None, comments: bool = True) -> str:
    return ours_or_reason(raw, url, model, comments)[0]


def ours_or_reason(
    raw: bytes, url: str, model: object | None = None, comments: bool = True
) -> tuple[str, str | None]:
    """(content, None), or ("", the ExtractionError's reason) for a page our extractor rejects.
    ``comments=False``: html-parsing's ``--comments exclude``."""
    from medallion.transforms.extract import ExtractionError, extract

    try:  # model=None: the packaged model
        return extract(raw, url, model=model, comments=comments).content, None
    except ExtractionError as error:
        return "", error.reason


def trafilatura_text(raw: bytes, url: str = "") -> str:
    import trafilatura

    return trafilatura.extract(raw) or ""


def trafilatura_article(raw: bytes, url: str = "") -> str:
    import trafilatura

    return trafilatura.extract(raw, include_comments=False) or ""


# The elements readability-lxml's summary breaks lines at (as a browser would).
BLOCK_TAGS = {
    *("address", "article", "aside", "blockquote", "body", "br", "dd", "div", "dl", "dt", "figcaption"),
    *("figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "html", "li", "main", "ol"),
    *("p", "pre", "section", "table", "td", "th", "tr", "ul"),
}


def block_text(root) -> str:
    """The text of an lxml tree with a line break around every block element."""
    from lxml import etree

    parts: list[str] = []
    for event, element in etree.iterwalk(root, events=("start", "end")):
        block = isinstance(element.tag, str) and element.tag in BLOCK_TAGS
        if event == "start":
            parts.append("\n" if block else "")
            if isinstance(element.tag, str) and element.text:
                parts.append(element.text)
        else:
            parts.append("\n" if block else "")
            if element.tail:
                parts.append(element.tail)
    return re.sub(r"\n\s*\n+", "\n", "".join(parts)).strip()


def readability_text(raw: bytes, url: str = "") -> str:
    import readability
    from lxml import html

    logging.getLogger("readability.readability").setLevel(logging.CRITICAL)  # it logs, then raises
    return block_text(html.fromstring(readability.Document(raw).summary()))


def resiliparse_text(raw: bytes, url: str = "") -> str:
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.encoding import bytes_to_str, detect_encoding

    return extract_plain_text(bytes_to_str(raw, detect_encoding(raw)), main_content=True)


@dataclass(frozen=True, slots=True)
class Extractor:
    name: str  # as given to --extractors
    label: str  # the table's row name, without the version
    package: str | None  # the distribution whose version labels the row and keys the cache
    run: Callable[[bytes, str], str]

    @property
    def version(self) -> str:
        return metadata.version(self.package) if self.package else ""

    @property
    def title(self) -> str:
        return f"{self.label} {self.version}".strip()


EXTRACTORS = {
    e.name: e
    for e in (
        Extractor("ours", "medallion", None, ours),
        Extractor("trafilatura", "trafilatura", "trafilatura", trafilatura_text),
        Extractor("trafilatura-article", "trafilatura, no comments", "trafilatura", trafilatura_article),
        Extractor("readability", "readability-lxml", "readability-lxml", readability_text),
        Extractor("resiliparse", "resiliparse", "resiliparse", resiliparse_text),
    )
}


def guarded(name: str, raw: bytes, url: str) -> tuple[str, str | None]:
    """(text, None), or ("", the exception's name) when the extractor raises: one page never stops a run."""
    try:
        return EXTRACTORS[name].run(raw, url), None
    except Exception as error:  # any failure of a third-party extractor is an empty page
        return "", type(error).__name__


@dataclass
class Run:
    """One extractor over the selected pages: texts and failures by (corpus, key), and its speed."""

    extractor: Extractor
    texts: dict[tuple[str, str], str]
    errors: dict[tuple[str, str], str]
    pages_per_s: float | None = None
    pages_per_s_all: float | None = None  # ours only: over every selected page
    timing: str = ""  # when the speed was measured and how busy the machine was


def load_note() -> str:
    """The 1-minute load average: above 1 another process shared the cores, so pages/s reads low."""
    return f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"


def speed_subset(pages: Sequence[corpora.Page], limit: int = SPEED_PAGES) -> list[corpora.Page]:
    """At most ``limit`` pages spread evenly over ``pages`` (every corpus represented)."""
    return list(pages[:: max(1, math.ceil(len(pages) / limit))])


@contextmanager
def one_core():
    """This process on one CPU, native thread pools (OpenMP, BLAS) at one thread: a one-core figure.

    Without it a library that threads borrows the second core, or oversubscribes a busy machine and runs
    several times slower than on one thread.
    """
    from threadpoolctl import threadpool_limits

    cpus = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(cpus)})
    try:
        with threadpool_limits(1):
            yield
    finally:
        os.sched_setaffinity(0, cpus)


def time_single(run: Callable[[bytes, str], str], pages: Sequence[corpora.Page]) -> float:
    """Pages/s of ``run`` over ``pages`` on one core, one pass, timing only the calls."""
    with one_core():
        guarded_call(run, pages[0])  # warm-up: imports and first-use set-up are not extraction time
        elapsed = 0.0
        for page in pages:
            started = time.perf_counter()
            guarded_call(run, page)
            elapsed += time.perf_counter() - started
    return len(pages) / elapsed


def guarded_call(run: Callable[[bytes, str], str], page: corpora.Page) -> str:
    try:
        return run(page.raw, page.url)
    except Exception:  # timed like any other page
        return ""


def run_ours(
    pages: Sequence[corpora.Page], timed: Sequence[corpora.Page], model: object = None, comments: bool = True
) -> Run:
    """Ours in this process over every page, each call timed (quality and speed in one pass)."""
    load = load_note()
    texts, errors, seconds = {}, {}, {}
    with one_core():
        ours(pages[0].raw, pages[0].url, model)  # warm-up: imports, the model's loading
        for page in pages:
            started = time.perf_counter()
            text, reason = ours_or_reason(page.raw, page.url, model, comments)
            seconds[page.corpus, page.key] = time.perf_counter() - started
            texts[page.corpus, page.key] = text
            if reason:
                errors[page.corpus, page.key] = reason
    timed_seconds = sum(seconds[p.corpus, p.key] for p in timed)
    total = sum(seconds.values())
    return Run(
        EXTRACTORS["ours"], texts, errors, len(timed) / timed_seconds, len(pages) / total, f"now, {load}"
    )


# The cache of competitors' outputs: one JSON per (extractor, version, corpus fingerprint).


def cache_file(cache: Path, extractor: Extractor, corpus: str, fingerprint: str) -> Path:
    return cache / f"extraction-{extractor.name}-{extractor.version}" / f"{corpus}-{fingerprint[:16]}.json"


def read_cached(path: Path, fingerprint: str) -> dict | None:
    if not path.is_file():
        return None
    entry = json.loads(path.read_text())
    return entry if entry.get("fingerprint") == fingerprint else None


def write_cached(path: Path, entry: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(entry, ensure_ascii=False))
    tmp.replace(path)


def run_competitors(
    names: Sequence[str],
    pages: Sequence[corpora.Page],
    timed: Sequence[corpora.Page],
    cache: Path | None,
    refresh: bool,
) -> list[Run]:
    """Each competitor's texts (from the cache, or computed in a pool of 2) and single-process speed."""
    by_corpus: dict[str, list[corpora.Page]] = {}
    for page in pages:
        by_corpus.setdefault(page.corpus, []).append(page)
    fingerprints = {corpus: corpora.fingerprint(group) for corpus, group in by_corpus.items()}
    entries: dict[tuple[str, str], dict] = {}  # (name, corpus) -> {"fingerprint", "texts", "errors"}
    todo: list[tuple[str, str]] = []
    for name in names:
        for corpus in by_corpus:
            path = cache_file(cache, EXTRACTORS[name], corpus, fingerprints[corpus]) if cache else None
            entry = None if refresh or path is None else read_cached(path, fingerprints[corpus])
            if entry is None:
                todo.append((name, corpus))
            else:
                entries[name, corpus] = entry
    if todo:
        jobs = [(name, page) for name, corpus in todo for page in by_corpus[corpus]]
        print(
            f"extracting {len(jobs)} pages with {sorted({n for n, _ in todo})} in {WORKERS} processes",
            file=sys.stderr,
        )
        with ProcessPoolExecutor(WORKERS) as pool:
            results = list(
                pool.map(
                    guarded,
                    [n for n, _ in jobs],
                    [p.raw for _, p in jobs],
                    [p.url for _, p in jobs],
                    chunksize=8,
                )
            )
        for name, corpus in todo:
            entries[name, corpus] = {
                "extractor": name,
                "version": EXTRACTORS[name].version,
                "corpus": corpus,
                "fingerprint": fingerprints[corpus],
                "texts": {},
                "errors": {},
            }
        for (name, page), (text, error) in zip(jobs, results, strict=True):
            entry = entries[name, page.corpus]
            entry["texts"][page.key] = text
            if error:
                entry["errors"][page.key] = error
        for name, corpus in todo:
            if cache:
                write_cached(
                    cache_file(cache, EXTRACTORS[name], corpus, fingerprints[corpus]), entries[name, corpus]
                )
    runs = []
    for name in names:
        texts, errors = {}, {}
        for corpus in by_corpus:
            entry = entries[name, corpus]
            texts.update({(corpus, key): text for key, text in entry["texts"].items()})
            errors.update({(corpus, key): error for key, error in entry["errors"].items()})
        speed = competitor_speed(EXTRACTORS[name], timed, cache, refresh)
        runs.append(Run(EXTRACTORS[name], texts, errors, speed["pages_per_s"], timing=speed["timing"]))
    return runs


def competitor_speed(
    extractor: Extractor, timed: Sequence[corpora.Page], cache: Path | None, refresh: bool
) -> dict:
    """{"pages_per_s", "timing"} of one competitor on the timed pages, from the cache or measured now."""
    fingerprint = corpora.fingerprint(list(timed))
    path = cache_file(cache, extractor, "speed", fingerprint) if cache else None
    cached = None if refresh or path is None else read_cached(path, fingerprint)
    if cached is None:
        print(f"timing {extractor.title} on {len(timed)} pages, one core", file=sys.stderr)
        load = load_note()
        cached = {
            "fingerprint": fingerprint,
            "pages": len(timed),
            "pages_per_s": time_single(extractor.run, timed),
            "timing": f"{time.strftime('%Y-%m-%d %H:%M')}, {load}",
        }
        if path:
            write_cached(path, cached)
    return cached


_LOCO: tuple = ()  # (pages, their training examples): what the forked fitting processes inherit


def _held_out(pages: Sequence[corpora.Page], group: str, folds: int) -> list[bool]:
    """Which pages a group leaves out: a corpus's pages, or (``fold-K``) every ``folds``-th page."""
    if group.startswith("fold-"):
        k = int(group[5:])
        return [i % folds == k for i in range(len(pages))]
    return [page.corpus == group for page in pages]


def _fit_without(group: str):
    import train_extractor

    pages, data, folds = _LOCO
    out = _held_out(pages, group, folds)
    kept = [i for i in range(len(pages)) if not out[i]]
    return train_extractor.fit_examples(
        [data[i] for i in kept],
        [pages[i].corpus for i in kept],
        corpora.fingerprint([pages[i] for i in kept]),
    )


def run_loco(
    all_pages: Sequence[corpora.Page], held_out: Sequence[str], folds: int = 0, comments: bool = True
) -> dict[tuple[str, str], str]:
    """Ours on each corpus in ``held_out`` with a block model fitted on every other corpus's pages; with
    ``folds``, instead ours on every page with a model fitted on the other folds of pages (every corpus
    in training, the page not).

    The pages' training examples are computed once; the models are fitted two at a time (one per core).
    """
    global _LOCO
    import multiprocessing

    import train_extractor  # bench/train_extractor.py: imported here so the rest runs without it

    print(f"training examples of {len(all_pages)} pages", file=sys.stderr)
    _LOCO = (list(all_pages), train_extractor.examples(list(all_pages)), folds)
    groups = [f"fold-{k}" for k in range(folds)] if folds else list(held_out)
    print(f"fitting {len(groups)} block models, each without {groups[0]}...", file=sys.stderr)
    with multiprocessing.get_context("fork").Pool(2) as pool:
        models = dict(zip(groups, pool.map(_fit_without, groups, chunksize=1), strict=True))
    texts: dict[tuple[str, str], str] = {}
    with one_core():  # as the table's figures are measured
        for group, model in models.items():
            out = _held_out(all_pages, group, folds)
            for page, scored in zip(all_pages, out, strict=True):
                if scored and page.corpus in held_out:
                    texts[page.corpus, page.key] = ours(page.raw, page.url, model, comments)
    return texts


# The table: pure functions of the scores.


def columns(selected: Sequence[str]) -> list[str]:
    """The selected corpora in the sets' order, with ``all`` after ``news`` when every broad corpus is in."""
    ordered = [c for c in corpora.CORPORA if c in selected]
    if all(c in selected for c in BROAD):
        ordered.insert(1 if "news" in ordered else 0, "all")
    return ordered


def column_f1(texts: dict[tuple[str, str], str], pages: Sequence[corpora.Page], column: str) -> float | None:
    """F1 over the pages of ``column`` that ``texts`` covers (None when it covers none)."""
    members = [p for p in pages if (p.corpus in BROAD if column == "all" else p.corpus == column)]
    pairs = [(texts[p.corpus, p.key], p.truth) for p in members if (p.corpus, p.key) in texts]
    if column == "all" and len(pairs) < len(members):
        return None  # "all" means every broad page
    return score(pairs)[0] if pairs else None


def format_table(
    cols: Sequence[str], rows: Sequence[tuple[str, dict[str, float | None], float | None]]
) -> str:
    """One line per (row name, {column: F1}, pages/s), F1 to 3 places; a missing value prints as ``-``."""
    widths = [max(len(c), 5) + 2 for c in cols]
    label = max([28, *(len(name) + 2 for name, _, _ in rows)])
    lines = [
        f"{'extractor':<{label}}"
        + "".join(f"{c:>{w}}" for c, w in zip(cols, widths, strict=True))
        + f"{'pages/s':>9}"
    ]
    for name, f1s, speed in rows:
        cells = "".join(
            f"{f1s[c]:>{w}.3f}" if f1s.get(c) is not None else f"{'-':>{w}}"
            for c, w in zip(cols, widths, strict=True)
        )
        lines.append(f"{name:<{label}}{cells}" + (f"{speed:>9.1f}" if speed is not None else f"{'-':>9}"))
    return "\n".join(lines)


def margins(
    cols: Sequence[str], ours_f1: dict[str, float | None], open_rows: dict[str, dict[str, float | None]]
) -> list[str]:
    """Per column: the best open extractor and ours minus it."""
    lines = []
    width = max([24, *(len(name) for name in open_rows)])
    for column in cols:
        scored = [(f1s[column], name) for name, f1s in open_rows.items() if f1s.get(column) is not None]
        if not scored or ours_f1.get(column) is None:
            continue
        best, name = max(scored)
        lines.append(
            f"  {column:<12} best open: {name:<{width}} {best:.3f}   ours {ours_f1[column]:.3f}   {ours_f1[column] - best:+.3f}"
        )
    return lines


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--extractors",
        default=",".join(EXTRACTORS),
        help=f"comma-separated, of {','.join(EXTRACTORS)} (default: all)",
    )
    parser.add_argument(
        "--corpus",
        action="append",
        choices=corpora.CORPORA,
        help="score only this corpus (repeatable; default: all five)",
    )
    # html-parsing's own --comments (choices and default from the pipeline table); exclude also scores
    # Dragnet against its article alone
    pipeline.add_stage_params(parser, [pipeline.stage("html-parsing")], ("comments",))
    parser.add_argument("--worst", type=int, default=0, metavar="N", help="list our N worst pages")
    parser.add_argument(
        "--loco", action="store_true", help="also score ours with a block model fitted without each corpus"
    )
    parser.add_argument(
        "--folds",
        type=int,
        default=0,
        help="also score ours on every page with a block model fitted without its fold of pages (e.g. 5)",
    )
    parser.add_argument(
        "--cache", type=Path, default=CACHE, metavar="DIR", help=f"competitors' outputs (default {CACHE})"
    )
    parser.add_argument(
        "--no-cache", action="store_true", help="recompute the competitors (and refresh the cache)"
    )
    args = parser.parse_args(argv)
    args.extractors = [n.strip() for n in args.extractors.split(",") if n.strip()]
    unknown = [n for n in args.extractors if n not in EXTRACTORS]
    if unknown:
        parser.error(f"unknown extractor(s) {unknown}: choose from {','.join(EXTRACTORS)}")
    args.corpus = [c for c in corpora.CORPORA if c in (args.corpus or corpora.CORPORA)]
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if absent := corpora.missing():
        print(f"benchmark sets not found: {', '.join(map(str, absent))}", file=sys.stderr)
        return 2
    if args.loco and not (REPO / "bench" / "train_extractor.py").is_file():
        print("--loco needs bench/train_extractor.py (its fit(pages) -> model)", file=sys.stderr)
        return 2
    all_pages = corpora.load()
    pages = [p for p in all_pages if p.corpus in args.corpus]
    comments = args.comments == "include"
    scored = pages if comments else [article_alone(p) for p in pages]  # what every row is scored against
    timed = speed_subset(pages)
    competitors = [n for n in args.extractors if n != "ours"]
    runs = run_competitors(competitors, pages, timed, args.cache, args.no_cache) if competitors else []
    if "ours" in args.extractors:
        runs.insert(0, run_ours(pages, timed, comments=comments))  # after the pool: nothing else on the cores
    cols = columns(args.corpus)
    f1s = {run.extractor.name: {c: column_f1(run.texts, scored, c) for c in cols} for run in runs}
    rows = [(run.extractor.title, f1s[run.extractor.name], run.pages_per_s) for run in runs]
    loco_f1 = None
    if args.loco:
        held_out = run_loco(all_pages, args.corpus, comments=comments)
        loco_f1 = {c: column_f1(held_out, scored, c) for c in cols}
        rows.insert(1 if "ours" in args.extractors else 0, ("medallion, corpus held out", loco_f1, None))
    if args.folds:
        unseen = run_loco(all_pages, args.corpus, args.folds, comments)
        fold_f1 = {c: column_f1(unseen, scored, c) for c in cols}
        rows.insert(1 if "ours" in args.extractors else 0, (f"medallion, {args.folds}-fold", fold_f1, None))

    counts = Counter(p.corpus for p in pages)
    print(f"{len(pages)} pages: " + ", ".join(f"{c} {counts[c]}" for c in args.corpus) + "; F1 per column")
    print(format_table(cols, rows))
    if not comments:
        print(
            "ours with comments excluded (html-parsing --comments exclude); dragnet scored against its "
            "article alone (truth cut at its comments marker), every other corpus against its truth as is"
        )
    print(
        f"pages/s: one process, the same {len(timed)} pages (1 in {math.ceil(len(pages) / len(timed))}) for each"
    )
    for run in runs:
        over_all = f"; {run.pages_per_s_all:.1f} pages/s over all {len(pages)}" if run.pages_per_s_all else ""
        print(f"  {run.extractor.title}: timed {run.timing}{over_all}")
    for run in runs:
        if run.errors:
            reasons = Counter(run.errors.values()).most_common()
            print(
                f"  {run.extractor.title}: {len(run.errors)} page(s) failed, scored empty: "
                + ", ".join(f"{r} {n}" for r, n in reasons)
            )
    open_rows = {run.extractor.title: f1s[run.extractor.name] for run in runs if run.extractor.name != "ours"}
    if "ours" in f1s and open_rows:
        print("ours vs the best open extractor (F1, ours - best):")
        print("\n".join(margins(cols, f1s["ours"], open_rows)))
    if loco_f1 and open_rows:
        print("ours, corpus held out, vs the best open extractor:")
        print("\n".join(margins(cols, loco_f1, open_rows)))
    if args.worst and "ours" in f1s:
        texts = runs[0].texts
        worst = [(page_scores(texts[p.corpus, p.key], p.truth), p) for p in scored]
        worst.sort(key=lambda item: (combine([item[0]])[0], sum(item[0])))
        print(f"our {args.worst} worst pages:")
        for (precision, recall), page in worst[: args.worst]:
            print(
                f"  {page.corpus:<12} P {precision:.2f} R {recall:.2f}  {page.key}  {page.url[:70]}".rstrip()
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
