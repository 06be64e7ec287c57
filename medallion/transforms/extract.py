"""Main-content extraction with lxml: the article's title and body text, without the site around it.

The algorithm, top to bottom, with the module that does each step:

1. Parse with libxml2's forgiving HTML parser; read title, description, language and charset from the head
   (``extract_parsing``, ``extract_metadata``).
2. Prune what is never content: scripts, styles, forms, navigation, headers, footers, asides, hidden
   elements, and elements whose class or id names boilerplate (menu, share, cookie, related, comments...)
   (``extract_boilerplate``).
3. Cut the page into text blocks (paragraphs, headings, list items, quotes, text-bearing divs) and measure
   each one's length and link density in one bottom-up pass (``extract_article``, as are 4 and 5).
4. Score containers the way Readability does: each prose-like block adds its weight to its parent and,
   decaying, to its ancestors. The best container, discounted by its link density, is the article;
   siblings that carry prose of the same kind join it (articles split over several containers).
5. Emit the article's blocks in document order, dropping link lists, tiny fragments and trailing
   boilerplate lines.

Every traversal is iterative, so pathological nesting cannot exhaust the Python stack; libxml2 itself
stops at 256 levels and the page is then rejected as ``too-deep``.
"""

from __future__ import annotations

from dataclasses import dataclass

from medallion.transforms.extract_article import article_text, choose_article, text_blocks
from medallion.transforms.extract_boilerplate import prune
from medallion.transforms.extract_metadata import head_metadata, headline
from medallion.transforms.extract_parsing import LIBXML_MAX_DEPTH, ExtractionError, check_depth, parse


@dataclass(frozen=True, slots=True)
class Extraction:
    title: str
    content: str
    description: str
    language_hint: str
    charset: str


def extract(html: str | bytes, url: str = "", *, max_depth: int = LIBXML_MAX_DEPTH) -> Extraction:
    """Title, main content, description, language hint and declared charset of one page.

    ``html`` is text, or UTF-8 bytes (what a Parquet column holds, with no decode and re-encode).
    """
    if not isinstance(html, str | bytes) or not html.strip():
        raise ExtractionError("empty-html", "the page is empty")
    root = parse(html.replace(b"\x00", b"") if isinstance(html, bytes) else html.replace("\x00", ""))
    if max_depth < LIBXML_MAX_DEPTH:
        check_depth(root, max_depth)
    html_title, og_title, description, language, charset = head_metadata(root)
    title = headline(root, html_title, og_title)
    body = root.find("body")
    if body is None:
        body = root
    prune(body)
    blocks = text_blocks(body)
    content = article_text(blocks, choose_article(body, blocks)) if blocks else ""
    return Extraction(
        title=title, content=content, description=description, language_hint=language, charset=charset
    )
