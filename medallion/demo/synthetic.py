"""A realistic synthetic crawl batch for the demo, the tests and the benchmarks: which lines it holds, written
as JSON Lines. Each article gets a site, a category, a language, a title and paragraphs made of
``vocabulary``, and ``page_templates`` renders it as its site's HTML page; the batch also carries duplicates
under URL variants, re-crawls with newer timestamps, a few pages in other languages, and junk lines.
Everything is derived from ``(seed, index)``: the generator streams, and memory does not grow with size.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TextIO

from medallion.demo.page_templates import SITES, Article, render
from medallion.demo.vocabulary import CATEGORIES, FOREIGN, SENTENCES, TITLE_TEMPLATES, fill_template

TRACKING_VARIANTS = (
    "utm_source=twitter&utm_medium=social",
    "fbclid=IwAR0x{n}",
    "gclid=Cj0K{n}",
    "utm_campaign=newsletter&utm_source=email",
    "mc_cid={n}&mc_eid=abc",
)


@dataclass(frozen=True)
class CrawlSpec:
    date: str = "2026-11-23"
    documents: int = 1000
    seed: int = 7
    duplicate_rate: float = 0.08
    recrawl_rate: float = 0.05
    junk_rate: float = 0.01
    foreign_rate: float = 0.03


def article(spec: CrawlSpec, index: int) -> Article:
    """The ``index``-th article of the batch, the same every time."""
    rng = random.Random(f"{spec.seed}:{index}")
    site = SITES[rng.randrange(len(SITES))]
    category = CATEGORIES[rng.randrange(len(CATEGORIES))]
    language = "en"
    if rng.random() < spec.foreign_rate:
        language = rng.choice(sorted(FOREIGN))
    title = fill_template(rng.choice(TITLE_TEMPLATES), rng, category)
    if language != "en":
        paragraphs = tuple(" ".join(rng.sample(FOREIGN[language], 3)) for _ in range(rng.randint(3, 6)))
        title = FOREIGN[language][rng.randrange(5)].rstrip(".")
    else:
        paragraphs = tuple(
            " ".join(fill_template(rng.choice(SENTENCES), rng, category) for _ in range(rng.randint(3, 6)))
            for _ in range(rng.randint(4, 12))
        )
    slug = "-".join(w.strip(":,'\"").lower() for w in title.split()[:7] if w.strip(":,'\""))
    day = date.fromisoformat(spec.date)
    url = f"https://{site.host}/{category}/{day:%Y/%m/%d}/{slug}-{index}"
    crawled = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(
        seconds=rng.randrange(0, 20 * 3600)
    )
    return Article(index, site, category, language, url, title, paragraphs, crawled)


def true_category(url: str) -> str | None:
    """The category an article was generated under (the first path segment), None for other URLs."""
    parts = url.split("/")
    if len(parts) > 3 and any(parts[2].endswith(site.host.removeprefix("www.")) for site in SITES):
        return parts[3] if parts[3] in CATEGORIES else None
    return None


# -- the batch --------------------------------------------------------------------------------------------


def _line(url: str, page: str, moment: datetime) -> str:
    return json.dumps(
        {"url": url, "html": page, "timestamp": moment.strftime("%Y-%m-%dT%H:%M:%SZ")}, ensure_ascii=False
    )


def _url_variant(url: str, rng: random.Random) -> str:
    """The same page under another spelling of its URL."""
    scheme, rest = url.split("://", 1)
    host, path = rest.split("/", 1)
    kind = rng.randrange(6)
    if kind == 0:
        return f"{scheme}://{host}/{path}?{rng.choice(TRACKING_VARIANTS).format(n=rng.randrange(10**6))}"
    if kind == 1:
        return f"{scheme}://{host.upper()}/{path}#comments"
    if kind == 2:
        other = host[4:] if host.startswith("www.") else "www." + host
        return f"{scheme}://{other}/{path}/"
    if kind == 3:
        return f"{scheme}://{host}:443/{path}?utm_medium=rss"
    if kind == 4:
        return f"{scheme}://{host}/./{path}?ref_src=twsrc"
    return f"{scheme}://{host}//{path}?gclid=x{rng.randrange(999)}#top"


def _junk(rng: random.Random, spec: CrawlSpec, index: int) -> str:
    kind = rng.randrange(9)
    good = {
        "url": f"https://example-junk.com/page-{index}",
        "html": "<html><body><p>x</p></body></html>",
        "timestamp": f"{spec.date}T10:00:00Z",
    }
    if kind == 0:
        return '{"url": "https://broken.example.com/a", "html": "<p>unterminated'
    if kind == 1:
        return json.dumps([good["url"], good["html"]])
    if kind == 2:
        return json.dumps({k: v for k, v in good.items() if k != "html"})
    if kind == 3:
        return json.dumps({**good, "timestamp": 1732345678})
    if kind == 4:
        return json.dumps({**good, "url": "javascript:void(0)"})
    if kind == 5:
        return json.dumps({**good, "timestamp": "not a date"})
    if kind == 6:
        return json.dumps({**good, "html": ""})
    if kind == 7:
        return ""
    return json.dumps({**good, "timestamp": "2099-01-01T00:00:00Z"})


def generate_crawl(spec: CrawlSpec) -> Iterator[str]:
    """The batch's JSON Lines, streamed (no trailing newlines)."""
    for kind, index, extra in _plan(spec):
        if kind == "junk":
            yield _junk(random.Random(f"junk:{spec.seed}:{index}"), spec, index)
            continue
        a = article(spec, index)
        if kind == "article":
            yield _line(a.url, render(a), a.crawled)
        elif kind == "duplicate":
            rng = random.Random(f"dup:{spec.seed}:{index}:{extra}")
            yield _line(
                _url_variant(a.url, rng), render(a), a.crawled + timedelta(minutes=rng.randint(-30, 30))
            )
        else:  # recrawl: later the same day, slightly updated page
            rng = random.Random(f"re:{spec.seed}:{index}:{extra}")
            later = min(
                a.crawled + timedelta(minutes=rng.randint(20, 180)),
                datetime.combine(date.fromisoformat(spec.date), datetime.max.time(), tzinfo=UTC).replace(
                    microsecond=0
                ),
            )
            yield _line(a.url, render(a, updated=True), later)


def _plan(spec: CrawlSpec) -> Iterator[tuple[str, int, int]]:
    rng = random.Random(f"plan:{spec.seed}")
    for index in range(spec.documents):
        yield "article", index, 0
        if rng.random() < spec.duplicate_rate:
            yield "duplicate", rng.randrange(index + 1), index
        if rng.random() < spec.recrawl_rate:
            yield "recrawl", rng.randrange(index + 1), index
        if rng.random() < spec.junk_rate:
            yield "junk", index, 0


def write_crawl(spec: CrawlSpec, out: TextIO) -> dict:
    """Write the batch to ``out``; return how many lines of each kind it holds."""
    counts = {"lines": 0, "articles": 0, "duplicates": 0, "recrawls": 0, "junk": 0}
    names = {"article": "articles", "duplicate": "duplicates", "recrawl": "recrawls", "junk": "junk"}
    for (kind, _index, _extra), line in zip(_plan(spec), generate_crawl(spec), strict=True):
        out.write(line + "\n")
        counts["lines"] += 1
        counts[names[kind]] += 1
    return counts
