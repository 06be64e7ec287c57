"""Text-normalization rules: a registry of named rules and versioned rule sets read from a config file.

A rule is a function ``(text, **params) -> str`` registered under a name with its parameter defaults. A
version is an ordered list of rules with parameters, read from ``config/text-normalization.yaml``; adding a
version is a config change, not code.

Whitespace contract, shared by every rule: the output is *tidy* -- runs of spaces and tabs become one space,
lines carry no leading or trailing spaces, paragraph breaks (``\\n``) stay with at most one blank line
between paragraphs, and the ends are stripped. A rule that deletes something (a symbol, a number, a word)
leaves one space only where the deletion would otherwise glue two words together, so ``"rose 5%!"`` loses
its ``%`` as ``"rose 5!"``, not ``"rose 5 !"``.

Everything here is deterministic for a given Python (``unicodedata`` version) and pinned package set.
Heavy data (lemminflect's tables, simplemma's dictionaries, emoji's data, the Unicode category scan) is
loaded on first use by the rule that needs it.
"""

from __future__ import annotations

import functools
import html
import itertools
import re
import sys
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class RuleConfigError(ValueError):
    """A rule set is wrong; the message names the file, version and rule, what is wrong and what to do."""


Check = Callable[[Any], "str | None"]  # a parameter value -> None if fine, else what is wrong


@dataclass(frozen=True)
class Rule:
    name: str
    fn: Callable[..., str]
    description: str
    defaults: Mapping[str, Any]
    checks: Mapping[str, Check] = field(default_factory=dict)


@dataclass(frozen=True)
class RuleSpec:
    """One rule of a version with its effective parameters (defaults filled in); treat ``params`` as read-only."""

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def key(self) -> tuple:
        """A hashable identity, e.g. for caching compiled rule sets."""
        return (self.name, tuple(sorted(self.params.items())))


REGISTRY: dict[str, Rule] = {}


def rule(name: str, description: str, *, checks: Mapping[str, Check] | None = None, **defaults: Any):
    """Register ``fn(text, **params)`` as rule ``name``; ``defaults`` declares every parameter and its type."""

    def register(fn: Callable[..., str]) -> Callable[..., str]:
        REGISTRY[name] = Rule(name, fn, description, dict(defaults), dict(checks or {}))
        return fn

    return register


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


def _cut(text: str, spans: Iterable[tuple[int, int]]) -> str:
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


def _cut_matches(pattern: re.Pattern | _UnicodePattern, text: str) -> str:
    return _cut(text, (m.span() for m in pattern.finditer(text)))


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
                _add_range(ranges, first, cp - 1)
            first = cp + 1
        if first <= last:
            _add_range(ranges, first, last)
    bmp = [(a, min(b, 0xFFFF)) for a, b in ranges if a <= 0xFFFF]
    astral = [(max(a, 0x10000), b) for a, b in ranges if b > 0xFFFF]
    bmp_class = _ranges_class(bmp) if bmp else "(?!)"
    if not astral:
        return bmp_class, bmp_class
    return bmp_class, f"(?:{bmp_class}|(?=[\U00010000-\U0010ffff]){_ranges_class(astral)})"


ASTRAL_RE = re.compile("[\U00010000-\U0010ffff]")


class _UnicodePattern:
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


def _add_range(ranges: list[list[int]], first: int, last: int) -> None:
    if ranges and ranges[-1][1] + 1 == first:
        ranges[-1][1] = last
    else:
        ranges.append([first, last])


def _ranges_class(ranges: Iterable[Sequence[int]]) -> str:
    """A regex character class matching exactly the given sorted (first, last) code-point ranges."""
    # \U escapes keep lone surrogates and control characters out of the pattern source.
    parts = (_esc(a) if a == b else f"{_esc(a)}-{_esc(b)}" for a, b in ranges)
    return "[" + "".join(parts) + "]"


def _esc(cp: int) -> str:
    return f"\\U{cp:08x}"


