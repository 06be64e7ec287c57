"""What the block model sees of each text block: one row of numbers per block.

- The block itself: length, words, link density, punctuation, digits, capitals, lines, tag, depth, position.
- What it sits in: the kinds of element around it (``extract_blocks.KINDS``) and what its own class or id
  names, its parent's and grandparent's size and link density.
- The Readability-style container scores (``extract_article``): whether the heuristic article holds the
  block, and how its best ancestor scores against the page's best container.
- The page: its size, link density and number of blocks; whether the block's text repeats or is the title.
- Its neighbours: the same few signals of the two blocks before and after it.

``FEATURES`` names the columns; the model file records them, so a model and this code never disagree.
Sizes are counts as they are, never their logarithms: trees split a count alike whatever monotonic
scale it is on, and numpy's vectorized logarithm differs in the last bit from one CPU to another, which
would move a page's blocks across a split that lies on that value.
"""

from __future__ import annotations

import re

import numpy as np

from medallion.transforms.extract_article import (
    DECAY,
    article_blocks,
    choose_article,
    containers,
    ends_sentence,
)
from medallion.transforms.extract_blocks import BOILER, COMMENT, HINT, KINDS, META, TITLE, Block

WORD = re.compile(r"\w+")
PUNCTUATION = ".;:!?"
CAPITALS = re.compile(r"[A-ZÀ-ÖØ-ÞΑ-ΩА-Я]")  # a word that starts with one of these is capitalized
TAG_GROUPS = {
    "p": 0,
    "h1": 1,
    **{f"h{i}": 2 for i in range(2, 7)},
    "li": 3,
    "td": 4,
    "th": 4,
    **dict.fromkeys(("div", "section", "article", "main", "center", "body", "html", "span"), 5),
    "pre": 6,
    "blockquote": 6,
    "dd": 7,
    "dt": 7,
}
TAG_GROUP_NAMES = ("p", "h1", "h2-h6", "li", "cell", "div", "quote", "definition", "other")
OWN_KINDS = ((BOILER, "boiler"), (HINT, "article"), (COMMENT, "comment"), (META, "meta"), (TITLE, "title"))
BASE = (
    "chars",
    "words",
    "link-density",
    "sentence-end",
    "punctuation-per-word",
    "commas-per-word",
    "digit-share",
    "capitalized-share",
    "mean-word-length",
    "lines",
    "depth",
    "position",
    "chars-before",
    *(f"levels-to-{kind}" for kind in KINDS),
    *(f"own-{name}" for _, name in OWN_KINDS),
    *(f"tag-{name}" for name in TAG_GROUP_NAMES),
    "parent-chars",
    "parent-link-density",
    "parent-blocks",
    "parent-share",
    "grandparent-chars",
    "grandparent-link-density",
    "grandparent-blocks",
    "grandparent-share",
    "in-heuristic-article",
    "ancestor-score-ratio",
    "heuristic-kept",
    "page-chars",
    "page-link-density",
    "page-blocks",
    "page-html-chars",
    "page-scripts",
    "page-semantic",
    "page-open-graph",
    "page-json-ld",
    "repeated",
    "title-overlap",
)
NEIGHBOUR_SIGNALS = ("chars", "link-density", "sentence-end", "in-heuristic-article", "heuristic-kept")
NEIGHBOUR_OFFSETS = (-2, -1, 1, 2)
FEATURES = (
    *BASE,
    *(f"{signal}@{offset:+d}" for offset in NEIGHBOUR_OFFSETS for signal in NEIGHBOUR_SIGNALS),
)
_COLUMN = {name: i for i, name in enumerate(BASE)}
assert len(BASE) == 13 + len(KINDS) + len(OWN_KINDS) + len(TAG_GROUP_NAMES) + 8 + 3 + 3 + 5 + 2
_NEIGHBOUR_COLUMNS = [_COLUMN[name] for name in NEIGHBOUR_SIGNALS]
TITLE_LIKE_CHARS = 300  # longer blocks are never the title: their overlap with it is not computed
FAR = 64.0  # levels to a kind of element that is nowhere around

# Character classes, one bit each, looked up per code point (a table for the common ones).
DIGIT_BIT, PUNCTUATION_BIT, SPACE_BIT, CAPITAL_BIT, COMMA_BIT = 1, 2, 4, 8, 16
TABLE_SIZE = 0x3100  # past every whitespace character, Latin, Greek and Cyrillic


