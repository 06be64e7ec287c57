"""Word-level text-normalization rules: stop words, words outside the target language, verb lemmas.

Stop-word lists are files in ``medallion/transforms/stopwords/<language>.txt``; simplemma's dictionaries
and lemminflect's tables are loaded on first use by the rule that needs them. Each rule is registered in
``textnorm_registry`` and returns tidy text (see ``textnorm_primitives``).
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable
from pathlib import Path

from medallion.transforms.textnorm_primitives import WORD, cut_spans, tidy
from medallion.transforms.textnorm_registry import RuleConfigError, rule

STOPWORDS_DIR = Path(__file__).with_name("stopwords")


def _stopword_languages() -> list[str]:
    return sorted(p.stem for p in STOPWORDS_DIR.glob("*.txt"))


def _check_stopword_language(value: str) -> str | None:
    if value in _stopword_languages():
        return None
    return f"has no stop-word list {value!r}; available: {', '.join(_stopword_languages())} (medallion/transforms/stopwords/)"


@functools.cache
def _stopwords(language: str) -> frozenset[str]:
    path = STOPWORDS_DIR / f"{language}.txt"
    if not path.is_file():
        raise RuleConfigError(
            f"no stop-word list for language {language!r}: add medallion/transforms/stopwords/{language}.txt"
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
    return cut_spans(text, spans)


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
    return cut_spans(text, (m.span() for m in WORD.finditer(text) if not known(m.group())))


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
