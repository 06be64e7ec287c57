"""A realistic synthetic crawl batch for the demo, the tests and the benchmarks.

Pages come from five fictional sites with different templates (semantic ``<article>``, div soup, a blog
with a sidebar, inline scripts and JSON-LD, ``itemprop=articleBody``) and real-world boilerplate around the
article: header, navigation, breadcrumb, cookie banner, share buttons, related links, newsletter box,
comments teaser, footer. Article text is built from per-category vocabulary and sentence templates, so a
keyword classifier can learn the category while no two articles read the same. The batch also carries
duplicates under URL variants, re-crawls with newer timestamps, a few pages in other languages, and junk
lines.

Everything is derived from ``(seed, index)``: the generator streams, and memory does not grow with size.
"""

from __future__ import annotations

import html
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TextIO

CATEGORIES: tuple[str, ...] = ("business", "health", "politics", "science", "sports", "technology")

CATEGORY_KEYWORDS: dict[str, tuple[str, ...]] = {
    "business": (
        "market",
        "shares",
        "investors",
        "revenue",
        "profit",
        "earnings",
        "quarter",
        "merger",
        "acquisition",
        "stock",
        "economy",
        "inflation",
        "interest rates",
        "retailer",
        "supply chain",
        "dividend",
        "forecast",
        "startup",
        "bank",
        "exports",
        "consumer spending",
        "chief executive",
    ),
    "health": (
        "patients",
        "hospital",
        "doctors",
        "vaccine",
        "treatment",
        "clinical trial",
        "disease",
        "nurses",
        "symptoms",
        "diagnosis",
        "public health",
        "infection",
        "therapy",
        "mental health",
        "diet",
        "obesity",
        "cancer",
        "surgery",
        "medication",
        "epidemic",
        "health service",
        "prescription",
    ),
    "politics": (
        "election",
        "parliament",
        "minister",
        "senate",
        "campaign",
        "voters",
        "legislation",
        "opposition",
        "coalition",
        "government",
        "policy",
        "referendum",
        "ballot",
        "lawmakers",
        "president",
        "governor",
        "bill",
        "cabinet",
        "diplomats",
        "treaty",
        "polls",
        "constitution",
    ),
    "science": (
        "researchers",
        "study",
        "scientists",
        "laboratory",
        "experiment",
        "telescope",
        "species",
        "climate",
        "genome",
        "physics",
        "molecules",
        "fossil",
        "astronomers",
        "data set",
        "journal",
        "hypothesis",
        "ecosystem",
        "particles",
        "galaxy",
        "evolution",
        "peer review",
        "observations",
    ),
    "sports": (
        "match",
        "season",
        "coach",
        "championship",
        "league",
        "goal",
        "tournament",
        "players",
        "striker",
        "victory",
        "defeat",
        "fans",
        "stadium",
        "title race",
        "transfer",
        "injury",
        "final",
        "referee",
        "points",
        "medal",
        "squad",
        "playoffs",
    ),
    "technology": (
        "software",
        "smartphone",
        "artificial intelligence",
        "chip",
        "cloud",
        "startup",
        "app",
        "cybersecurity",
        "data center",
        "processor",
        "algorithm",
        "developers",
        "platform",
        "robot",
        "semiconductor",
        "encryption",
        "update",
        "network",
        "users",
        "open source",
        "devices",
        "machine learning",
    ),
}

ENTITIES: dict[str, tuple[str, ...]] = {
    "business": (
        "Harlow Industries",
        "Meridian Bank",
        "Castell Foods",
        "Brightway Retail",
        "Orrin Capital",
        "Dunmore Logistics",
        "the central bank",
        "Pellucid Energy",
    ),
    "health": (
        "St Anselm Hospital",
        "the Ministry of Health",
        "Dr Amara Osei",
        "the Kestrel Institute",
        "Northfield Clinic",
        "the World Health Forum",
        "Professor Lena Varga",
        "Calder Pharma",
    ),
    "politics": (
        "Prime Minister Elena Marsh",
        "Senator Tom Whitfield",
        "the Liberal Alliance",
        "Governor Ray Okafor",
        "the Green Coalition",
        "the Foreign Office",
        "the National Assembly",
        "Mayor Ines Duarte",
    ),
    "science": (
        "the Halden Observatory",
        "Dr Priya Raman",
        "the Marine Biology Lab",
        "Professor Jonas Eklund",
        "the Polar Research Centre",
        "the Institute of Physics",
        "Dr Mei Tanaka",
        "the Natural History Museum",
    ),
    "sports": (
        "Riverside United",
        "coach Marco Bellini",
        "the Northern Hawks",
        "striker Leo Santos",
        "Harbour City FC",
        "captain Aisha Grant",
        "the Valley Rangers",
        "sprinter Kofi Mensah",
    ),
    "technology": (
        "Quanta Systems",
        "Lumen Labs",
        "Vertex Devices",
        "founder Sara Lindqvist",
        "Nimbus Cloud",
        "the Open Code Foundation",
        "Helix Robotics",
        "Corvid Security",
    ),
}

