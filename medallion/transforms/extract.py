"""Main-content extraction with lxml: the article's title and body text, without the site around it.

The algorithm, top to bottom:

1. Parse with libxml2's forgiving HTML parser; read title, description, language and charset from the head.
2. Prune what is never content: scripts, styles, forms, navigation, headers, footers, asides, hidden
   elements, and elements whose class or id names boilerplate (menu, share, cookie, related, comments...).
3. Cut the page into text blocks (paragraphs, headings, list items, quotes, text-bearing divs) and measure
   each one's length and link density in one bottom-up pass.
4. Score containers the way Readability does: each prose-like block adds its weight to its parent and,
   decaying, to its ancestors. The best container, discounted by its link density, is the article;
   siblings that carry prose of the same kind join it (articles split over several containers).
5. Emit the article's blocks in document order, dropping link lists, tiny fragments and trailing
   boilerplate lines.

Every traversal is iterative, so pathological nesting cannot exhaust the Python stack; libxml2 itself
stops at 256 levels and the page is then rejected as ``too-deep``.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from lxml import etree

LIBXML_MAX_DEPTH = 256


class ExtractionError(ValueError):
    """The page cannot be extracted; ``reason`` is a machine-readable slug."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(detail or reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Extraction:
    title: str
    content: str
    description: str
    language_hint: str
    charset: str


# -- what is never content --------------------------------------------------------------------------------

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

BLOCK_TAGS = frozenset(
    (
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
        "figcaption",
        "center",
        "body",
        "html",
        "address",
        "details",
        "summary",
        "hr",
    )
)
LINE_BREAK = "\x00"  # a <br> inside a block; NUL never survives from the input
PROSE_TAGS = frozenset(
    (
        "p",
        "pre",
        "blockquote",
        "li",
        "dd",
        "td",
        "div",
        "section",
        "article",
        "main",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
    )
)
HEADINGS = frozenset(("h2", "h3", "h4", "h5", "h6"))

SPACE = re.compile(r"\s+")
SENTENCE_END = re.compile(r"[.!?…:\"”’)]\s*$")
CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)
TITLE_SEPARATORS = re.compile(r"\s+(?:[|–—·•:»/\\]|-{1,2})\s+")

_PARSER = etree.HTMLParser(
    remove_comments=True,
    remove_pis=True,
    no_network=True,
    recover=True,
    encoding="utf-8",
    default_doctype=False,
)


def _parse(html: str | bytes):
    data = html if isinstance(html, bytes) else html.encode("utf-8", "replace")
    try:
        root = etree.fromstring(data, _PARSER)
    except (etree.ParserError, ValueError) as exc:
        raise ExtractionError("unparseable-html", f"the HTML cannot be parsed: {exc}") from exc
    if any("Excessive depth" in str(err.message) for err in _PARSER.error_log):
        raise ExtractionError("too-deep", f"elements nest deeper than {LIBXML_MAX_DEPTH} levels")
    if root is None:
        raise ExtractionError("unparseable-html", "the HTML holds no elements")
    return root


def _text(value: str | None) -> str:
    return " ".join(value.split()) if value else ""


def _attr(el, name: str) -> str:
    value = el.get(name)
    return value if isinstance(value, str) else ""


# -- metadata ---------------------------------------------------------------------------------------------


def _metadata(root) -> tuple[str, str, str, str, str]:
    """(html title, og/twitter title, description, language, charset) from the head."""
    html_title = og_title = description = og_description = charset = ""
    for el in root.iter("title", "meta"):
        if el.tag == "title":
            html_title = html_title or _text(el.text)
            continue
        name = (_attr(el, "name") or _attr(el, "property") or _attr(el, "itemprop")).lower()
        content = _text(_attr(el, "content"))
        if name in ("og:title", "twitter:title", "headline") and not og_title:
            og_title = content
        elif name == "description" and not description:
            description = content
        elif name in ("og:description", "twitter:description") and not og_description:
            og_description = content
        if _attr(el, "charset") and not charset:
            charset = _attr(el, "charset").strip().lower()
        elif _attr(el, "http-equiv").lower() == "content-type" and not charset:
            match = CHARSET.search(_attr(el, "content"))
            charset = match.group(1).lower() if match else ""
    language = _attr(root, "lang") or _attr(root, "xml:lang")
    if not language:
        for el in root.iter("meta"):
            if _attr(el, "http-equiv").lower() == "content-language":
                language = _attr(el, "content")
                break
    language = re.split(r"[-_,;\s]", language.strip().lower(), maxsplit=1)[0] if language.strip() else ""
    return html_title, og_title, description or og_description, language, charset