def _char_class(char: str) -> int:
    return (
        (DIGIT_BIT if char.isdecimal() else 0)  # what the regex \d matches
        | (PUNCTUATION_BIT if char in PUNCTUATION else 0)
        | (SPACE_BIT if char.isspace() else 0)  # what \s matches
        | (CAPITAL_BIT if CAPITALS.fullmatch(char) else 0)
        | (COMMA_BIT if char == "," else 0)
    )


CHAR_CLASSES = np.array([_char_class(chr(code)) for code in range(TABLE_SIZE)], dtype=np.uint8)


def char_counts(texts: list[str]) -> np.ndarray:
    """Per text: (punctuation marks, commas, digits, capitalized words), counted for all texts at once
    over their code points. A word is capitalized when a capital follows whitespace or the text's start."""
    joined = "".join(texts)
    codes = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
    classes = CHAR_CLASSES[np.minimum(codes, TABLE_SIZE - 1)]
    rare = np.flatnonzero(codes >= TABLE_SIZE)
    if len(rare):
        distinct, where = np.unique(codes[rare], return_inverse=True)
        classes[rare] = np.array([_char_class(chr(code)) for code in distinct], dtype=np.uint8)[where.ravel()]
    starts = np.cumsum([0, *map(len, texts[:-1])])
    after_space = np.empty(len(codes), dtype=bool)
    after_space[0] = True
    after_space[1:] = (classes[:-1] & SPACE_BIT) > 0
    after_space[starts] = True
    capitalized = after_space & ((classes & CAPITAL_BIT) > 0)
    bits = [(classes & bit) > 0 for bit in (PUNCTUATION_BIT, COMMA_BIT, DIGIT_BIT)]
    return np.column_stack([np.add.reduceat(flags, starts) for flags in (*bits, capitalized)])


SEMANTIC_TAGS = ("article", "main", "nav", "header", "footer", "section", "aside", "figure", "time")


def page_era(root, html_chars: int, open_graph: bool) -> tuple[float, ...]:
    """What kind of page this is, before scripts are removed: its size, scripts, HTML5 sectioning,
    Open Graph and JSON-LD. Pages of one era and kind mark their main content alike."""
    scripts = json_ld = 0
    for el in root.iter("script"):
        scripts += 1
        json_ld += (el.get("type") or "").lower() == "application/ld+json"
    semantic = sum(1 for _ in root.iter(*SEMANTIC_TAGS))
    return (
        float(html_chars),
        float(scripts),
        float(semantic),
        1.0 if open_graph else 0.0,
        1.0 if json_ld else 0.0,
    )


