"""Main-content extraction with lxml: the article's title and body text, without the site around it.

The algorithm, top to bottom, with the module that does each step:

1. Bytes of unknown encoding are decoded by their BOM, their declared charset (WHATWG labels) or, without
   a declaration, by detection (``extract_decoding``). Text, and bytes whose encoding the caller knows,
   go straight to the parser.
2. Parse with libxml2's forgiving HTML parser; read title, description, language and charset from the head
   (``extract_parsing``, ``extract_metadata``).
3. Remove what can never be text (scripts, media, controls, hidden elements) and cut the page into text
   blocks: paragraphs, headings, list items, cells, text-bearing divs (``extract_blocks``).
4. Describe every block by its text, its place in the page, the elements around it, its neighbours and the
   Readability-style container scores (``extract_features``, ``extract_article``).
5. The block model (``extract_model``, gradient-boosted trees trained on human-marked pages) says which
   blocks are main content (a block inside comment-named markup needs a higher probability than the rest);
   they are emitted in document order. Three rules stand over it. Nothing inside a landmark that surrounds
   the article is content: a navigation, a footer or a complementary part (``<nav>``, ``<menu>``,
   ``<footer>``, ``<aside>`` or their ARIA roles), where the human-marked pages hold almost no main
   content and modern pages put their teasers, deals and link lists. Nothing inside a link around a small
   part of the page is content either: a teaser card (``<a>`` around a headline and an excerpt) or a
   linked list entry. And kept text that is nearly all links is a menu, not an article. With
   ``comments=False``, a fourth: nothing inside an element whose class, id or role names comments
   (``extract_blocks``' comment-name kind) is content, so readers' comment threads are left out. A page
   the model is unsure of falls back to its likeliest blocks among those the rules allow.

Every traversal is iterative, so pathological nesting cannot exhaust the Python stack; libxml2 itself
stops at 256 levels and the page is then rejected as ``too-deep``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from medallion.transforms.extract_blocks import (
    KINDS,
    Block,
    enclosing_link,
    remove_never_text,
    text_blocks,
    text_chars,
)
from medallion.transforms.extract_decoding import decode_html
from medallion.transforms.extract_features import block_features, page_era
from medallion.transforms.extract_metadata import head_metadata, headline
from medallion.transforms.extract_model import BlockModel, shipped
from medallion.transforms.extract_parsing import LIBXML_MAX_DEPTH, ExtractionError, check_depth, parse

LINK_LIST = 0.9  # kept text that is this much link text is a list of links, not content
# The landmarks around an article: a block inside one of these (element or ARIA role) is never content.
NAV, FOOTER, ASIDE = (KINDS.index(kind) for kind in ("nav", "footer", "aside"))
COMMENT, LINK = KINDS.index("comment-name"), KINDS.index("link")
CARD_SHARE = 0.25  # a link around at most this share of the page's text is a card (see _in_cards)


@dataclass(frozen=True, slots=True)
class Extraction:
    title: str
    content: str
    description: str
    language_hint: str
    charset: str


@dataclass(slots=True)
class Page:
    """A parsed page cut into blocks, before the model judges them (what training sees too)."""

    body: object
    blocks: list[Block]
    title: str
    description: str
    language_hint: str
    charset: str
    era: tuple[float, ...]  # what kind of page it is: extract_features.page_era
    rows: np.ndarray | None = None
    context: np.ndarray | None = None

    def features(self) -> tuple[np.ndarray, np.ndarray]:
        """The blocks' feature rows (``extract_features.FEATURES``) and context, computed once."""
        if self.rows is None:
            self.rows, self.context = block_features(self.body, self.blocks, self.title, self.era)
        return self.rows, self.context


