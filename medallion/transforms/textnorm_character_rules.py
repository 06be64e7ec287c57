"""Character-level text-normalization rules: whitespace, case, punctuation, numbers, symbols, emojis,
non-ASCII and invisible characters.

Each rule is registered in ``textnorm_registry`` under the name a rule set uses in
``medallion/config/text-normalization.yaml``; each returns tidy text (see ``textnorm_primitives``). Emoji data is
loaded on first use by the rule that needs it.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterator

from medallion.transforms.textnorm_primitives import (
    LINE_BREAK_RE,
    UnicodePattern,
    add_range,
    cut_matches,
    cut_spans,
    ranges_class,
    tidy,
)
from medallion.transforms.textnorm_registry import rule


@rule(
    "collapse_whitespace",
    "Collapse runs of spaces and tabs to one space, keep paragraph breaks (at most one "
    "blank line), strip line ends and text ends.",
)
def collapse_whitespace(text: str) -> str:
    return tidy(text)


@rule("lowercase", "Lowercase all letters (str.lower: no case folding, so 'ß' stays 'ß').")
def lowercase(text: str) -> str:
    return tidy(text.lower())


INWORD_APOSTROPHE_RE = re.compile(r"(?<=[^\W\d_])['\u2019](?=[^\W\d_])")


PUNCTUATION = UnicodePattern("%P+")


@rule(
    "remove_punctuation",
    "Remove every Unicode punctuation character (categories P*, which include # % & * "
    "@ / \\ _ and - ); apostrophes inside words are dropped so \"don't\" becomes 'dont', and the '.' or ',' "
    "inside numbers such as 3.14 and 1,000 stays.",
)
def remove_punctuation(text: str) -> str:
    text = INWORD_APOSTROPHE_RE.sub("", text)
    last = len(text) - 1

    def spans() -> Iterator[tuple[int, int]]:
        for match in PUNCTUATION.finditer(text):
            start, end = match.span()
            # A lone '.' or ',' between digits is a decimal or thousands separator: 3.14 and 1,000 stay.
            if (
                end - start == 1
                and text[start] in ".,"
                and 0 < start < last
                and text[start - 1].isdigit()
                and text[end].isdigit()
            ):
                continue
            yield start, end

    return cut_spans(text, spans())


# A number: decimal digits with inner separators (3.14, 1,000, 10:30, 2026-11-23, 1/2, 10-20), an optional
# sign, and letters or % glued after it (3rd, 5kg, 1990s, 50%). Digits glued to a preceding letter or hyphen
# belong to a name (mp3, H2O, COVID-19) and stay.
NUMBER_RE = re.compile(
    r"(?<![\w.,\-\u2010])[+\-\u2212]?\d+(?:[.,:/\-\u2013]\d+)*(?:%|\u2030|\w*)(?:-(?=[^\W\d_]))?"
)


@rule(
    "remove_numbers",
    "Remove numbers: digits with decimal, thousands, time, date and range separators "
    "(3.14, 1,000, 10:30, 2026-11-23), a leading sign, and letters or % glued after them (3rd, 5kg, 50%); "
    "digits inside names such as mp3 or COVID-19 stay.",
)
def remove_numbers(text: str) -> str:
    return cut_matches(NUMBER_RE, text)


SPECIAL = UnicodePattern("%special+")


@rule(
    "remove_special_characters",
    "Remove every character that is not a letter, combining mark, number, "
    "whitespace or basic sentence punctuation: symbols such as © ® ™ • § ¶ † ‡ ° ± × ÷ | ~ ^ ` < > { } [ ] "
    "\\ / @ # $ % & * _ = + go; . , ; : ! ? ' \" ( ) - and their typographic forms ‘ ’ “ ” « » – — … stay.",
)
def remove_special_characters(text: str) -> str:
    return cut_matches(SPECIAL, text)


# What the emoji package's matcher may leave around an emoji: joiners, variation selectors, skin tones,
# keycap marks, tag characters (subdivision flags).
EMOJI_LEFTOVER_RE = re.compile("[\u200d\ufe0e\ufe0f\u20e3\U0001f3fb-\U0001f3ff\U000e0020-\U000e007f]*")


@functools.cache
def _emoji_hint_re() -> re.Pattern:
    """A BMP character that occurs in some emoji, or any character above U+FFFF; text without one has no
    emoji (fast path: the emoji package's matcher costs ~3 ms per 5 kB)."""
    import emoji

    ranges: list[list[int]] = []
    for cp in sorted({ord(ch) for seq in emoji.EMOJI_DATA for ch in seq if 0x7F < ord(ch) <= 0xFFFF}):
        add_range(ranges, cp, cp)
    return re.compile(f"{ranges_class(ranges)}|[\\U00010000-\\U0010ffff]")


@rule(
    "remove_emojis",
    "Remove emojis (emoji package data), including skin-tone modifiers, ZWJ sequences, "
    "flags and keycaps such as 1️⃣.",
)
def remove_emojis(text: str) -> str:
    if text.isascii() or not _emoji_hint_re().search(text):
        return tidy(text)
    import emoji

    spans = [
        (e["match_start"], EMOJI_LEFTOVER_RE.match(text, e["match_end"]).end())
        for e in emoji.emoji_list(text)
    ]
    return cut_spans(text, spans)


# Letters that Unicode does not decompose but have a usual ASCII spelling, and typographic punctuation.
ASCII_FOLD = str.maketrans(
    {
        "ß": "ss",
        "ẞ": "SS",
        "æ": "ae",
        "Æ": "AE",
        "œ": "oe",
        "Œ": "OE",
        "ø": "o",
        "Ø": "O",
        "đ": "d",
        "Đ": "D",
        "ł": "l",
        "Ł": "L",
        "þ": "th",
        "Þ": "Th",
        "ð": "d",
        "Ð": "D",
        "ı": "i",
        "ﬀ": "ff",
        "ﬁ": "fi",
        "ﬂ": "fl",
        "ﬃ": "ffi",
        "ﬄ": "ffl",
        "‘": "'",
        "’": "'",
        "‚": "'",
        "“": '"',
        "”": '"',
        "„": '"',
        "–": "-",
        "—": "-",
        "‐": "-",
        "‑": "-",
        "…": "...",
        "\u00a0": " ",
    }
)
COMBINING_RE = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")
NON_ASCII_RE = re.compile(r"[^\x00-\x7f]+")


@rule(
    "remove_non_ascii",
    "Remove every non-ASCII character after spelling Latin letters with diacritics and "
    "ligatures in ASCII (café -> cafe, ß -> ss, ﬁ -> fi) and typographic quotes and dashes as ' \" -.",
)
def remove_non_ascii(text: str) -> str:
    if text.isascii():
        return tidy(text)
    # NFD (canonical, not NFKD) splits é into e + accent without turning ™ into TM or ½ into 1⁄2.
    text = COMBINING_RE.sub("", unicodedata.normalize("NFD", text).translate(ASCII_FOLD))
    return cut_matches(NON_ASCII_RE, text)


INVISIBLE = UnicodePattern("%invisible+")


@rule(
    "remove_non_printable",
    "Remove control, format and surrogate characters (Unicode Cc, Cf, Cs; e.g. NUL, "
    "zero-width space, soft hyphen, BOM) except newline and tab; other line separators become newlines.",
)
def remove_non_printable(text: str) -> str:
    # Line separators first, so they survive as "\n"; the rest is invisible and goes without a trace
    # ("soft\xadware" -> "software"), hence a plain deletion rather than cut_spans.
    text = LINE_BREAK_RE.sub("\n", text)
    return tidy(INVISIBLE.pattern(text).sub("", text))
