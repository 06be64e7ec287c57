"""Parsing a page for main-content extraction: libxml2's forgiving HTML parser, its nesting limits, the
``ExtractionError`` a rejected page raises, and the small text helpers every extraction module uses.
"""

from __future__ import annotations

import re

from lxml import etree

LIBXML_MAX_DEPTH = 256


class ExtractionError(ValueError):
    """The page cannot be extracted; ``reason`` is a machine-readable slug."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(detail or reason)
        self.reason = reason


_PARSER = etree.HTMLParser(
    remove_comments=True,
    remove_pis=True,
    no_network=True,
    recover=True,
    encoding="utf-8",
    default_doctype=False,
)


# An unclosed <title> makes libxml2 read the rest of the page as the title's text.
_SWALLOWED_TITLE_CHARS = 1000
_TITLE_START = re.compile(rb"(<title\b[^>]*>)([^<\r\n]*)", re.IGNORECASE)


def parse(html: str | bytes):
    data = html if isinstance(html, bytes) else html.encode("utf-8", "replace")
    root = _parse(data)
    title = root.find(".//title")
    if title is not None and len(title.text or "") > _SWALLOWED_TITLE_CHARS and "<" in title.text:
        # Close the title where its first line ends, and parse again.
        root = _parse(_TITLE_START.sub(rb"\1\2</title>", data, count=1))
    return root


def _parse(data: bytes):
    try:
        root = etree.fromstring(data, _PARSER)
    except (etree.ParserError, ValueError) as exc:
        raise ExtractionError("unparseable-html", f"the HTML cannot be parsed: {exc}") from exc
    if any("Excessive depth" in str(err.message) for err in _PARSER.error_log):
        raise ExtractionError("too-deep", f"elements nest deeper than {LIBXML_MAX_DEPTH} levels")
    if root is None:
        raise ExtractionError("unparseable-html", "the HTML holds no elements")
    return root


def collapse_spaces(value: str | None) -> str:
    return " ".join(value.split()) if value else ""


def attribute(el, name: str) -> str:
    value = el.get(name)
    return value if isinstance(value, str) else ""


def check_depth(root, max_depth: int) -> None:
    depth = 0
    for event, _el in etree.iterwalk(root, events=("start", "end")):
        depth += 1 if event == "start" else -1
        if depth > max_depth:
            raise ExtractionError("too-deep", f"elements nest deeper than {max_depth} levels")
