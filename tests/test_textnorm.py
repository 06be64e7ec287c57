"""Text-normalization rules, one by one, and rule sets from config files."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medallion import textnorm
from medallion.config import REPO_ROOT
from medallion.textnorm import RuleConfigError, RuleSpec, compile_rules, load_versions

CONFIG = REPO_ROOT / "config" / "text-normalization.yaml"


def apply(name: str, text: str, **params) -> str:
    return compile_rules([RuleSpec(name, {**textnorm.REGISTRY[name].defaults, **params})])(text)


@pytest.mark.parametrize(
    "name, text, expected",
    [
        ("remove_tags", "<p>Fish &amp; chips</p><!-- x --><br/>now", "Fish & chips now"),
        ("remove_tags", "a < b and c > d", "a < b and c > d"),
        ("lowercase", "Hello WORLD", "hello world"),
        ("remove_punctuation", "Hello, world! «Quoted» — it's “fine”…", "Hello world Quoted its fine"),
        ("remove_numbers", "In 2024, 3.14% of 1,000 runners came 3rd.", "In , of runners came ."),
        (
            "remove_special_characters",
            "Price: $5 © 2024 • best™ <b> a_b #tag (ok)!",
            "Price: 5 2024 best b a b tag (ok)!",
        ),
        ("remove_emojis", "Great 👍🏽 job 👨‍👩‍👧 team 1️⃣ 🎉!", "Great job team !"),
        ("remove_non_ascii", "Café naïve 日本 ok", "Cafe naive ok"),
        ("remove_non_printable", "a\x00b\u200bc\n\td\x7f", "abc\nd"),
        (
            "normalize_urls",
            "See https://ex.com/a?b=1. Mail me@ex.org or www.ex.com)",
            "See <url>. Mail <url> or <url>)",
        ),
        ("remove_stopwords", "The cat is on the mat and it's fine", "cat mat fine"),
        (
            "remove_non_target_language_words",
            "The committee approved zxqv budget über alles",
            "The committee approved budget",
        ),
        (
            "lemmatize_verbs",
            "She was running and studied; he saw the news",
            "She be run and study; he saw the news",
        ),
        ("collapse_whitespace", "  a \t b \n\n\n\n c  ", "a b\n\nc"),
    ],
)
def test_rules(name, text, expected):
    assert apply(name, text) == expected


def test_rules_keep_paragraph_breaks():
    text = "First paragraph, here.\n\nSecond one!\nThird."
    for name in textnorm.rule_names():
        assert "\n" in apply(name, text), name


def test_url_replacement_parameter():
    assert apply("normalize_urls", "go to https://a.example/x now", replacement="URL") == "go to URL now"


def test_empty_text():
    for name in textnorm.rule_names():
        assert apply(name, "") == ""


def test_shipped_versions_do_what_their_names_say():
    versions = load_versions(CONFIG)
    assert [s.name for s in versions["v1"]] == ["remove_punctuation", "remove_special_characters"]
    assert [s.name for s in versions["v2"]] == ["remove_special_characters", "lemmatize_verbs"]
    text = "Markets were rallying, © analysts said: stocks rose 5%!"
    assert compile_rules(versions["v1"])(text) == "Markets were rallying analysts said stocks rose 5"
    assert compile_rules(versions["v2"])(text) == "Market be rally, analysts say: stock rose 5 !"
    described = textnorm.describe(versions["v2"])
    assert described[1]["name"] == "lemmatize_verbs" and described[1]["description"]


def test_a_new_version_is_a_config_change(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text(
        "versions:\n  v3:\n    description: lower, no urls, no stop words\n    rules:\n"
        "      - lowercase\n      - {name: normalize_urls, params: {replacement: LINK}}\n"
        "      - name: remove_stopwords\n        params: {language: en}\n"
    )
    versions = load_versions(path)
    assert compile_rules(versions["v3"])("The page at https://x.example is THE best") == "page LINK best"
    assert textnorm.load_version_descriptions(path) == {"v3": "lower, no urls, no stop words"}


@pytest.mark.parametrize(
    "body, message",
    [
        ("versions:\n  v1:\n    rules: [remove_everything]\n", "unknown rule 'remove_everything'"),
        (
            "versions:\n  v1:\n    rules: [{name: normalize_urls, params: {replace: x}}]\n",
            "no parameter 'replace'",
        ),
        (
            "versions:\n  v1:\n    rules: [{name: normalize_urls, params: {replacement: 3}}]\n",
            "must be a str",
        ),
        ("versions:\n  v1:\n    rules: []\n", "non-empty 'rules:'"),
        ("rules: [lowercase]\n", "top-level 'versions:'"),
        ("versions: [\n", "not valid YAML"),
    ],
)
def test_config_errors_name_the_problem(tmp_path, body, message):
    path = tmp_path / "rules.yaml"
    path.write_text(body)
    with pytest.raises(RuleConfigError, match=message) as caught:
        load_versions(path)
    assert str(path) in str(caught.value)


def test_missing_config_file(tmp_path):
    with pytest.raises(RuleConfigError, match="does not exist"):
        load_versions(tmp_path / "nope.yaml")


def test_unknown_stopword_language():
    with pytest.raises(RuleConfigError, match="no stop-word list"):
        apply("remove_stopwords", "x", language="xx")


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=200))
def test_rules_never_raise_and_are_deterministic(text):
    for name in textnorm.rule_names():
        once = apply(name, text)
        assert once == apply(name, text)
        if name in (
            "remove_punctuation",
            "remove_special_characters",
            "remove_emojis",
            "remove_non_printable",
            "collapse_whitespace",
            "remove_tags",
            "remove_non_ascii",
            "lowercase",
        ):
            assert isinstance(once, str)