PLACES = (
    "London",
    "Berlin",
    "Toronto",
    "Sydney",
    "Nairobi",
    "Madrid",
    "Chicago",
    "Singapore",
    "Lyon",
    "Oslo",
)
VERBS = (
    "announced",
    "warned",
    "confirmed",
    "reported",
    "revealed",
    "unveiled",
    "defended",
    "criticised",
    "welcomed",
    "questioned",
)
ADJECTIVES = (
    "significant",
    "unexpected",
    "long-awaited",
    "controversial",
    "modest",
    "record",
    "sharp",
    "gradual",
    "major",
    "surprising",
)

TITLE_TEMPLATES = (
    "{Entity} {verb} {adj} {kw} plan in {place}",
    "{Kw} {kw2}: what {entity} said about the {adj} shift",
    "Why the {adj} {kw} matters for {place}",
    "{Entity} faces questions over {kw} and {kw2}",
    "{Kw} in {place}: {number} things to know about the {kw2}",
    "{Entity} sees {adj} rise in {kw}",
    "Inside the {adj} {kw} debate shaking {place}",
)
SENTENCES = (
    "{Entity} {verb} on {weekday} that the {kw} would change how {kw2} is handled in {place}.",
    "The {adj} move comes after months of debate about {kw} and its effect on {kw2}.",
    "According to figures released this week, {kw} rose by {number} percent compared with last year.",
    '"We have never seen {kw} like this before," said a spokesperson for {entity}.',
    "Critics argue that the focus on {kw} ignores the wider problem of {kw2}.",
    "In {place}, officials said {number} people were directly affected by the {kw} decision.",
    "Analysts expect {kw} to remain a central issue as the {kw2} develops over the coming months.",
    "{Entity} declined to comment on the {kw2}, but pointed to an earlier statement on {kw}.",
    "The report, which covered {number} cases, found a {adj} link between {kw} and {kw2}.",
    "Supporters say the {kw} will help, while others fear a {adj} impact on {kw2}.",
    "It is the {ordinal} time this year that {entity} has addressed {kw} in public.",
    "Observers in {place} described the {kw} as {adj}, noting the role of {kw2}.",
    'A source close to {entity} said the {kw} had been discussed "at length" before {weekday}.',
    "The latest data on {kw} suggests the {kw2} could take until {year} to settle.",
)
FOREIGN = {
    "fr": (
        "Le gouvernement a annoncé une nouvelle mesure pour soutenir les familles.",
        "Les habitants de la ville attendent des réponses claires depuis plusieurs mois.",
        "Selon les experts, la situation devrait s'améliorer avant la fin de l'année.",
        "Cette décision a provoqué de vives réactions dans l'opposition.",
        "Les chiffres publiés mardi montrent une hausse importante des prix.",
    ),
    "de": (
        "Die Regierung hat am Dienstag neue Maßnahmen für die Wirtschaft vorgestellt.",
        "Viele Bürger warten seit Monaten auf eine klare Entscheidung.",
        "Nach Angaben der Experten wird sich die Lage bis zum Jahresende verbessern.",
        "Die Opposition kritisierte den Vorschlag als unzureichend.",
        "Die am Montag veröffentlichten Zahlen zeigen einen deutlichen Anstieg.",
    ),
    "es": (
        "El gobierno anunció el martes un nuevo plan para apoyar a las familias.",
        "Los vecinos de la ciudad esperan respuestas claras desde hace meses.",
        "Según los expertos, la situación mejorará antes de que termine el año.",
        "La decisión provocó fuertes críticas por parte de la oposición.",
        "Las cifras publicadas el lunes muestran un aumento importante de los precios.",
    ),
}
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
ORDINALS = ("second", "third", "fourth", "fifth")
TRACKING_VARIANTS = (
    "utm_source=twitter&utm_medium=social",
    "fbclid=IwAR0x{n}",
    "gclid=Cj0K{n}",
    "utm_campaign=newsletter&utm_source=email",
    "mc_cid={n}&mc_eid=abc",
)


@dataclass(frozen=True)
class Site:
    host: str
    name: str
    style: str  # which page template renders it


