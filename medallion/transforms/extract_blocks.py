"""Cutting a parsed page into text blocks for main-content extraction.

A block is one block element's own text (nested blocks are blocks of their own), with what the block
model needs to judge it: its link characters, its depth, and the kinds of element around it (a bit set:
inside a ``<nav>``, a list, a table, an element whose class names comments...). Everything is read in one
iterative walk, so pathological nesting cannot exhaust the Python stack.

Before the walk, what can never be text is removed: scripts, styles, embedded media, form controls, and
hidden elements.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from lxml import etree

from medallion.transforms.extract_parsing import collapse_spaces

NEVER_TEXT = (
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
    "object",
    "embed",
    "video",
    "audio",
    "map",
    "picture",
    "img",
    "link",
    "meta",
    "head",
)
CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
MAYBE_HIDDEN = etree.XPath("//*[@hidden or @aria-hidden='true' or @style]")
HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
BLOCK_TAGS = frozenset(
    [
        "p",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "li",
        "blockquote",
        "pre",
        "dd",
        "dt",
        "td",
        "th",
        "div",
        "section",
        "article",
        "main",
        "ul",
        "ol",
        "dl",
        "table",
        "tr",
        "tbody",
        "thead",
        "tfoot",
        "caption",
        "figcaption",
        "figure",
        "center",
        "body",
        "html",
        "address",
        "details",
        "summary",
        "hr",
        "header",
        "footer",
        "nav",
        "aside",
        "form",
        "fieldset",
        "legend",
        "menu",
    ]
)
LINE_BREAK = "\ue000"  # a <br> inside a block (a private-use character: lxml refuses controls)

# The kinds of element a block can sit in: one bit each.
NAV, FOOTER, ASIDE, HEADER, FORM, LIST, TABLE, ARTICLE = (1 << i for i in range(8))
BOILER, HINT, COMMENT, LINK, QUOTE, HEADING, META, TITLE = (1 << i for i in range(8, 16))
KINDS = [
    "nav",
    "footer",
    "aside",
    "header",
    "form",
    "list",
    "table",
    "article",
    "boiler-name",
    "article-name",
    "comment-name",
    "link",
    "quote",
    "heading",
    "meta-name",
    "title-name",
]
TAG_KINDS = {
    "nav": NAV,
    "menu": NAV,
    "footer": FOOTER,
    "aside": ASIDE,
    "header": HEADER,
    "form": FORM,
    "ul": LIST,
    "ol": LIST,
    "dl": LIST,
    "li": LIST,
    "table": TABLE,
    "article": ARTICLE,
    "main": ARTICLE,
    "a": LINK,
    "blockquote": QUOTE,
    "q": QUOTE,
    **{f"h{i}": HEADING for i in range(1, 7)},
}
ROLE_KINDS = {
    "navigation": NAV,
    "menu": NAV,
    "menubar": NAV,
    "contentinfo": FOOTER,
    "complementary": ASIDE,
    "banner": HEADER,
    "search": FORM,
    "main": ARTICLE,
    "article": ARTICLE,
    "heading": HEADING,
}
# Tokens of class and id values, by what they name.
NAME_KINDS = (
    (
        BOILER,
        r"nav|navbar|navigation|menu|footer|sidebar|side-?bar|share|sharing|social|related|recommend\w*|"
        r"cookies?|consent|gdpr|newsletter|subscribe|subscription|signup|promo|advert\w*|ads?|ad-?slot|"
        r"sponsor\w*|breadcrumbs?|popup|modal|banner|widget|tags?|tag-?list|masthead|toolbar|pagination|"
        r"pager|most-?(?:read|popular)|trending|outbrain|taboola|skip|login|links?|blogroll|archives?|"
        r"categories|topbar|header|copyright|legal|rss|feed|search|more-?(?:stories|articles)|read-?more|"
        r"teaser|carousel|slideshow|gallery|toc|rating|dfp",
    ),
    (
        HINT,
        r"article\w*|story\w*|entry\w*|post\w*|content\w*|main\w*|body\w*|text\w*|blog\w*|single|hentry|"
        r"news\w*|page-?content|prose|rich-?text|permalink",
    ),
    (COMMENT, r"comments?\w*|respond|reply|replies|discussion|disqus|talkback|reactions?|feedback"),
    (META, r"date\w*|time\w*|author\w*|byline\w*|posted|published|dateline|meta\w*|info|credits?|caption"),
    (TITLE, r"title\w*|headline\w*|heading\w*|subtitle|deck|dek|summary|lede|lead|intro\w*|excerpt"),
)
NAME_PATTERNS = tuple((kind, re.compile(pattern.replace("-?", ""))) for kind, pattern in NAME_KINDS)


@dataclass(slots=True)
class Block:
    el: object
    tag: str
    text: str
    link_chars: int
    depth: int
    nearest: tuple[int, ...]  # per kind (KINDS), the depth of the nearest element of it around, or -1
    own: int  # the kinds the element's own class, id and role name
    lines: int

    @property
    def link_density(self) -> float:
        return self.link_chars / len(self.text) if self.text else 1.0

    @property
    def kinds(self) -> int:
        """The kinds of the element and of every element around it, as bits."""
        return sum(1 << kind for kind, depth in enumerate(self.nearest) if depth >= 0)


NAME_TOKEN = re.compile(r"[^\W\d_]+")


@functools.lru_cache(maxsize=16384)
def name_kinds(cls: str, ident: str, role: str) -> int:
    """The kinds a class, id and role name (cached: pages repeat the same names on many elements).

    Names are read as lowercase word tokens, and each pair of neighbours joined (side-bar, sideBar...)."""
    kinds = ROLE_KINDS.get(role.lower().strip(), 0)
    tokens = NAME_TOKEN.findall(f"{cls} {ident}".lower())
    for token in (*tokens, *map(str.__add__, tokens, tokens[1:])):
        kinds |= token_kinds(token)
    return kinds


@functools.lru_cache(maxsize=16384)
def token_kinds(token: str) -> int:
    return sum(kind for kind, pattern in NAME_PATTERNS if pattern.fullmatch(token))


def remove_never_text(body) -> None:
    """Drop scripts, media, controls and hidden elements, keeping the text that follows them."""
    etree.strip_elements(body, *NEVER_TEXT, with_tail=False)
    for el in MAYBE_HIDDEN(body):
        style = el.get("style")
        if (
            el.get("hidden") is not None
            or el.get("aria-hidden") == "true"
            or HIDDEN_STYLE.search(style or "")
        ):
            _drop(el)


def _drop(el) -> None:
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


def text_blocks(body) -> list[Block]:
    """Text blocks in document order: each block element's own text, nested blocks excluded.

    Only block elements are visited (libxml2 finds them). A first pass learns each one's kinds and depth
    and which elements hold blocks; then a block's text is read by lxml in C, stepping around the blocks
    inside it (``_own_text``).
    """
    for br in body.iter("br"):
        tail = br.tail
        br.tail = LINE_BREAK + CONTROLS.sub("", tail) if tail else LINE_BREAK  # lxml refuses controls
    around: dict = {}  # block element -> (nearest, depth, own): see Block
    holders: set = set()  # elements with a block inside
    unknown = (-1,) * len(KINDS)
    tag_kinds = TAG_KINDS
    for el in body.iter(*BLOCK_TAGS):
        attrib = el.attrib
        own = (
            name_kinds(attrib.get("class", ""), attrib.get("id", ""), attrib.get("role", "")) if attrib else 0
        )
        kinds = tag_kinds.get(el.tag, 0) | own
        between, parent, known = [], el.getparent(), None
        while parent is not None:  # up to the nearest block, through the inline elements between
            holders.add(parent)
            known = around.get(parent)
            if known is not None:
                break
            between.append(_kinds_of(parent))
            parent = parent.getparent()
        depth = (known[1] + 1 if known else 0) + len(between)
        if known is not None and not between and not kinds:  # the common case: nothing new around it
            around[el] = (known[0], depth, own)
            continue
        nearest = list(known[0]) if known else list(unknown)
        for level, between_kinds in enumerate(reversed(between), start=depth - len(between)):
            _mark(nearest, between_kinds, level)
        _mark(nearest, kinds, depth)
        around[el] = (tuple(nearest), depth, own)
    blocks: list[Block] = []
    for el, (nearest, depth, own) in around.items():
        raw, links = _own_text(el, holders)
        if LINE_BREAK in raw:
            lines = [line for line in map(collapse_spaces, raw.split(LINE_BREAK)) if line]
            if lines:
                text = "\n".join(lines)
                blocks.append(Block(el, el.tag, text, min(links, len(text)), depth, nearest, own, len(lines)))
        else:
            text = " ".join(raw.split())
            if text:
                blocks.append(Block(el, el.tag, text, min(links, len(text)), depth, nearest, own, 1))
    return blocks


def _mark(nearest: list[int], kinds: int, depth: int) -> None:
    while kinds:
        low = kinds & -kinds
        nearest[low.bit_length() - 1] = depth
        kinds ^= low


def _kinds_of(el) -> int:
    if not isinstance(el.tag, str):
        return 0
    attrib = el.attrib
    own = name_kinds(attrib.get("class", ""), attrib.get("id", ""), attrib.get("role", "")) if attrib else 0
    return own | TAG_KINDS.get(el.tag, 0)


def enclosing_link(el):
    """The nearest ``<a>`` around an element, or None."""
    parent = el.getparent()
    while parent is not None and parent.tag != "a":
        parent = parent.getparent()
    return parent


def text_chars(el) -> int:
    """The characters of all the text inside an element, its spaces collapsed as a block's are."""
    return len(collapse_spaces(_text_of(el)))


def _text_of(el) -> str:
    """All the text inside an element (libxml2's text serialization: far faster than joining itertext)."""
    return etree.tostring(el, method="text", encoding=str, with_tail=False)


def _own_text(el, holders: set) -> tuple[str, int]:
    """(text, link characters) of an element without the blocks inside it (``holders``: the elements
    that have blocks inside).

    Recursion only descends through inline elements that hold blocks, so it is bounded by libxml2's
    nesting limit (256), well inside Python's.
    """
    if el not in holders:
        text = _text_of(el)
        if el.tag == "a":
            return text, len(text.strip())
        return text, sum(len(_text_of(a).strip()) for a in el.iter("a"))
    parts, links = [el.text or ""], 0
    for child in el:
        tag = child.tag
        if isinstance(tag, str) and tag not in BLOCK_TAGS:
            text, child_links = _own_text(child, holders)
            parts.append(text)
            links += child_links
        parts.append(child.tail or "")
    text = "".join(parts)
    return text, len(text.strip()) if el.tag == "a" else links