def _headline(root, html_title: str, og_title: str) -> str:
    """The article headline: og:title or an <h1> that agrees with <title>, else <title> without its suffix."""
    h1s = [_text("".join(h.itertext())) for h in root.iter("h1")]
    h1s = [h for h in h1s if h]
    folded = html_title.casefold()
    for h1 in h1s:
        if h1.casefold() in folded or (og_title and h1.casefold() == og_title.casefold()):
            return h1
    if og_title and (og_title.casefold() in folded or not html_title):
        return og_title
    if html_title:
        parts = TITLE_SEPARATORS.split(html_title)
        if len(parts) > 1:
            # The site name is the short side; the headline is the longest part.
            return max(parts, key=len).strip()
        return html_title
    return og_title or (h1s[0] if h1s else "")


# -- pruning ----------------------------------------------------------------------------------------------


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


def _prune(body) -> None:
    # Forms and headers sometimes wrap a whole page (ASP.NET, some CMS): drop them only when small.
    for el in list(body.iter(*DROP_TAGS)):
        if el.tag in ("form", "header") and len(_text(" ".join(el.itertext()))) > 2000:
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
            page = (len(_text(" ".join(body.itertext()))), _paragraph_chars(body))
        if not _holds_the_page(el, *page):
            doomed.append(el)
            walker.skip_subtree()  # its descendants go with it
    for el in doomed:
        _drop(el)


def _paragraph_chars(el) -> int:
    return sum(len(_text(" ".join(p.itertext()))) for p in el.iter("p"))


def _holds_the_page(el, page_chars: int, page_paragraph_chars: int) -> bool:
    """A layout wrapper whose name happens to say 'sidebar' or 'widget' but holds most of the page's prose."""
    if page_paragraph_chars >= 200 and _paragraph_chars(el) >= 0.5 * page_paragraph_chars:
        return True
    chars = len(_text(" ".join(el.itertext())))
    if chars < 0.4 * page_chars or chars < 500:
        return False
    link = sum(len(_text(" ".join(a.itertext()))) for a in el.iter("a"))
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


# -- blocks -----------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Block:
    el: object
    tag: str
    text: str
    link_chars: int

    @property
    def link_density(self) -> float:
        return self.link_chars / len(self.text) if self.text else 1.0


def _blocks(body) -> list[Block]:
    """Text blocks in document order: each block element's own text, nested blocks excluded.

    One iterative walk (libxml2's iterwalk): an open block collects the text of its inline descendants
    and the tails that follow them; a nested block starts a block of its own.
    """
    slots: list[Block | None] = []
    open_blocks: list[tuple[int, list[str], list[int]]] = []  # (slot, text parts, [link chars])
    link_depth = 0
    for event, el in etree.iterwalk(body, events=("start", "end")):
        tag = el.tag if isinstance(el.tag, str) else ""
        if event == "start":
            if tag in BLOCK_TAGS:
                slots.append(None)
                open_blocks.append((len(slots) - 1, [], [0]))
            if tag == "a":
                link_depth += 1
            elif tag == "br" and open_blocks:
                open_blocks[-1][1].append(LINE_BREAK)
            if el.text and open_blocks and tag:
                _add(open_blocks[-1], el.text, link_depth)
            continue
        if tag == "a":
            link_depth -= 1
        if tag in BLOCK_TAGS:
            slot, parts, links = open_blocks.pop()
            text = "\n".join(line for line in map(_text, "".join(parts).split(LINE_BREAK)) if line)
            slots[slot] = Block(el, tag, text, min(links[0], len(text)))
        if el.tail and open_blocks:
            _add(open_blocks[-1], el.tail, link_depth)
    return [b for b in slots if b is not None and b.text]


def _add(block: tuple[int, list[str], list[int]], text: str, link_depth: int) -> None:
    block[1].append(text)
    if link_depth:
        block[2][0] += len(text.strip())


# -- choosing the article ---------------------------------------------------------------------------------

CONTAINER_TAGS = frozenset(("div", "section", "article", "main", "td", "body", "center", "blockquote"))
DECAY = (1.0, 0.5, 0.25, 0.125)


def _prose_weight(block: Block) -> float:
    """How much a block looks like article prose: long, few links, ends like a sentence."""
    length = len(block.text)
    if block.tag in HEADINGS or block.tag == "h1" or length < 25 or block.link_density > 0.5:
        return 0.0
    weight = length * (1.0 - block.link_density)
    if not SENTENCE_END.search(block.text):
        weight *= 0.5 if length >= 120 else 0.2
    return weight + 50.0 * block.text.count(", ") ** 0.5