SITES = (
    Site("www.daily-ledger.com", "The Daily Ledger", "semantic"),
    Site("metro-gazette.net", "Metro Gazette", "divsoup"),
    Site("techpulse.blog", "TechPulse Blog", "blog"),
    Site("www.northstar-news.org", "Northstar News", "scripted"),
    Site("the-weekly-review.co.uk", "The Weekly Review", "itemprop"),
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


@dataclass(frozen=True)
class Article:
    index: int
    site: Site
    category: str
    language: str
    url: str
    title: str
    paragraphs: tuple[str, ...]
    crawled: datetime


def _fill(template: str, rng: random.Random, category: str) -> str:
    kw, kw2 = rng.sample(CATEGORY_KEYWORDS[category], 2)
    entity = rng.choice(ENTITIES[category])
    values = {
        "kw": kw,
        "Kw": kw[0].upper() + kw[1:],
        "kw2": kw2,
        "entity": entity,
        "Entity": entity[0].upper() + entity[1:],
        "verb": rng.choice(VERBS),
        "adj": rng.choice(ADJECTIVES),
        "place": rng.choice(PLACES),
        "number": str(rng.randint(2, 95)),
        "weekday": rng.choice(WEEKDAYS),
        "ordinal": rng.choice(ORDINALS),
        "year": str(rng.randint(2027, 2031)),
    }
    return template.format(**values)


def article(spec: CrawlSpec, index: int) -> Article:
    """The ``index``-th article of the batch, the same every time."""
    rng = random.Random(f"{spec.seed}:{index}")
    site = SITES[rng.randrange(len(SITES))]
    category = CATEGORIES[rng.randrange(len(CATEGORIES))]
    language = "en"
    if rng.random() < spec.foreign_rate:
        language = rng.choice(sorted(FOREIGN))
    title = _fill(rng.choice(TITLE_TEMPLATES), rng, category)
    if language != "en":
        paragraphs = tuple(" ".join(rng.sample(FOREIGN[language], 3)) for _ in range(rng.randint(3, 6)))
        title = FOREIGN[language][rng.randrange(5)].rstrip(".")
    else:
        paragraphs = tuple(
            " ".join(_fill(rng.choice(SENTENCES), rng, category) for _ in range(rng.randint(3, 6)))
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


# -- page templates ---------------------------------------------------------------------------------------

NAV_ITEMS = (
    "Home",
    "World",
    "Business",
    "Politics",
    "Technology",
    "Science",
    "Health",
    "Sports",
    "Culture",
    "Opinion",
    "Travel",
    "Video",
    "Podcasts",
    "Newsletters",
    "Subscribe",
)
FOOTER_ITEMS = (
    "About us",
    "Contact",
    "Careers",
    "Advertise",
    "Privacy policy",
    "Cookie settings",
    "Terms of use",
    "Accessibility",
    "Corrections",
    "Sitemap",
    "RSS feeds",
    "Help centre",
)
STYLE_BLOCK = (
    "<style>"
    + "".join(f".c{i}{{margin:{i}px;padding:{i % 7}px;color:#{i:03x}}}" for i in range(120))
    + "</style>"
)
SCRIPT_BLOCK = (
    "<script>"
    + "".join(f"window.__cfg{i}={{id:{i},flag:{str(i % 2 == 0).lower()}}};" for i in range(150))
    + "</script>"
)


def _links(items, host: str, cls: str = "") -> str:
    attr = f' class="{cls}"' if cls else ""
    return "".join(
        f'<li{attr}><a href="https://{host}/{i.lower().replace(" ", "-")}">{i}</a></li>' for i in items
    )


def _paragraph_html(text: str, rng: random.Random, host: str) -> str:
    escaped = html.escape(text, quote=False)
    if rng.random() < 0.25:
        words = escaped.split(" ")
        at = rng.randrange(len(words))
        words[at] = f'<a href="https://{host}/tag/{rng.randrange(999)}">{words[at]}</a>'
        escaped = " ".join(words)
    return f"<p>{escaped}</p>"


def _body(a: Article, rng: random.Random) -> str:
    parts = []
    for i, text in enumerate(a.paragraphs):
        parts.append(_paragraph_html(text, rng, a.site.host))
        if i == 2 and len(a.paragraphs) > 6 and a.language == "en":
            parts.append(f"<h2>{html.escape(_fill('What the {kw} means for {place}', rng, a.category))}</h2>")
        if i == 4 and rng.random() < 0.4 and a.language == "en":
            items = "".join(
                f"<li>{html.escape(_fill('{Kw} and {kw2}', rng, a.category))}</li>" for _ in range(3)
            )
            parts.append(f"<ul>{items}</ul>")
    return "\n".join(parts)


def render(a: Article, updated: bool = False) -> str:
    """The full HTML page of an article, in its site's template."""
    rng = random.Random(f"page:{a.url}:{updated}")
    s = a.site
    title = html.escape(a.title)
    body = _body(a, rng)
    if updated:
        body += "\n<p><em>Update: this article has been updated with further reaction and details.</em></p>"
    related = _links(
        [_fill(rng.choice(TITLE_TEMPLATES), rng, rng.choice(CATEGORIES)) for _ in range(6)], s.host
    )
    nav = f'<nav class="main-nav"><ul>{_links(NAV_ITEMS, s.host)}</ul></nav>'
    footer = f'<footer class="site-footer"><ul>{_links(FOOTER_ITEMS, s.host)}</ul><p>© 2026 {s.name}. All rights reserved.</p></footer>'
    cookie = (
        '<div id="cookie-banner" class="cookie-consent"><p>We use cookies to improve your experience and for '
        'advertising. <a href="/privacy">Learn more</a></p><button>Accept all</button><button>Reject</button></div>'
    )
    share = (
        '<div class="share-buttons"><a href="#">Share on Facebook</a><a href="#">Share on X</a>'
        '<a href="#">Email</a><a href="#">Copy link</a></div>'
    )
    newsletter = (
        '<div class="newsletter-signup"><h3>Get the morning briefing</h3><form><input type="email" '
        'placeholder="Your email"><button>Sign up</button></form></div>'
    )
    byline = (
        f'<p class="byline">By {rng.choice(("Anna Kowalski", "James Reid", "Fatima Zahra", "Luis Ortega"))}'
        f" · {a.crawled:%d %B %Y}</p>"
    )
    desc = html.escape(a.paragraphs[0][:150], quote=True)
    head = (
        f'<head><meta charset="utf-8"><title>{title} | {s.name}</title>'
        f'<meta name="description" content="{desc}"><meta property="og:title" content="{html.escape(a.title, quote=True)}">'
        f'<meta name="viewport" content="width=device-width">{STYLE_BLOCK}</head>'
    )
    breadcrumb = f'<div class="breadcrumb"><a href="/">Home</a> › <a href="/{a.category}">{a.category.title()}</a></div>'
    comments = '<section class="comments"><h3>Comments (12)</h3><p>Join the conversation. <a href="#">Log in</a></p></section>'
    header = f'<header class="site-header"><a class="logo" href="/">{s.name}</a>{nav}</header>'
    if s.style == "semantic":
        main = (
            f'<main><article><h1>{title}</h1>{byline}{share}<div class="article-body">{body}</div></article>'
            f'<section class="related"><h3>Related</h3><ul>{related}</ul></section>{newsletter}</main>'
        )
    elif s.style == "divsoup":
        main = (
            f'<div id="wrapper"><div class="row"><div class="col main-col"><div class="headline-wrap"><h1 class="hl">{title}</h1></div>'
            f'{byline}<div class="story-body"><div class="txt">{body}</div></div>{share}</div>'
            f'<div class="col side-col"><div class="most-read"><h3>Most read</h3><ol>{related}</ol></div></div></div></div>'
        )
    elif s.style == "blog":
        main = (
            f'<div class="container"><div class="post"><h1 class="entry-title">{title}</h1>{byline}'
            f'<div class="entry-content">{body}</div><div class="tags">Tags: <a href="#">{a.category}</a></div></div>'
            f'<aside class="sidebar"><div class="widget"><h3>Recent posts</h3><ul>{related}</ul></div>{newsletter}</aside>{comments}</div>'
        )
    elif s.style == "scripted":
        jsonld = json.dumps(
            {
                "@context": "https://schema.org",
                "@type": "NewsArticle",
                "headline": a.title,
                "datePublished": a.crawled.isoformat(),
            }
        )
        main = (
            f'<script type="application/ld+json">{jsonld}</script>{SCRIPT_BLOCK}<div class="page"><h1>{title}</h1>{byline}'
            f'<div class="content">{body}</div><div class="ad-slot">Advertisement</div>{share}'
            f'<div class="related-links"><ul>{related}</ul></div></div>'
        )
    else:
        main = (
            f'<div class="layout"><h1 itemprop="headline">{title}</h1>{byline}<div itemprop="articleBody">{body}</div>'
            f'{comments}<div class="more-stories"><ul>{related}</ul></div></div>'
        )
    return (
        f'<!DOCTYPE html><html lang="{a.language}">{head}<body>{cookie}{header}{breadcrumb}{main}{footer}'
        f"{SCRIPT_BLOCK}</body></html>"
    )


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