# A word: letters, each possibly followed by combining marks (NFD accents, Indic vowel signs), with inner
# apostrophes; not glued to digits or underscores, so 'mp3', '3rd' and 'snake_case' are not words here.
WORD = _UnicodePattern(r"(?<!\w)[^\W\d_]+(?:%M+[^\W\d_]*)*(?:['\u2019][^\W\d_]+(?:%M+[^\W\d_]*)*)*(?!\w)")


# -- rules --------------------------------------------------------------------------------------------------


@rule(
    "collapse_whitespace",
    "Collapse runs of spaces and tabs to one space, keep paragraph breaks (at most one "
    "blank line), strip line ends and text ends.",
)
def collapse_whitespace(text: str) -> str:
    return tidy(text)


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


@rule("lowercase", "Lowercase all letters (str.lower: no case folding, so 'ß' stays 'ß').")
def lowercase(text: str) -> str:
    return tidy(text.lower())


INWORD_APOSTROPHE_RE = re.compile(r"(?<=[^\W\d_])['\u2019](?=[^\W\d_])")


PUNCTUATION = _UnicodePattern("%P+")


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

    return _cut(text, spans())


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
    return _cut_matches(NUMBER_RE, text)


# Kept by remove_special_characters besides letters, marks, numbers and whitespace: basic sentence
# punctuation . , ; : ! ? ' " ( ) - and its typographic and other-script forms (curly quotes, guillemets,
# dashes, ellipsis, inverted ! ?, CJK, Arabic and Devanagari sentence marks).
SPECIAL_KEPT = frozenset(
    ".,;:!?'\"()-"
    "\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u201f\u00ab\u00bb\u2039\u203a"  # ‘ ’ ‚ ‛ “ ” „ ‟ « » ‹ ›
    "\u2010\u2011\u2012\u2013\u2014\u2015\u2026\u00a1\u00bf"  # ‐ ‑ ‒ – — ― … ¡ ¿
    "\u3002\u3001\uff0c\uff01\uff1f\uff1b\uff1a\u060c\u061b\u061f\u0964\u0965"  # 。、，！？；： ، ؛ ؟ । ॥
)


SPECIAL = _UnicodePattern("%special+")


@rule(
    "remove_special_characters",
    "Remove every character that is not a letter, combining mark, number, "
    "whitespace or basic sentence punctuation: symbols such as © ® ™ • § ¶ † ‡ ° ± × ÷ | ~ ^ ` < > { } [ ] "
    "\\ / @ # $ % & * _ = + go; . , ; : ! ? ' \" ( ) - and their typographic forms ‘ ’ “ ” « » – — … stay.",
)
def remove_special_characters(text: str) -> str:
    return _cut_matches(SPECIAL, text)


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
        _add_range(ranges, cp, cp)
    return re.compile(f"{_ranges_class(ranges)}|[\\U00010000-\\U0010ffff]")


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
    return _cut(text, spans)


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
    return _cut_matches(NON_ASCII_RE, text)


INVISIBLE = _UnicodePattern("%invisible+")


@rule(
    "remove_non_printable",
    "Remove control, format and surrogate characters (Unicode Cc, Cf, Cs; e.g. NUL, "
    "zero-width space, soft hyphen, BOM) except newline and tab; other line separators become newlines.",
)
def remove_non_printable(text: str) -> str:
    # Line separators first, so they survive as "\n"; the rest is invisible and goes without a trace
    # ("soft\xadware" -> "software"), hence a plain deletion rather than _cut.
    text = LINE_BREAK_RE.sub("\n", text)
    return tidy(INVISIBLE.pattern(text).sub("", text))


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


STOPWORDS_DIR = Path(__file__).with_name("stopwords")


def _stopword_languages() -> list[str]:
    return sorted(p.stem for p in STOPWORDS_DIR.glob("*.txt"))


def _check_stopword_language(value: str) -> str | None:
    if value in _stopword_languages():
        return None
    return f"has no stop-word list {value!r}; available: {', '.join(_stopword_languages())} (medallion/stopwords/)"


