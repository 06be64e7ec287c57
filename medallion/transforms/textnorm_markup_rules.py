"""Markup-level text-normalization rules: HTML/XML tags and entities, and web and e-mail addresses.

``remove_tags`` turns leftover markup into text as a browser would lay it out (block tags become line
breaks, inline tags vanish); ``normalize_urls`` replaces addresses by a token. Each rule is registered in
``textnorm_registry`` and returns tidy text (see ``textnorm_primitives``).
"""

from __future__ import annotations

import html
import re

from medallion.transforms.textnorm_primitives import tidy
from medallion.transforms.textnorm_registry import rule

BLOCK_TAGS = frozenset(
    {
        "address",
        "article",
        "aside",
        "blockquote",
        "body",
        "br",
        "dd",
        "details",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "head",
        "header",
        "hr",
        "html",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "summary",
        "table",
        "tbody",
        "tfoot",
        "thead",
        "title",
        "tr",
        "ul",
    }
)
INLINE_TAGS = frozenset(
    {
        "a",
        "abbr",
        "b",
        "bdi",
        "bdo",
        "big",
        "cite",
        "code",
        "data",
        "del",
        "dfn",
        "em",
        "font",
        "i",
        "ins",
        "kbd",
        "mark",
        "q",
        "s",
        "samp",
        "small",
        "span",
        "strike",
        "strong",
        "sub",
        "sup",
        "time",
        "tt",
        "u",
        "var",
        "wbr",
    }
)
TAG_RE = re.compile(
    r"<(script|style)\b[^>]*>.*?</\1\s*>"  # elements whose content is not text
    r"|<!--.*?-->|<!\[CDATA\[|\]\]>|<![A-Za-z][^>]*>|<\?.*?\?>"  # comments, CDATA markers, doctype, PIs
    r"|</?([A-Za-z][\w:.-]*)(?:\s(?:[^<>\"']|\"[^\"]*\"|'[^']*')*)?/?>",  # tags, quoted attributes may hold '>'
    re.DOTALL | re.IGNORECASE,
)


def _tag_replacement(match: re.Match) -> str:
    name = (match.group(2) or "").lower()
    if name in BLOCK_TAGS:
        return "\n"  # a block boundary is a line break, as a browser renders it
    if name in INLINE_TAGS or not name:
        return ""  # "<b>bold</b>ly" is one word; comments and scripts vanish
    return " "  # unknown (XML) elements: keep the words on both sides apart


@rule(
    "remove_tags",
    "Strip HTML/XML tags, comments and script/style elements (block tags become line breaks), "
    "then decode character entities such as &amp; and &nbsp;.",
)
def remove_tags(text: str) -> str:
    if "<" in text:
        text = TAG_RE.sub(_tag_replacement, text)
    # Decoded entities are text, not markup: "&lt;b&gt;" becomes a literal "<b>" and stays.
    return tidy(html.unescape(text) if "&" in text else text)


URL_RE = re.compile(
    r"\b(?:https?://|www\.)[^\s<>\"'\u2018\u2019\u201c\u201d\u00ab\u00bb]+"
    r"|(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}\b",
    re.IGNORECASE,
)
URL_TRAILING = ".,;:!?)]}"


def _url_end(url: str) -> int:
    """Length of the address proper: a sentence's final '.' or an unbalanced ')' is not part of it."""
    end = len(url)
    while end and url[end - 1] in URL_TRAILING:
        ch = url[end - 1]
        opener = {")": "(", "]": "[", "}": "{"}.get(ch)
        if opener and url.count(opener, 0, end) >= url.count(ch, 0, end):
            break  # balanced, as in https://en.wikipedia.org/wiki/Python_(language)
        end -= 1
    return end


def _check_replacement(value: str) -> str | None:
    return "must not contain a line break" if "\n" in value else None


@rule(
    "normalize_urls",
    "Replace http(s):// and www. addresses (query strings included) and e-mail addresses "
    "by the replacement token.",
    checks={"replacement": _check_replacement},
    replacement="<url>",
)
def normalize_urls(text: str, replacement: str = "<url>") -> str:
    def replace(match: re.Match) -> str:
        url = match.group()
        end = _url_end(url)
        return replacement + url[end:]

    return tidy(URL_RE.sub(replace, text))
