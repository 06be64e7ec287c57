"""Choosing the article for main-content extraction: cuts the pruned page into text blocks with their link
density, scores containers the way Readability does (prose-like blocks add decaying weight to their
ancestors), picks the best container with the sibling containers that carry the same kind of prose, and
emits the chosen blocks' text in document order without link lists, fragments and stray headings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

from medallion.transforms.extract_parsing import attribute, collapse_spaces

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
HEADINGS = frozenset(("h2", "h3", "h4", "h5", "h6"))
SENTENCE_END = re.compile(r"[.!?…:\"”’)]\s*$")


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


def text_blocks(body) -> list[Block]:
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
            text = "\n".join(line for line in map(collapse_spaces, "".join(parts).split(LINE_BREAK)) if line)
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


def choose_article(body, blocks: list[Block]) -> set:
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
    top_class = attribute(top, "class")
    for sibling in parent:
        if sibling is top or not isinstance(sibling.tag, str):
            continue
        if (
            sibling in score
            and adjusted(sibling) >= threshold
            or top_class
            and sibling.tag == top.tag
            and attribute(sibling, "class") == top_class
            and sibling in score
        ):
            chosen.add(sibling)
        elif sibling.tag == "p" and text_chars.get(sibling, 0) >= 80:
            density = link_chars.get(sibling, 0) / text_chars[sibling]
            if density < 0.25:
                chosen.add(sibling)
    return chosen


def article_text(blocks: list[Block], chosen: set) -> str:
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
