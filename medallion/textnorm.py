"""Text-normalization rules: a registry of named rules and versioned rule sets from a config file.

A rule is a function ``(text, **params) -> str`` registered under a name with its parameter defaults.
A version is an ordered list of rules with parameters, read from ``config/text-normalization.yaml``; adding
a version is a config change. Rules keep paragraph breaks (``\\n``) and leave tidy whitespace.
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class RuleConfigError(ValueError):
    """The rule-set file is wrong; the message names the file, version and rule, and what to do."""


@dataclass(frozen=True)
class Rule:
    name: str
    fn: Callable[..., str]
    description: str
    defaults: Mapping[str, Any]


@dataclass(frozen=True)
class RuleSpec:
    """One rule of a version, with its effective parameters (defaults filled in)."""

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def key(self) -> tuple:
        return (self.name, tuple(sorted(self.params.items())))


REGISTRY: dict[str, Rule] = {}


def rule(name: str, description: str, **defaults: Any):
    def register(fn: Callable[..., str]) -> Callable[..., str]:
        REGISTRY[name] = Rule(name, fn, description, defaults)
        return fn

    return register


# -- whitespace: every removal ends here so no double spaces are left behind ------------------------------

SPACES_RE = re.compile(r"[^\S\n]+")
SPACE_AROUND_NEWLINE_RE = re.compile(r" *\n *")
BLANK_LINES_RE = re.compile(r"\n{3,}")


def tidy(text: str) -> str:
    text = SPACES_RE.sub(" ", text)
    text = SPACE_AROUND_NEWLINE_RE.sub("\n", text)
    return BLANK_LINES_RE.sub("\n\n", text).strip()


@rule("collapse_whitespace", "Collapse runs of spaces and tabs, keep paragraph breaks, strip the ends.")
def collapse_whitespace(text: str) -> str:
    return tidy(text)


TAG_RE = re.compile(r"<!--.*?-->|<[a-zA-Z/!?][^<>]*>", re.DOTALL)


@rule("remove_tags", "Strip HTML/XML tags and comments, then decode character entities.")
def remove_tags(text: str) -> str:
    return tidy(html.unescape(TAG_RE.sub(" ", text)))


@rule("lowercase", "Lowercase all text (Unicode case folding is not applied; 'ß' stays).")
def lowercase(text: str) -> str:
    return text.lower()


# Punctuation: every Unicode P* character; apostrophes inside words ("don't") are removed too, joining them.
@rule("remove_punctuation", "Remove Unicode punctuation characters (categories P*).")
def remove_punctuation(text: str) -> str:
    return tidy(text.translate(_punctuation_table()))


@functools.cache
def _punctuation_table() -> dict[int, None]:
    return {cp: " " for cp in range(0x110000) if unicodedata.category(chr(cp)).startswith("P")} | {
        ord("'"): None, ord("\u2019"): None
    }


NUMBER_RE = re.compile(r"(?<!\w)[+-]?\d+(?:[.,]\d+)*(?:%|\w*)?")


@rule("remove_numbers", "Remove numbers, including decimals, thousands separators and ordinals like 3rd.")
def remove_numbers(text: str) -> str:
    return tidy(NUMBER_RE.sub(" ", text))


# Kept by remove_special_characters: letters, marks, digits, whitespace and basic sentence punctuation.
KEPT_PUNCTUATION = frozenset(".,;:!?'\"()-\u2019\u2018\u201c\u201d\u2013\u2014")


@rule(
    "remove_special_characters",
    "Remove symbols and other special characters (e.g. © ® ™ • § ° ± × | ~ ^ ` < > { } [ ] \\ @ # $ % & * _ = +); "
    "keep letters, digits, whitespace and basic sentence punctuation . , ; : ! ? ' \" ( ) - and typographic quotes "
    "and dashes.",
)
def remove_special_characters(text: str) -> str:
    return tidy("".join(ch if _kept(ch) else " " for ch in text))


@functools.lru_cache(maxsize=65536)
def _kept(ch: str) -> bool:
    if ch in KEPT_PUNCTUATION or ch.isspace():
        return True
    category = unicodedata.category(ch)
    return category[0] in "LN" or category in ("Mn", "Mc")


EMOJI_EXTRA_RE = re.compile("[\u200d\ufe0f\ufe0e\u20e3\U0001f3fb-\U0001f3ff]")


@rule("remove_emojis", "Remove emojis, including skin-tone modifiers, ZWJ sequences and keycaps.")
def remove_emojis(text: str) -> str:
    import emoji

    return tidy(EMOJI_EXTRA_RE.sub("", emoji.replace_emoji(text, replace=" ")))


@rule("remove_non_ascii", "Remove every character outside ASCII (accented letters are first reduced to ASCII).")
def remove_non_ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text)
    return tidy(folded.encode("ascii", "ignore").decode("ascii"))


@rule("remove_non_printable", "Remove control and format characters (Unicode C*), keeping newlines and tabs.")
def remove_non_printable(text: str) -> str:
    return tidy("".join(ch for ch in text if ch in "\n\t" or not unicodedata.category(ch).startswith("C")))


URL_RE = re.compile(r"\b(?:https?://|www\.)[^\s<>\"']+|\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b", re.IGNORECASE)


@rule("normalize_urls", "Replace web addresses and e-mail addresses by a placeholder token.", replacement="<url>")
def normalize_urls(text: str, replacement: str = "<url>") -> str:
    return URL_RE.sub(lambda m: replacement + _trailing(m.group(0)), text)


def _trailing(url: str) -> str:
    # A sentence's final period or closing parenthesis is not part of the address.
    stripped = url.rstrip(".,;:!?)")
    return url[len(stripped) :]


WORD_RE = re.compile(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)*")


@rule("remove_stopwords", "Remove the language's stop words (stop-words lists of simplemma's languages).",
      language="en")
def remove_stopwords(text: str, language: str = "en") -> str:
    words = _stopwords(language)
    return tidy(WORD_RE.sub(lambda m: "" if m.group(0).lower() in words else m.group(0), text))


@functools.cache
def _stopwords(language: str) -> frozenset[str]:
    path = Path(__file__).with_name("stopwords") / f"{language}.txt"
    if not path.is_file():
        raise RuleConfigError(f"no stop-word list for language {language!r} (medallion/stopwords/{language}.txt)")
    return frozenset(w.strip().lower() for w in path.read_text(encoding="utf-8").split() if w.strip())


@rule(
    "remove_non_target_language_words",
    "Remove words unknown to the target language's lexicon (simplemma's dictionary); numbers and punctuation stay.",
    language="en",
)
def remove_non_target_language_words(text: str, language: str = "en") -> str:
    known = _known(language)
    return tidy(WORD_RE.sub(lambda m: m.group(0) if known(m.group(0)) else "", text))


@functools.cache
def _known(language: str) -> Callable[[str], bool]:
    import simplemma

    @functools.lru_cache(maxsize=200_000)
    def known(word: str) -> bool:
        return simplemma.is_known(word, lang=language) or simplemma.is_known(word.lower(), lang=language)

    return known


@rule(
    "lemmatize_verbs",
    "Replace inflected verb forms by their lemma with lemminflect ('running' -> 'run', 'was' -> 'be'); irregular "
    "forms that are also nouns or adjectives ('saw', 'left') stay, as do words that are no verb form ('news').",
)
def lemmatize_verbs(text: str) -> str:
    return WORD_RE.sub(lambda m: _verb_lemma(m.group(0)), text)


@functools.lru_cache(maxsize=200_000)
def _verb_lemma(word: str) -> str:
    from lemminflect import getAllLemmas

    lower = word.lower()
    lemmas = getAllLemmas(lower)
    verb = lemmas.get("VERB") or lemmas.get("AUX")
    if not verb or verb[0] == lower:
        return word
    # An irregular form that is also a noun or adjective in its own right ('saw', 'left', 'lay') is
    # ambiguous without a part-of-speech tagger: keep it. Regular -ing/-ed forms ('running', 'studied')
    # are verbs first; their noun and adjective readings derive from the verb.
    regular = lower.endswith(("ing", "ed"))
    if not regular and any(lemmas.get(pos, ("",))[0] == lower for pos in ("NOUN", "ADJ", "ADV", "PROPN")):
        return word
    lemma = verb[0]
    if word.isupper() and len(word) > 1:
        return lemma.upper()
    if word[0].isupper():
        return lemma.capitalize()
    return lemma


# -- versions ---------------------------------------------------------------------------------------------


def rule_names() -> list[str]:
    return sorted(REGISTRY)


def rule_description(name: str) -> str:
    return REGISTRY[name].description


def _spec(entry: Any, where: str) -> RuleSpec:
    if isinstance(entry, str):
        name, params = entry, {}
    elif isinstance(entry, dict) and set(entry) <= {"name", "params"} and isinstance(entry.get("name"), str):
        name, params = entry["name"], entry.get("params") or {}
    else:
        raise RuleConfigError(f"{where}: a rule is a name or {{name: ..., params: {{...}}}}, got {entry!r}")
    if name not in REGISTRY:
        raise RuleConfigError(f"{where}: unknown rule {name!r}; known rules: {', '.join(rule_names())}")
    defaults = REGISTRY[name].defaults
    if not isinstance(params, dict):
        raise RuleConfigError(f"{where}: params of rule {name!r} must be a mapping")
    for key, value in params.items():
        if key not in defaults:
            allowed = ", ".join(defaults) or "none"
            raise RuleConfigError(f"{where}: rule {name!r} has no parameter {key!r} (parameters: {allowed})")
        if not isinstance(value, type(defaults[key])):
            raise RuleConfigError(
                f"{where}: parameter {key!r} of rule {name!r} must be a {type(defaults[key]).__name__}, got {value!r}"
            )
    return RuleSpec(name, {**defaults, **params})


def _load(path: str | Path) -> dict:
    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise RuleConfigError(f"rule-set file {path} does not exist: pass --config or create it") from exc
    except yaml.YAMLError as exc:
        raise RuleConfigError(f"rule-set file {path} is not valid YAML: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("versions"), dict) or not doc["versions"]:
        raise RuleConfigError(f"{path}: expected a top-level 'versions:' mapping of version name to rules")
    return doc


def load_versions(path: str | Path) -> dict[str, list[RuleSpec]]:
    """Version name -> its ordered rules, validated."""
    versions = {}
    for version, body in _load(path)["versions"].items():
        where = f"{path}: version {version!r}"
        if not isinstance(body, dict) or not isinstance(body.get("rules"), list) or not body["rules"]:
            raise RuleConfigError(f"{where}: expected 'description:' and a non-empty 'rules:' list")
        versions[str(version)] = [_spec(entry, where) for entry in body["rules"]]
    return versions


def load_version_descriptions(path: str | Path) -> dict[str, str]:
    return {str(v): str(body.get("description", "")) for v, body in _load(path)["versions"].items()}


def compile_rules(specs: Sequence[RuleSpec]) -> Callable[[str], str]:
    """One function applying the rules in order."""
    steps = [functools.partial(REGISTRY[spec.name].fn, **dict(spec.params)) for spec in specs]

    def apply(text: str) -> str:
        for step in steps:
            text = step(text)
        return text

    return apply


def describe(specs: Sequence[RuleSpec]) -> list[dict]:
    """The rules as the metadata sidecar lists them."""
    return [{"name": s.name, "params": dict(s.params), "description": rule_description(s.name)} for s in specs]
