"""The synthetic crawl's five fictional sites and their HTML page templates: semantic ``<article>``, div
soup, a blog with a sidebar, inline scripts and JSON-LD, ``itemprop=articleBody``. ``render`` wraps an
article in its site's template with real-world boilerplate around it: header, navigation, breadcrumb,
cookie banner, share buttons, related links, newsletter box, comments teaser, footer.
"""

from __future__ import annotations

import html
import json
import random
from dataclasses import dataclass
from datetime import datetime

from medallion.demo.vocabulary import CATEGORIES, TITLE_TEMPLATES, fill_template


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
class Article:
    index: int
    site: Site
    category: str
    language: str
    url: str
    title: str
    paragraphs: tuple[str, ...]
    crawled: datetime


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
            parts.append(
                f"<h2>{html.escape(fill_template('What the {kw} means for {place}', rng, a.category))}</h2>"
            )
        if i == 4 and rng.random() < 0.4 and a.language == "en":
            items = "".join(
                f"<li>{html.escape(fill_template('{Kw} and {kw2}', rng, a.category))}</li>" for _ in range(3)
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
        [fill_template(rng.choice(TITLE_TEMPLATES), rng, rng.choice(CATEGORIES)) for _ in range(6)], s.host
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