def _choose(body, blocks: list[Block]) -> set:
    """The elements whose blocks make up the article."""
    score: dict = {}
    text_chars: dict = {}
    link_chars: dict = {}
    prose: dict = {}
    for block in blocks:
        weight = _prose_weight(block)
        node = block.el
        while node is not None:
            text_chars[node] = text_chars.get(node, 0) + len(block.text)
            link_chars[node] = link_chars.get(node, 0) + block.link_chars
            prose[node] = prose.get(node, 0.0) + weight
            node = node.getparent()
        if not weight:
            continue
        node = block.el if block.tag in CONTAINER_TAGS else block.el.getparent()
        for factor in DECAY:
            if node is None:
                break
            score[node] = score.get(node, 0.0) + weight * factor
            node = node.getparent()
    if not score:
        return {body}

    def adjusted(node) -> float:
        total = text_chars.get(node, 0)
        density = link_chars.get(node, 0) / total if total else 0.0
        return score[node] * (1.0 - density)

    top = max(score, key=adjusted)
    # A wrapper that adds nothing (the article's only prose-bearing child) is the same article: climb it,
    # so that sibling containers one level up (an article split into columns) can join.
    parent = top.getparent()
    while parent is not None and parent.tag != "body" and prose.get(parent, 0.0) <= 1.1 * prose.get(top, 0.0):
        top, parent = parent, parent.getparent()
        score.setdefault(top, score.get(top, 0.0))
    if parent is None:
        return {top}
    chosen = {top}
    threshold = max(0.2 * adjusted(top), 60.0)
    top_class = _attr(top, "class")
    for sibling in parent:
        if sibling is top or not isinstance(sibling.tag, str):
            continue
        if (
            sibling in score
            and adjusted(sibling) >= threshold
            or top_class
            and sibling.tag == top.tag
            and _attr(sibling, "class") == top_class
            and sibling in score
        ):
            chosen.add(sibling)
        elif sibling.tag == "p" and text_chars.get(sibling, 0) >= 80:
            density = link_chars.get(sibling, 0) / text_chars[sibling]
            if density < 0.25:
                chosen.add(sibling)
    return chosen


def _emit(blocks: list[Block], chosen: set) -> str:
    inside = set()
    for node in chosen:
        inside.update(node.iter())
    kept: list[Block] = []
    seen: set[str] = set()
    for block in blocks:
        if block.el not in inside or block.tag == "h1" or block.link_density > 0.5 or block.text in seen:
            continue
        text = block.text
        if block.tag in HEADINGS:
            if len(text) > 200:
                continue
        elif block.tag != "li" and len(text) < 80 and not SENTENCE_END.search(text):
            continue  # datelines, teaser decks, "Advertisement", button labels
        seen.add(text)
        kept.append(block)
    # A heading belongs to the article only when prose follows it (not another heading: a teaser list).
    lines = [
        block.text
        for i, block in enumerate(kept)
        if block.tag not in HEADINGS or (i + 1 < len(kept) and kept[i + 1].tag not in HEADINGS)
    ]
    return "\n".join(lines)


def extract(html: str | bytes, url: str = "", *, max_depth: int = LIBXML_MAX_DEPTH) -> Extraction:
    """Title, main content, description, language hint and declared charset of one page.

    ``html`` is text, or UTF-8 bytes (what a Parquet column holds, with no decode and re-encode).
    """
    if not isinstance(html, str | bytes) or not html.strip():
        raise ExtractionError("empty-html", "the page is empty")
    root = _parse(html.replace(b"\x00", b"") if isinstance(html, bytes) else html.replace("\x00", ""))
    if max_depth < LIBXML_MAX_DEPTH:
        _check_depth(root, max_depth)
    html_title, og_title, description, language, charset = _metadata(root)
    title = _headline(root, html_title, og_title)
    body = root.find("body")
    if body is None:
        body = root
    _prune(body)
    blocks = _blocks(body)
    content = _emit(blocks, _choose(body, blocks)) if blocks else ""
    return Extraction(
        title=title, content=content, description=description, language_hint=language, charset=charset
    )


def _check_depth(root, max_depth: int) -> None:
    depth = 0
    for event, _el in etree.iterwalk(root, events=("start", "end")):
        depth += 1 if event == "start" else -1
        if depth > max_depth:
            raise ExtractionError("too-deep", f"elements nest deeper than {max_depth} levels")