@functools.cache
def _stopwords(language: str) -> frozenset[str]:
    path = STOPWORDS_DIR / f"{language}.txt"
    if not path.is_file():
        raise RuleConfigError(
            f"no stop-word list for language {language!r}: add medallion/stopwords/{language}.txt"
        )
    return frozenset(w.lower() for w in path.read_text(encoding="utf-8").split())


@rule(
    "remove_stopwords",
    "Remove the language's stop words (case-insensitive; list in medallion/stopwords/"
    "<language>.txt, English only so far).",
    checks={"language": _check_stopword_language},
    language="en",
)
def remove_stopwords(text: str, language: str = "en") -> str:
    words = _stopwords(language)
    spans = (m.span() for m in WORD.finditer(text) if m.group().lower().replace("\u2019", "'") in words)
    return _cut(text, spans)


def _check_simplemma_language(value: str) -> str | None:
    from simplemma.strategies.dictionaries.dictionary_factory import SUPPORTED_LANGUAGES

    if value in SUPPORTED_LANGUAGES:
        return None
    return f"is {value!r}, not a language simplemma has a dictionary for; use one of {', '.join(sorted(SUPPORTED_LANGUAGES))}"


@functools.cache
def _known(language: str) -> Callable[[str], bool]:
    import simplemma

    @functools.lru_cache(maxsize=200_000)
    def known(word: str) -> bool:
        word = word.replace("\u2019", "'")
        return simplemma.is_known(word, lang=language) or simplemma.is_known(word.lower(), lang=language)

    return known


@rule(
    "remove_non_target_language_words",
    "Remove words that simplemma's dictionary for the target language "
    "does not know; numbers, tokens mixing letters and digits, and punctuation stay.",
    checks={"language": _check_simplemma_language},
    language="en",
)
def remove_non_target_language_words(text: str, language: str = "en") -> str:
    known = _known(language)
    return _cut(text, (m.span() for m in WORD.finditer(text) if not known(m.group())))


# Modal auxiliaries have no meaningful lemma ('could' -> 'can' changes the meaning): they stay.
MODALS = frozenset({"can", "could", "may", "might", "must", "shall", "should", "will", "would", "ought"})
# -ing words whose verb reading lemmatizes to a different word: 'evening' is not a form of 'to even'.
NOT_VERB_FORMS = frozenset({"evening"})
SENTENCE_END = frozenset(".!?…:\n")


@functools.lru_cache(maxsize=200_000)
def _verb_lemma(lower: str) -> str | None:
    """The lemma of a lowercase word if it is an inflected verb form, else None.

    Without a part-of-speech tagger the word's readings come from lemminflect's lexicon (getAllLemmas):
    - no VERB/AUX reading, or the word is itself a base form ('need', 'saw' of 'to saw') -> not a verb form;
    - be/have/do forms (AUX readings: is, was, has, does) -> lemma, modals (could, would) excepted;
    - regular participles in -ing/-ed -> lemma even if also noun or adjective ('running', 'studied'): those
      readings derive from the verb, and merging them is what a classifier wants;
    - any other form that is also a noun, adjective or adverb of its own ('markets', 'stocks', 'rose',
      'left') is ambiguous and stays; the rest ('says', 'went', 'taken') -> lemma.
    """
    from lemminflect import getAllLemmas

    lemmas = getAllLemmas(lower)
    verbs = lemmas.get("AUX") or lemmas.get("VERB")
    if not verbs or lower in verbs or lower in lemmas.get("VERB", ()) or lower in NOT_VERB_FORMS:
        return None
    lemma = verbs[0]
    if lemma in MODALS:
        return None
    if "AUX" in lemmas or lower.endswith(("ing", "ed")):
        return lemma
    if any(pos in lemmas for pos in ("NOUN", "ADJ", "ADV", "PROPN")):
        return None
    return lemma


@functools.lru_cache(maxsize=200_000)
def _inflection(word: str) -> tuple[str, bool] | None:
    """(lemma in the word's casing, whether the word is capitalized) for an inflected verb form, else None."""
    lemma = _verb_lemma(word.lower())
    if lemma is None:
        return None
    if word.isupper() and len(word) > 1:
        return lemma.upper(), False
    if word[0].isupper():
        return lemma.capitalize(), True
    return lemma, False


