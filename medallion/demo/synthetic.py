"""A realistic synthetic crawl batch for the demo, the tests and the benchmarks: which lines it holds, written
as JSON Lines. Each article gets a site, a category, a language, a title and paragraphs made of
``vocabulary``, and ``page_templates`` renders it as its site's HTML page; the batch also carries duplicates
under URL variants, re-crawls with newer timestamps, a few pages in other languages, and junk lines.
A multi-day run (``day_specs``) adds, from the second day on, earlier days' articles crawled again under
their own URL ("carried" re-crawls) and republished on another site ("syndicated" copies).
Everything is derived from ``(seed, index)``: the generator streams, and memory does not grow with size.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple, TextIO

from medallion.demo.page_templates import SITES, Article, render
from medallion.demo.vocabulary import CATEGORIES, FOREIGN, SENTENCES, TITLE_TEMPLATES, fill_template

TRACKING_VARIANTS = (
    "utm_source=twitter&utm_medium=social",
    "fbclid=IwAR0x{n}",
    "gclid=Cj0K{n}",
    "utm_campaign=newsletter&utm_source=email",
    "mc_cid={n}&mc_eid=abc",
)


# What ``day_specs`` gives every day after the first: a share of lines from earlier days.
CARRIED_RATE = 0.06
SYNDICATED_RATE = 0.04


class PastDay(NamedTuple):
    """An earlier day of a multi-day run: enough to regenerate its articles (with this batch's rates)."""

    date: str
    seed: int
    documents: int


@dataclass(frozen=True)
class CrawlSpec:
    date: str = "2026-11-23"
    documents: int = 1000
    seed: int = 7
    duplicate_rate: float = 0.08
    recrawl_rate: float = 0.05
    junk_rate: float = 0.01
    foreign_rate: float = 0.03
    # Lines from earlier days, per article of this day; none unless ``earlier`` names some days.
    earlier: tuple[PastDay, ...] = ()
    carried_rate: float = 0.0
    syndicated_rate: float = 0.0


def day_specs(first: str, days: int, documents: int, seed: int) -> list[CrawlSpec]:
    """One batch per consecutive date from ``first`` (YYYY-MM-DD). The first day is the single-day batch
    ``CrawlSpec(date=first, documents=documents, seed=seed)``; day ``k`` has its own articles (seed
    ``seed + k``) and carries re-crawls and syndicated copies of the days before it."""
    if days < 1:
        raise ValueError(f"a run has at least one day, not {days}")
    start = date.fromisoformat(first)
    specs = [CrawlSpec(date=first, documents=documents, seed=seed)]
    for k in range(1, days):
        specs.append(
            CrawlSpec(
                date=(start + timedelta(days=k)).isoformat(),
                documents=documents,
                seed=seed + k,
                earlier=tuple(PastDay(s.date, s.seed, s.documents) for s in specs),
                carried_rate=CARRIED_RATE,
                syndicated_rate=SYNDICATED_RATE,
            )
        )
    return specs


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
    url = f"https://{site.host}/{category}/{_day(spec):%Y/%m/%d}/{slug}-{index}"
    return Article(index, site, category, language, url, title, paragraphs, _moment(spec, rng))


def true_category(url: str) -> str | None:
    """The category an article was generated under (the first path segment), None for other URLs."""
    parts = url.split("/")
    if len(parts) > 3 and any(parts[2].endswith(site.host.removeprefix("www.")) for site in SITES):
        return parts[3] if parts[3] in CATEGORIES else None
    return None


def _past_article(spec: CrawlSpec, past: int, index: int) -> Article:
    day = spec.earlier[past]
    return article(replace(spec, date=day.date, seed=day.seed, documents=day.documents, earlier=()), index)


def _syndicated(spec: CrawlSpec, past: int, index: int, at: int) -> Article:
    """An earlier day's article republished today on another site: same title, category and paragraphs,
    under that site's host and its own URL (today's date, numbered past this day's own articles)."""
    original = _past_article(spec, past, index)
    rng = random.Random(f"syn:{spec.seed}:{past}:{index}:{at}")
    others = [site for site in SITES if site.host != original.site.host]
    site = others[rng.randrange(len(others))]
    slug = original.url.rsplit("/", 1)[1].rsplit("-", 1)[0]
    number = spec.documents + at  # no article of this day has it, so the URL is new on every site
    url = f"https://{site.host}/{original.category}/{_day(spec):%Y/%m/%d}/{slug}-{number}"
    return replace(original, index=number, site=site, url=url, crawled=_moment(spec, rng))


def _day(spec: CrawlSpec) -> date:
    return date.fromisoformat(spec.date)


def _moment(spec: CrawlSpec, rng: random.Random) -> datetime:
    """A crawl time within the batch's day."""
    midnight = datetime.combine(_day(spec), datetime.min.time(), tzinfo=UTC)
    return midnight + timedelta(seconds=rng.randrange(0, 20 * 3600))


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
    for kind, index, extra, past in _plan(spec):
        if kind == "junk":
            yield _junk(random.Random(f"junk:{spec.seed}:{index}"), spec, index)
            continue
        if kind == "carried":  # an earlier day's article crawled again today, under the URL it had then
            a = _past_article(spec, past, index)
            rng = random.Random(f"carry:{spec.seed}:{past}:{index}:{extra}")
            yield _line(a.url, render(a, updated=True), _moment(spec, rng))
            continue
        if kind == "syndicated":
            a = _syndicated(spec, past, index, extra)
            yield _line(a.url, render(a), a.crawled)
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
                datetime.combine(_day(spec), datetime.max.time(), tzinfo=UTC).replace(microsecond=0),
            )
            yield _line(a.url, render(a, updated=True), later)


def _plan(spec: CrawlSpec) -> Iterator[tuple[str, int, int, int]]:
    """``(kind, index, extra, past)`` per line: the article's index, where in the batch the line stands
    (for duplicates, re-crawls and lines from earlier days, else 0) and, for a line from an earlier day,
    that day's position in ``spec.earlier`` (else -1)."""
    rng = random.Random(f"plan:{spec.seed}")
    # Its own stream, so a batch without earlier days is the very batch of a single-day run.
    days = random.Random(f"plan-days:{spec.seed}")
    for index in range(spec.documents):
        yield "article", index, 0, -1
        if rng.random() < spec.duplicate_rate:
            yield "duplicate", rng.randrange(index + 1), index, -1
        if rng.random() < spec.recrawl_rate:
            yield "recrawl", rng.randrange(index + 1), index, -1
        if rng.random() < spec.junk_rate:
            yield "junk", index, 0, -1
        if not spec.earlier:
            continue
        for kind, rate in (("carried", spec.carried_rate), ("syndicated", spec.syndicated_rate)):
            if days.random() < rate:
                past = days.randrange(len(spec.earlier))
                if spec.earlier[past].documents:  # an empty earlier day has nothing to carry
                    yield kind, days.randrange(spec.earlier[past].documents), index, past


def write_crawl(spec: CrawlSpec, out: TextIO) -> dict:
    """Write the batch to ``out``; return how many lines of each kind it holds."""
    counts = dict.fromkeys(
        ("lines", "articles", "duplicates", "recrawls", "junk", "carried", "syndicated"), 0
    )
    names = {"article": "articles", "duplicate": "duplicates", "recrawl": "recrawls"}
    for (kind, *_), line in zip(_plan(spec), generate_crawl(spec), strict=True):
        out.write(line + "\n")
        counts["lines"] += 1
        counts[names.get(kind, kind)] += 1
    return counts