def read_page(html: str | bytes, *, encoding: str | None = None, max_depth: int = LIBXML_MAX_DEPTH) -> Page:
    """Decode, parse and cut one page into blocks.

    ``html`` is text, or bytes: in ``encoding`` when the caller knows it (``"utf-8"`` for a Parquet
    column, with no decode and re-encode), else decoded by BOM, declaration or detection.
    """
    if not isinstance(html, str | bytes) or not html.strip():
        raise ExtractionError("empty-html", "the page is empty")
    if isinstance(html, bytes) and (encoding or "").lower() not in ("utf-8", "utf8"):
        html = html.decode(encoding, "replace") if encoding else decode_html(html)[0]
    root = parse(html.replace(b"\x00", b"") if isinstance(html, bytes) else html.replace("\x00", ""))
    if max_depth < LIBXML_MAX_DEPTH:
        check_depth(root, max_depth)
    html_title, og_title, description, language, charset = head_metadata(root)
    title = headline(root, html_title, og_title)
    body = root.find("body")
    if body is None:
        body = root
    era = page_era(root, len(html), bool(og_title))
    remove_never_text(body)
    return Page(body, text_blocks(body), title, description, language, charset, era)


def extract(
    html: str | bytes,
    url: str = "",
    *,
    encoding: str | None = None,
    max_depth: int = LIBXML_MAX_DEPTH,
    model: BlockModel | None = None,
    comments: bool = True,
) -> Extraction:
    """Title, main content, description, language hint and declared charset of one page.

    ``model`` defaults to the packaged block model (``extract_model.shipped``). ``comments=False`` leaves
    readers' comments out of the content (see ``judge``).
    """
    return judge([read_page(html, encoding=encoding, max_depth=max_depth)], model, comments)[0]


def judge(pages: list[Page], model: BlockModel | None = None, comments: bool = True) -> list[Extraction]:
    """The extractions of pages already read, with one call of the model for all their blocks (a call
    costs far more than a block: judging a row group of pages at once is what makes the model cheap).

    The model keeps readers' comments where they plainly read as part of the page (as some of the corpora
    it learned from count them); ``comments=False`` drops every block inside a comment-named element.
    Nothing inside a navigation, footer or complementary landmark is content (``_in_landmark``), nor
    inside a link around a small part of the page, a teaser card (``_in_cards``)."""
    model = model or shipped()
    described = [page.features() for page in pages if page.blocks]
    keep = iter(())
    if described:
        rows = np.vstack([r for r, _ in described])
        context = np.vstack([c for _, c in described])
        number = np.repeat(np.arange(len(described)), [len(r) for r, _ in described])
        blocks = [block for page in pages for block in page.blocks]
        commented = np.array([_commented(block) for block in blocks], dtype=bool)
        landmark = np.array([_in_landmark(block) for block in blocks], dtype=bool)
        cards = np.array([card for page in pages for card in _in_cards(page)], dtype=bool)
        barred = landmark | cards | (commented & (not comments))  # never content: the rules over the model
        kept = model.keep(rows, context, number, commented, barred)
        keep = iter(np.split(kept, np.cumsum([len(r) for r, _ in described])[:-1]))
    extractions = []
    for page in pages:
        kept = next(keep) if page.blocks else ()
        chosen = [block for block, k in zip(page.blocks, kept, strict=True) if k]
        if sum(b.link_chars for b in chosen) > LINK_LIST * sum(len(b.text) for b in chosen):
            chosen = []  # only links (a menu, a list of other pages): no main content
        content = "\n".join(block.text for block in chosen)
        extractions.append(
            Extraction(
                title=page.title,
                content=content,
                description=page.description,
                language_hint=page.language_hint,
                charset=page.charset,
            )
        )
    return extractions


def _commented(block: Block) -> bool:
    """Inside comment-named markup: the model wants more of such a block, and ``comments=False`` none."""
    return block.nearest[COMMENT] >= 0


def _in_cards(page: Page) -> list[bool]:
    """Per block of the page: is it inside a link around at most ``CARD_SHARE`` of the page's text (a
    teaser card, a linked list entry)? A link around more is one left unclosed, which libxml2 lets run
    over everything after it: its blocks are the page's, for the model to judge."""
    total = sum(len(block.text) for block in page.blocks)
    shares: dict = {}  # link element -> its share of the page's text
    cards = []
    for block in page.blocks:
        link = enclosing_link(block.el) if block.nearest[LINK] >= 0 else None
        if link is not None and link not in shares:
            shares[link] = text_chars(link) / total
        cards.append(link is not None and shares[link] <= CARD_SHARE)
    return cards


def _in_landmark(block: Block) -> bool:
    """Inside a landmark around the article: never main content, however the page around it looks."""
    nearest = block.nearest
    return nearest[NAV] >= 0 or nearest[FOOTER] >= 0 or nearest[ASIDE] >= 0