def _sentence_start(text: str, start: int) -> bool:
    i = start - 1
    while i >= 0 and text[i] in " \t\"'(\u201c\u2018\u00ab":
        i -= 1
    return i < 0 or text[i] in SENTENCE_END


def _looks_english(text: str) -> bool:
    """At least 12% of the first 200 words are English stop words (English prose: 30-45%; German, French,
    Spanish: under 7%). Texts under 20 words are too short to tell and count as English."""
    stopwords = _stopwords("en")
    words = [m.group() for m in itertools.islice(WORD.finditer(text), ENGLISH_SAMPLE_WORDS)]
    if len(words) < 20:
        return True
    hits = sum(word.lower().replace("\u2019", "'") in stopwords for word in words)
    return hits >= ENGLISH_MIN_STOPWORD_SHARE * len(words)


ENGLISH_SAMPLE_WORDS = 200
ENGLISH_MIN_STOPWORD_SHARE = 0.12


@rule(
    "lemmatize_verbs",
    "Replace inflected English verb forms by their lemma with lemminflect's lexicon "
    "('running' -> 'run', 'was' -> 'be', 'studied' -> 'study'), keeping the word's casing; words that are not "
    "verb forms ('news'), ambiguous noun/verb forms ('markets', 'rose', 'left'), modals ('could') and "
    "capitalized words inside a sentence (names such as 'United') stay; with english_only, texts that do not "
    "look English (under 12% English stop words) are left as they are.",
    english_only=True,
)
def lemmatize_verbs(text: str, english_only: bool = True) -> str:
    # lemminflect knows only English: German 'am' would become 'be'.
    if english_only and not _looks_english(text):
        return tidy(text)

    def replace(match: re.Match) -> str:
        hit = _inflection(match.group())
        if hit is None:
            return match.group()
        lemma, capitalized = hit
        # Mid-sentence capitals are names ('United States', 'Reading'); at a sentence start, a verb.
        if capitalized and not _sentence_start(text, match.start()):
            return match.group()
        return lemma

    return tidy(WORD.pattern(text).sub(replace, text))


# -- registry access ----------------------------------------------------------------------------------------


def rule_names() -> list[str]:
    """Registered rule names, sorted."""
    return sorted(REGISTRY)


def rule_description(name: str) -> str:
    """One sentence saying what the rule does, for metadata and docs."""
    if name not in REGISTRY:
        raise RuleConfigError(f"unknown rule {name!r}; registered rules: {', '.join(rule_names())}")
    return REGISTRY[name].description


def resolve(name: str, params: Mapping[str, Any] | None = None, where: str = "rule") -> RuleSpec:
    """A validated RuleSpec with defaults filled in; ``where`` prefixes error messages."""
    if name not in REGISTRY:
        raise RuleConfigError(f"{where}: unknown rule {name!r}; use one of: {', '.join(rule_names())}")
    params = {} if params is None else params
    if not isinstance(params, Mapping):
        raise RuleConfigError(f"{where}: 'params' must be a mapping such as {{language: en}}, got {params!r}")
    known = REGISTRY[name]
    for key, value in params.items():
        if key not in known.defaults:
            allowed = ", ".join(known.defaults) or "none"
            raise RuleConfigError(
                f"{where}: rule {name!r} has no parameter {key!r} (parameters: {allowed}); "
                "fix its spelling or remove it"
            )
        default = known.defaults[key]
        if type(value) is not type(default):  # exact: a YAML bool or int is not a str
            raise RuleConfigError(
                f"{where}: parameter {key!r} of rule {name!r} must be a {type(default).__name__} "
                f"like {default!r}, got {value!r}"
                + ("; quote it in the YAML" if isinstance(default, str) else "")
            )
        problem = known.checks.get(key, lambda _value: None)(value)
        if problem:
            raise RuleConfigError(f"{where}: parameter {key!r} of rule {name!r} {problem}")
    return RuleSpec(name, {**known.defaults, **params})


# -- the config file ----------------------------------------------------------------------------------------

