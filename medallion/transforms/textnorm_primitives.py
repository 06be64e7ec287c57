"""Building blocks shared by the text-normalization rules: the whitespace contract, deletion and words.

Whitespace contract, shared by every rule: the output is *tidy* -- runs of spaces and tabs become one space,
lines carry no leading or trailing spaces, paragraph breaks (``\\n``) stay with at most one blank line
between paragraphs, and the ends are stripped. A rule that deletes something (a symbol, a number, a word)
goes through ``cut_spans``, which leaves one space only where the deletion would otherwise glue two words
together, so ``"rose 5%!"`` loses its ``%`` as ``"rose 5!"``, not ``"rose 5 !"``. ``UnicodePattern`` gives
rules regexes over exact Unicode categories (punctuation, marks, symbols, invisibles), built on first use
from a scan of every code point, and ``WORD`` is what the word-level rules call a word.
"""

from __future__ import annotations

import functools
import itertools
import re
import sys
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence

# -- whitespace ---------------------------------------------------------------------------------------------

# Unicode whitespace other than "\n"; "horizontal" for our purposes (tidy turns all of it into spaces).
HSPACES = "".join(ch for ch in map(chr, range(0x3001)) if ch.isspace() and ch != "\n")
LINE_BREAK_RE = re.compile("\r\n?|[\x0b\x0c\x85\u2028\u2029]")  # other line/paragraph separators -> "\n"
# Finds whatever tidy() has to change besides the ends: a blank other than a plain space, a space before a
# space or line break, a space after a line break, or a second blank line. Text coming out of a rule is
# already tidy, so the next rule's tidy() is one fast scan.
UNTIDY_RE = re.compile("[" + re.escape(HSPACES.replace(" ", "")) + "]| [ \n]|\n(?: |\n\n)")
BLANK_LINES_RE = re.compile(r"\n{3,}")
HSPACE_RUN_RE = re.compile(r"[^\S\n]*")


def tidy(text: str) -> str:
    """Single spaces, no spaces at line ends, at most one blank line between paragraphs, stripped ends."""
    if UNTIDY_RE.search(text) is None:
        return text.strip()
    text = LINE_BREAK_RE.sub("\n", text)
    # str.split() is the fastest way to collapse blanks; line by line so that line breaks stay.
    text = "\n".join([" ".join(line.split()) for line in text.split("\n")])
    if "\n\n\n" in text:
        text = BLANK_LINES_RE.sub("\n\n", text)
    return text.strip()


# After a deletion next to these, no space is needed: "(©2024 data)" -> "(2024 data)", "In 2024, x" -> "In, x".
OPENERS = frozenset("([{«‹“‘„‚¿¡")
CLOSERS = frozenset(")]}»›”’,.;:!?…")


