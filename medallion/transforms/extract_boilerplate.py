"""Boilerplate pruning for main-content extraction: drops what is never article text before blocks are
scored -- scripts, styles, forms, navigation, headers, footers, asides, hidden elements, and elements whose
class, id or role names page furniture (menu, share, cookie, related, comments...) -- unless a class names
the article or the element holds most of the page's prose.
"""

from __future__ import annotations

import functools
import re

from lxml import etree

from medallion.transforms.extract_parsing import collapse_spaces

DROP_TAGS = (
    "script",
    "style",
    "noscript",
    "iframe",
    "svg",
    "canvas",
    "template",
    "button",
    "input",
    "select",
    "textarea",
    "nav",
    "footer",
    "aside",
    "menu",
    "dialog",
    "object",
    "embed",
    "video",
    "audio",
    "map",
    "picture",
    "img",
    "figure",
    "form",
    "header",
    "link",
    "meta",
    "head",
)
# Tokens of class and id values that name page furniture, not article text.
BOILERPLATE = re.compile(
    r"(?:^|[-_\s])(?:nav|navbar|navigation|menu|footer|sidebar|side-?bar|share|sharing|social|related|"
    r"recommend\w*|comments?|cookies?|consent|gdpr|newsletter|subscribe|subscription|signup|sign-up|promo|"
    r"advert\w*|ads?|ad-?slot|sponsor\w*|breadcrumbs?|popup|modal|banner|widget|tags|tag-?list|byline|"
    r"author-?(?:bio|info|box)|masthead|toolbar|pagination|pager|most-?(?:read|popular)|trending|outbrain|"
    r"taboola|paywall|skip|print-?only|visually-?hidden|sr-only|caption|credits?|disclaimer|"
    r"more-?(?:stories|articles)|read-?more|also-?read|next-?up|teaser|carousel|slideshow|gallery|"
    r"toc|table-?of-?contents|rating|inline-?ad|dfp|newsletter-?signup|app-?promo|login|meta)(?:$|[-_\s\d])",
    re.IGNORECASE,
)
# A class or id naming the article protects the element from the boilerplate rule.
ARTICLE_HINT = re.compile(
    r"article[-_]?(?:body|content|text)|story[-_]?(?:body|content|text)|entry[-_]?content|post[-_]?(?:body|content)|"
    r"main[-_]?content|articlebody|body[-_]?text|rich[-_]?text|paywall[-_]?content",
    re.IGNORECASE,
)
BOILERPLATE_ROLES = frozenset(
    ("navigation", "banner", "contentinfo", "complementary", "menu", "menubar", "search", "dialog", "alert")
)
HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)


def _is_boilerplate(el) -> bool:
    attrib = el.attrib
    if not attrib:
        return False
    return _names_boilerplate(
        attrib.get("class", ""),
        attrib.get("id", ""),
        attrib.get("role", ""),
        attrib.get("style", ""),
        "hidden" in attrib or attrib.get("aria-hidden", "").lower() == "true",
    )


@functools.lru_cache(maxsize=8192)
def _names_boilerplate(cls: str, ident: str, role: str, style: str, hidden: bool) -> bool:
    """Cached: pages repeat the same class names on many elements."""
    if hidden or role.lower() in BOILERPLATE_ROLES:
        return True
    names = f"{cls} {ident}"
    if names.strip():
        if ARTICLE_HINT.search(names):
            return False
        if BOILERPLATE.search(names):
            return True
    return bool(style and HIDDEN_STYLE.search(style))


def prune(body) -> None:
    # Forms and headers sometimes wrap a whole page (ASP.NET, some CMS): drop them only when small.
    for el in list(body.iter(*DROP_TAGS)):
        if el.tag in ("form", "header") and len(collapse_spaces(" ".join(el.itertext()))) > 2000:
            el.tag = "div"
            continue
        _drop(el)
    page = None
    doomed = []
    walker = etree.iterwalk(body, events=("start",))
    for _event, el in walker:
        if el is body or not isinstance(el.tag, str) or not _is_boilerplate(el):
            continue
        if page is None:
            page = (len(collapse_spaces(" ".join(body.itertext()))), _paragraph_chars(body))
        if not _holds_the_page(el, *page):
            doomed.append(el)
            walker.skip_subtree()  # its descendants go with it
    for el in doomed:
        _drop(el)


def _paragraph_chars(el) -> int:
    return sum(len(collapse_spaces(" ".join(p.itertext()))) for p in el.iter("p"))


def _holds_the_page(el, page_chars: int, page_paragraph_chars: int) -> bool:
    """A layout wrapper whose name happens to say 'sidebar' or 'widget' but holds most of the page's prose."""
    if page_paragraph_chars >= 200 and _paragraph_chars(el) >= 0.5 * page_paragraph_chars:
        return True
    chars = len(collapse_spaces(" ".join(el.itertext())))
    if chars < 0.4 * page_chars or chars < 500:
        return False
    link = sum(len(collapse_spaces(" ".join(a.itertext()))) for a in el.iter("a"))
    return link < 0.3 * chars


def _drop(el) -> None:
    """Remove an element but keep its tail text, which belongs to the parent."""
    parent = el.getparent()
    if parent is None:
        return
    tail = el.tail
    if tail and tail.strip():
        previous = el.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(el)
