"""The Readability-style heuristic the block model reads as features: scores containers the way Readability
does (prose-like blocks add decaying weight to their ancestors), picks the best container with the sibling
containers that carry the same kind of prose, and the blocks of it that read as article text (no link
lists, fragments and stray headings). ``extract_features`` turns the result into columns.
"""

from __future__ import annotations

from dataclasses import dataclass

from medallion.transforms.extract_blocks import Block
from medallion.transforms.extract_parsing import attribute

HEADINGS = frozenset(("h2", "h3", "h4", "h5", "h6"))
SENTENCE_END = frozenset('.!?…:"”’)')


def ends_sentence(text: str) -> bool:
    """Whether the text's last character, trailing whitespace aside, ends a sentence."""
    last = text.rstrip()[-1:]
    return bool(last) and last in SENTENCE_END


# -- choosing the article ---------------------------------------------------------------------------------

CONTAINER_TAGS = frozenset(("div", "section", "article", "main", "td", "body", "center", "blockquote"))
DECAY = (1.0, 0.5, 0.25, 0.125)


def _prose_weight(block: Block) -> float:
    """How much a block looks like article prose: long, few links, ends like a sentence."""
    length = len(block.text)
    if block.tag in HEADINGS or block.tag == "h1" or length < 25 or block.link_density > 0.5:
        return 0.0
    weight = length * (1.0 - block.link_density)
    if not ends_sentence(block.text):
        weight *= 0.5 if length >= 120 else 0.2
    return weight + 50.0 * block.text.count(", ") ** 0.5


@dataclass(slots=True)
class Containers:
    """Per element: its blocks' characters, link characters and count, prose weight, and container score."""

    text_chars: dict
    link_chars: dict
    blocks: dict
    prose: dict
    score: dict

    def adjusted(self, node) -> float:
        total = self.text_chars.get(node, 0)
        density = self.link_chars.get(node, 0) / total if total else 0.0
        return self.score.get(node, 0.0) * (1.0 - density)


def containers(blocks: list[Block]) -> Containers:
    """What each ancestor of a block holds, and the Readability-style scores.

    Each element's totals are its own block's plus its children's: elements are visited once, deepest
    first (reverse document order), each adding its totals to its parent's.
    """
    stats = Containers({}, {}, {}, {}, {})
    text_chars, link_chars, count, prose, score = (
        stats.text_chars,
        stats.link_chars,
        stats.blocks,
        stats.prose,
        stats.score,
    )
    if not blocks:
        return stats
    parents: dict = {}  # every ancestor-or-self of a block -> its parent
    for block in blocks:
        weight = _prose_weight(block)
        el = block.el
        text_chars[el], link_chars[el], count[el], prose[el] = len(block.text), block.link_chars, 1, weight
        while el is not None and el not in parents:
            parents[el] = el = el.getparent()
        if not weight:
            continue
        node = block.el if block.tag in CONTAINER_TAGS else block.el.getparent()
        for factor in DECAY:
            if node is None:
                break
            score[node] = score.get(node, 0.0) + weight * factor
            node = node.getparent()
    top = blocks[0].el.getroottree().getroot()
    order = [el for el in top.iter() if el in parents]  # document order: an ancestor before its descendants
    for el in reversed(order):
        parent = parents[el]
        if parent is None:
            continue
        text_chars[parent] = text_chars.get(parent, 0) + text_chars.get(el, 0)
        link_chars[parent] = link_chars.get(parent, 0) + link_chars.get(el, 0)
        count[parent] = count.get(parent, 0) + count.get(el, 0)
        prose[parent] = prose.get(parent, 0.0) + prose.get(el, 0.0)
    return stats


def choose_article(body, blocks: list[Block], stats: Containers | None = None) -> set:
    """The elements whose blocks make up the article."""
    stats = stats or containers(blocks)
    score, text_chars, link_chars, prose = stats.score, stats.text_chars, stats.link_chars, stats.prose
    if not score:
        return {body}
    adjusted = stats.adjusted

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


def article_blocks(blocks: list[Block], chosen: set, inside: set) -> list[Block]:
    """The blocks of the chosen containers (``inside``: they and their descendants) that read as article
    text: no link lists, fragments, repeats or stray headings."""
    kept: list[Block] = []
    seen: set[str] = set()
    for block in blocks:
        if block.el not in inside or block.tag == "h1" or block.link_density > 0.5 or block.text in seen:
            continue
        text = block.text
        if block.tag in HEADINGS:
            if len(text) > 200:
                continue
        elif block.tag != "li" and len(text) < 80 and not ends_sentence(text):
            continue  # datelines, teaser decks, "Advertisement", button labels
        seen.add(text)
        kept.append(block)
    # A heading belongs to the article only when prose follows it (not another heading: a teaser list).
    return [
        block
        for i, block in enumerate(kept)
        if block.tag not in HEADINGS or (i + 1 < len(kept) and kept[i + 1].tag not in HEADINGS)
    ]