def block_features(
    body, blocks: list[Block], title: str = "", era: tuple[float, ...] = (0.0,) * 5
) -> np.ndarray:
    """The feature matrix of a page's blocks: one row per block, the columns ``FEATURES``.

    One Python pass gathers each block's counts; numpy turns them into the columns.
    """
    n = len(blocks)
    if not n:
        return np.zeros((0, len(FEATURES))), np.zeros((0, 3))
    stats = containers(blocks)
    chosen = choose_article(body, blocks, stats)
    inside: set = set()
    for node in chosen:
        inside.update(node.iter())
    kept = {id(block) for block in article_blocks(blocks, chosen, inside)}
    scores = {node: stats.adjusted(node) for node in stats.score}
    top = max(scores.values(), default=0.0) or 1.0
    title_words = set(WORD.findall(title.lower()))
    seen: dict[str, int] = {}
    for block in blocks:
        seen[block.text] = seen.get(block.text, 0) + 1
    text_chars, link_chars, counts = stats.text_chars, stats.link_chars, stats.blocks
    counted = []
    groups: dict = {}  # parent and grandparent elements, numbered
    context = []
    for block in blocks:
        text = block.text
        chars = len(text)
        words = len(text.split())
        el = block.el
        parent = el.getparent()
        grandparent = parent.getparent() if parent is not None else None
        context.append(
            (chars, groups.setdefault(parent, len(groups)), groups.setdefault(grandparent, len(groups)))
        )
        node, best = el, 0.0
        for _ in DECAY:
            if node is None:
                break
            best = max(best, scores.get(node, 0.0))
            node = node.getparent()
        overlap = 0.0
        if title_words and chars <= TITLE_LIKE_CHARS:
            block_words = set(WORD.findall(text.lower()))
            overlap = len(block_words & title_words) / (len(block_words) or 1)
        counted.append(
            (
                chars,
                words,
                block.link_chars,
                1.0 if ends_sentence(text) else 0.0,
                block.lines,
                block.depth,
                block.own,
                TAG_GROUPS.get(block.tag, 8),
                text_chars.get(parent, chars),
                link_chars.get(parent, block.link_chars),
                counts.get(parent, 1),
                text_chars.get(grandparent, chars),
                link_chars.get(grandparent, block.link_chars),
                counts.get(grandparent, 1),
                1.0 if el in inside else 0.0,
                best / top,
                1.0 if id(block) in kept else 0.0,
                1.0 if seen[text] > 1 else 0.0,
                overlap,
            )
        )
    c = np.array(counted, dtype=np.float64)
    c = np.hstack([c[:, :4], char_counts([block.text for block in blocks]), c[:, 4:]])
    chars, words, links = c[:, 0], c[:, 1], c[:, 2]
    per_word = np.maximum(words, 1.0)
    page_chars, page_links = chars.sum(), links.sum()
    own = c[:, 10].astype(np.int64)
    depth = c[:, 9][:, None]
    nearest = np.array([block.nearest for block in blocks], dtype=np.float64)
    levels = np.where(nearest >= 0, depth - nearest, FAR)  # how far up the nearest element of each kind is
    columns = [
        chars,
        words,
        links / chars,
        c[:, 3],
        c[:, 4] / per_word,
        c[:, 5] / per_word,
        c[:, 6] / chars,
        c[:, 7] / per_word,
        chars / per_word,
        c[:, 8],
        c[:, 9],
        np.arange(n) / n,
        (np.cumsum(chars) - chars) / page_chars,
        *levels.T,
        *(((own & bit) > 0).astype(np.float64) for bit, _ in OWN_KINDS),
        *((c[:, 11] == group).astype(np.float64) for group in range(len(TAG_GROUP_NAMES))),
    ]
    for held, held_links, held_blocks in ((c[:, 12], c[:, 13], c[:, 14]), (c[:, 15], c[:, 16], c[:, 17])):
        columns += [
            held,
            held_links / np.maximum(held, 1.0),
            held_blocks,
            held / page_chars,
        ]
    columns += [c[:, 18], c[:, 19], c[:, 20]]
    columns += [np.full(n, value) for value in (page_chars, page_links / page_chars, float(n), *era)]
    columns += [c[:, 21], c[:, 22]]
    rows = np.column_stack(columns)
    signals = rows[:, _NEIGHBOUR_COLUMNS]
    edge = np.full((2, len(_NEIGHBOUR_COLUMNS)), -1.0)
    padded = np.vstack([edge, signals, edge])
    rows = np.hstack([rows, *(padded[2 + offset : 2 + offset + n] for offset in NEIGHBOUR_OFFSETS)])
    return rows, np.array(context, dtype=np.float64)


CONTEXT = (
    "probability",
    *(f"probability@{offset:+d}" for offset in NEIGHBOUR_OFFSETS),
    "parent-probability",
    "grandparent-probability",
    "page-probability",
    "page-max-probability",
    "share-of-max-probability",
)


def context_features(probability: np.ndarray, context: np.ndarray, page: np.ndarray) -> np.ndarray:
    """The second look's columns (``CONTEXT``): what the first look thought of each block, of its
    neighbours, of the blocks that share its parent or grandparent, and of its page.

    ``context`` holds each block's (characters, parent number, grandparent number) as ``block_features``
    gives them, ``page`` each block's page number: blocks of many pages can be judged at once.
    """
    n = len(probability)
    chars = context[:, 0]
    columns = [probability]
    for offset in NEIGHBOUR_OFFSETS:
        shifted = np.full(n, -1.0)
        source = np.arange(n) + offset
        inside = (source >= 0) & (source < n)
        same = np.zeros(n, dtype=bool)
        same[inside] = page[source[inside]] == page[inside]
        shifted[same] = probability[source[same]]
        columns.append(shifted)
    for column in (1, 2):
        _, group = np.unique(np.column_stack([page, context[:, column]]), axis=0, return_inverse=True)
        columns.append(_weighted_mean(probability, chars, group.ravel()))
    _, pages = np.unique(page, return_inverse=True)
    pages = pages.ravel()
    page_mean = _weighted_mean(probability, chars, pages)
    page_max = np.maximum.reduceat(probability, np.r_[0, np.flatnonzero(np.diff(pages)) + 1])[pages]
    columns += [page_mean, page_max, probability / np.maximum(page_max, 1e-9)]
    return np.column_stack(columns)


def _weighted_mean(values: np.ndarray, weights: np.ndarray, group: np.ndarray) -> np.ndarray:
    total = np.bincount(group, weights=values * weights)
    return (total / np.maximum(np.bincount(group, weights=weights), 1e-9))[group]