def cut_spans(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """Delete the sorted ``spans`` of ``text`` and return it tidy.

    Spans that touch or are separated only by blanks are deleted as one, together with the blanks around
    them; one space goes back only where the two sides would otherwise glue into one word.
    """
    pieces: list[str] = []
    pos = 0  # text[pos:] is not copied yet
    run_start = run_end = -1
    for start, end in spans:
        if start >= end:
            continue
        if run_end >= 0 and (start <= run_end or HSPACE_RUN_RE.match(text, run_end).end() >= start):
            run_end = max(run_end, end)
            continue
        if run_end >= 0:
            pos = _cut_run(text, pieces, pos, run_start, run_end)
        run_start, run_end = start, end
    if run_end < 0:
        return tidy(text)
    pos = _cut_run(text, pieces, pos, run_start, run_end)
    pieces.append(text[pos:])
    return tidy("".join(pieces))


def _cut_run(text: str, pieces: list[str], pos: int, start: int, end: int) -> int:
    kept = text[pos:start].rstrip(HSPACES)
    after = HSPACE_RUN_RE.match(text, end).end()
    left = kept[-1] if kept else ("\n" if pos == 0 else text[pos - 1])
    right = text[after] if after < len(text) else "\n"
    glue = left == "\n" or right == "\n" or left in OPENERS or right in CLOSERS or left.isspace()
    pieces.append(kept)
    pieces.append("" if glue else " ")
    return after


def cut_matches(pattern: re.Pattern | UnicodePattern, text: str) -> str:
    return cut_spans(text, (m.span() for m in pattern.finditer(text)))


# Kept by remove_special_characters besides letters, marks, numbers and whitespace: basic sentence
# punctuation . , ; : ! ? ' " ( ) - and its typographic and other-script forms (curly quotes, guillemets,
# dashes, ellipsis, inverted ! ?, CJK, Arabic and Devanagari sentence marks).
SPECIAL_KEPT = frozenset(
    ".,;:!?'\"()-"
    "\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u201f\u00ab\u00bb\u2039\u203a"  # ‘ ’ ‚ ‛ “ ” „ ‟ « » ‹ ›
    "\u2010\u2011\u2012\u2013\u2014\u2015\u2026\u00a1\u00bf"  # ‐ ‑ ‒ – — ― … ¡ ¿
    "\u3002\u3001\uff0c\uff01\uff1f\uff1b\uff1a\u060c\u061b\u061f\u0964\u0965"  # 。、，！？；： ، ؛ ؟ । ॥
)


# -- Unicode character classes, built once from a scan of every code point ---------------------------------


@functools.cache
def _classes() -> dict[str, tuple[str, str]]:
    """Regex character classes from Unicode categories: ``P`` punctuation, ``M`` marks, ``special`` (what
    remove_special_characters deletes), ``invisible`` (control except \\t \\n, format, surrogates).

    Built once per process from a scan of every code point (~0.2 s), so the rules match exactly the
    Unicode categories without a third-party regex engine.
    """
    runs, start = [], 0  # (first, last, category) for each run of code points sharing a category
    categories = map(unicodedata.category, map(chr, range(sys.maxunicode + 1)))
    for category, group in itertools.groupby(categories):
        size = sum(1 for _ in group)
        runs.append((start, start + size - 1, category))
        start += size
    spaces = {ord(ch) for ch in HSPACES + "\n"}
    return {
        "P": _class(runs, lambda cat: cat[0] == "P"),
        "M": _class(runs, lambda cat: cat[0] == "M"),
        "special": _class(
            runs, lambda cat: cat[0] not in "LMN", exclude=spaces | {ord(ch) for ch in SPECIAL_KEPT}
        ),
        "invisible": _class(runs, lambda cat: cat in ("Cc", "Cf", "Cs"), exclude={ord("\t"), ord("\n")}),
    }


def _class(
    runs: list[tuple[int, int, str]], wanted: Callable[[str], bool], exclude: set[int] = frozenset()
) -> tuple[str, str]:
    """(class of the BMP code points, class of all code points) among ``runs`` whose category is wanted.

    Python's re checks a class's code points above U+FFFF one range at a time (only the BMP part becomes a
    fast bitmap), so the full class is ~40x slower; it is used only on text that has such characters.
    """
    ranges: list[list[int]] = []
    for first, last, cat in runs:
        if not wanted(cat):
            continue
        # Split the run around excluded code points (few: spaces and kept punctuation).
        for cp in sorted(cp for cp in exclude if first <= cp <= last):
            if first < cp:
                add_range(ranges, first, cp - 1)
            first = cp + 1
        if first <= last:
            add_range(ranges, first, last)
    bmp = [(a, min(b, 0xFFFF)) for a, b in ranges if a <= 0xFFFF]
    astral = [(max(a, 0x10000), b) for a, b in ranges if b > 0xFFFF]
    bmp_class = ranges_class(bmp) if bmp else "(?!)"
    if not astral:
        return bmp_class, bmp_class
    return bmp_class, f"(?:{bmp_class}|(?=[\U00010000-\U0010ffff]){ranges_class(astral)})"


ASTRAL_RE = re.compile("[\U00010000-\U0010ffff]")


class UnicodePattern:
    """A regex whose template names category classes as %P, %M, %special, %invisible (see _classes).

    Compiled on first use in two variants; text without characters above U+FFFF (nearly all text) gets
    the fast one.
    """

    def __init__(self, template: str) -> None:
        self.template = template

    @functools.cached_property
    def _variants(self) -> tuple[re.Pattern, re.Pattern]:
        bmp, full = self.template, self.template
        for name, (bmp_class, full_class) in sorted(_classes().items(), key=lambda kv: -len(kv[0])):
            bmp, full = bmp.replace(f"%{name}", bmp_class), full.replace(f"%{name}", full_class)
        return re.compile(bmp), re.compile(full)

    def finditer(self, text: str) -> Iterator[re.Match]:
        return self.pattern(text).finditer(text)

    def pattern(self, text: str) -> re.Pattern:
        bmp, full = self._variants
        return full if ASTRAL_RE.search(text) else bmp


def add_range(ranges: list[list[int]], first: int, last: int) -> None:
    if ranges and ranges[-1][1] + 1 == first:
        ranges[-1][1] = last
    else:
        ranges.append([first, last])


def ranges_class(ranges: Iterable[Sequence[int]]) -> str:
    """A regex character class matching exactly the given sorted (first, last) code-point ranges."""
    # \U escapes keep lone surrogates and control characters out of the pattern source.
    parts = (_esc(a) if a == b else f"{_esc(a)}-{_esc(b)}" for a, b in ranges)
    return "[" + "".join(parts) + "]"


def _esc(cp: int) -> str:
    return f"\\U{cp:08x}"


# A word: letters, each possibly followed by combining marks (NFD accents, Indic vowel signs), with inner
# apostrophes; not glued to digits or underscores, so 'mp3', '3rd' and 'snake_case' are not words here.
WORD = UnicodePattern(r"(?<!\w)[^\W\d_]+(?:%M+[^\W\d_]*)*(?:['\u2019][^\W\d_]+(?:%M+[^\W\d_]*)*)*(?!\w)")