VERSION_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")  # it names a dataset folder


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (plain YAML keeps the last one silently)."""


def _mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen = set()
    for key_node, _value in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


@dataclass(frozen=True)
class Version:
    name: str
    description: str
    rules: list[RuleSpec]


def load_config(path: str | Path) -> dict[str, Version]:
    """Every version of the rule-set file, validated: name -> Version(name, description, rules)."""
    path = Path(path)
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)  # a SafeLoader
    except FileNotFoundError as exc:
        raise RuleConfigError(
            f"rule-set file {path} does not exist: pass the right --config or create it "
            "(see config/text-normalization.yaml)"
        ) from exc
    except yaml.YAMLError as exc:
        raise RuleConfigError(f"rule-set file {path} is not valid YAML: {exc}") from exc
    if (
        not isinstance(doc, dict)
        or set(doc) != {"versions"}
        or not isinstance(doc["versions"], dict)
        or not doc["versions"]
    ):
        raise RuleConfigError(
            f"{path}: expected exactly one top-level key 'versions:' mapping each version name "
            "to its description and rules"
        )
    return {str(name): _version(path, name, body) for name, body in doc["versions"].items()}


def _version(path: Path, name: Any, body: Any) -> Version:
    where = f"{path}: version {name!r}"
    if not isinstance(name, str) or not VERSION_NAME_RE.fullmatch(name):
        raise RuleConfigError(
            f"{where}: a version name names a dataset folder; use letters, digits, '.', '_' or '-' such as v3"
        )
    if not isinstance(body, dict) or set(body) != {"description", "rules"}:
        raise RuleConfigError(
            f"{where}: expected exactly 'description:' and 'rules:', got "
            f"{sorted(body) if isinstance(body, dict) else body!r}"
        )
    if not isinstance(body["description"], str) or not body["description"].strip():
        raise RuleConfigError(
            f"{where}: 'description:' must be a non-empty string saying what the version does"
        )
    if not isinstance(body["rules"], list) or not body["rules"]:
        raise RuleConfigError(f"{where}: 'rules:' must be a non-empty list of rule names or {{name, params}}")
    specs = []
    for number, entry in enumerate(body["rules"], 1):
        rule_where = f"{where}, rule #{number}"
        if isinstance(entry, str):
            specs.append(resolve(entry, None, rule_where))
        elif (
            isinstance(entry, dict)
            and "name" in entry
            and set(entry) <= {"name", "params"}
            and isinstance(entry["name"], str)
        ):
            specs.append(resolve(entry["name"], entry.get("params"), f"{rule_where} {entry['name']!r}"))
        else:
            raise RuleConfigError(
                f"{rule_where}: a rule is a name or {{name: ..., params: {{...}}}}, got {entry!r}"
            )
    return Version(name, body["description"].strip(), specs)


def load_versions(path: str | Path) -> dict[str, list[RuleSpec]]:
    """Version name -> its ordered, validated rules."""
    return {name: version.rules for name, version in load_config(path).items()}


def load_version_descriptions(path: str | Path) -> dict[str, str]:
    """Version name -> its description."""
    return {name: version.description for name, version in load_config(path).items()}


# -- applying rules -----------------------------------------------------------------------------------------


def compile_rules(specs: Sequence[RuleSpec]) -> Callable[[str], str]:
    """One function applying the rules in order; specs are validated (defaults filled) here too."""
    steps = []
    for spec in specs:
        spec = resolve(spec.name, spec.params, f"rule {spec.name!r}")
        steps.append(functools.partial(REGISTRY[spec.name].fn, **spec.params))

    def apply(text: str) -> str:
        for step in steps:
            text = step(text)
        return text

    return apply


def describe(specs: Sequence[RuleSpec]) -> list[dict]:
    """The rules as the metadata sidecar lists them: name, effective params and description."""
    out = []
    for spec in specs:
        spec = resolve(spec.name, spec.params, f"rule {spec.name!r}")
        out.append(
            {"name": spec.name, "params": dict(spec.params), "description": rule_description(spec.name)}
        )
    return out
