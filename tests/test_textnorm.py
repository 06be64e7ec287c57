"""Text-normalization rules one by one, rule sets from config files, and their error messages."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medallion.core.config import CONFIG_DIR
from medallion.transforms import textnorm, textnorm_primitives
from medallion.transforms.textnorm import RuleConfigError, RuleSpec, compile_rules, describe, load_versions

CONFIG = CONFIG_DIR / "text-normalization.yaml"


def apply(name: str, text: str, **params) -> str:
    return compile_rules([RuleSpec(name, params)])(text)


def write(tmp_path, body: str):
    path = tmp_path / "rules.yaml"
    path.write_text(body, encoding="utf-8")
    return path


CASES = [
    # remove_tags: block tags break lines, inline tags join, scripts and comments vanish, entities decode.
    (
        "remove_tags",
        "<p>Fish &amp; chips</p><!-- x --><p>now <b>bold</b>ly</p>",
        "Fish & chips\n\nnow boldly",
    ),
    ("remove_tags", "<script>if (a<b) x();</script>Hi<br/>there &nbsp; &#169; &lt;b&gt;", "Hi\nthere © <b>"),
    ("remove_tags", '<a href="x?a=1&b=2" title="a>b">link</a>', "link"),
    ("remove_tags", "a < b and c > d", "a < b and c > d"),
    ("lowercase", "Hello WORLD Ünïcode", "hello world ünïcode"),
    # remove_punctuation: Unicode P*, words keep their inner apostrophes joined, numbers their separators.
    ("remove_punctuation", "Hello, world! «Quoted» — it's “fine”… ¿Qué?", "Hello world Quoted its fine Qué"),
    (
        "remove_punctuation",
        "pi is 3.14, about 1,000 runners; e-mail (U.S.)",
        "pi is 3.14 about 1,000 runners e mail U S",
    ),
    ("remove_punctuation", "50% of #tags & @names_x", "50 of tags names x"),
    # remove_numbers
    ("remove_numbers", "In 2024, 3.14% of 1,000 runners came 3rd.", "In, of runners came."),
    ("remove_numbers", "At 10:30 on 2026-11-23, -5 degrees; a 5-year-old", "At on, degrees; a year-old"),
    ("remove_numbers", "mp3 players, H2O and COVID-19 stay", "mp3 players, H2O and COVID-19 stay"),
    # remove_special_characters
    (
        "remove_special_characters",
        "Price: $5 © 2024 • best™ <b> a_b #tag (ok)!",
        "Price: 5 2024 best b a b tag (ok)!",
    ),
    (
        "remove_special_characters",
        "Stocks rose 5%! x|y 24/7 § 3 ± 1 ° {a} [b] `c` ~d^ \\e",
        "Stocks rose 5! x y 24 7 3 1 a b c d e",
    ),
    (
        "remove_special_characters",
        "“Quoted” — it’s fine… ¿Qué? «ok» 日本語。 naïve",
        "“Quoted” — it’s fine… ¿Qué? «ok» 日本語。 naïve",
    ),
    # remove_emojis: skin tones, ZWJ families, keycaps, flags (regional and subdivision).
    ("remove_emojis", "Great 👍🏽 job 👨‍👩‍👧 team 1️⃣ 🎉!", "Great job team!"),
    ("remove_emojis", "Go 🇫🇷 and 🏴󠁧󠁢󠁳󠁣󠁴󠁿 now ❤️ 1 # * ok", "Go and now 1 # * ok"),
    ("remove_emojis", "No emoji here: © café", "No emoji here: café"),
    # remove_non_ascii
    (
        "remove_non_ascii",
        "Café naïve Straße ﬁne it’s “q” — 日本 ok",
        'Cafe naive Strasse fine it\'s "q" - ok',
    ),
    ("remove_non_ascii", "best™ ½ cup", "best cup"),
    # remove_non_printable
    ("remove_non_printable", "a\x00b\u200bc\n\td\x7f soft\xadware\ufeff", "abc\nd software"),
    ("remove_non_printable", "line\r\nbreak\u2028sep\u2029para", "line\nbreak\nsep\npara"),
    # normalize_urls
    (
        "normalize_urls",
        "See https://ex.com/a?b=1&c=%20x#frag. Mail me.too+x@ex.co.uk or www.ex.com)",
        "See <url>. Mail <url> or <url>)",
    ),
    (
        "normalize_urls",
        "(https://en.wikipedia.org/wiki/Python_(language)) and HTTP://X.ORG/",
        "(<url>) and <url>",
    ),
    ("normalize_urls", "no url: example dot com, a@b, 3.14", "no url: example dot com, a@b, 3.14"),
    # remove_stopwords
    ("remove_stopwords", "The cat is on the mat and it’s fine. Cat is on.", "cat mat fine. Cat."),
    # remove_non_target_language_words
    (
        "remove_non_target_language_words",
        "The committee approved zxqv budget über alles, 3.14 mp3 in 2024!",
        "The committee approved budget, 3.14 mp3 in 2024!",
    ),
    # lemmatize_verbs
    (
        "lemmatize_verbs",
        "She was running and studied; he saw the news.",
        "She be run and study; he saw the news.",
    ),
    (
        "lemmatize_verbs",
        "Markets were rallying, analysts said: stocks rose.",
        "Markets be rally, analysts say: stocks rose.",
    ),
    (
        "lemmatize_verbs",
        "Was it? WAS IT? The United States could have gone.",
        "Be it? BE IT? The United States could have go.",
    ),
    ("collapse_whitespace", "  a \t b \n\n\n\n c  \u00a0 d \r\n e ", "a b\n\nc d\ne"),
]


@pytest.mark.parametrize("name, text, expected", CASES)
def test_rules(name, text, expected):
    assert apply(name, text) == expected


def test_every_rule_has_cases_and_a_description():
    assert {name for name, _, _ in CASES} == set(textnorm.rule_names())
    for name in textnorm.rule_names():
        assert textnorm.rule_description(name).endswith(".")


def test_rules_keep_paragraph_breaks_and_empty_text():
    text = "First paragraph, here.\n\nSecond one!\nThird."
    for name in textnorm.rule_names():
        assert apply(name, text).count("\n") == 3, name
        assert apply(name, "") == "", name
        assert apply(name, " \n\t ") == "", name


def test_removals_leave_tidy_whitespace():
    assert apply("remove_special_characters", "a © b ® c") == "a b c"
    assert apply("remove_special_characters", "(©2024 data)") == "(2024 data)"
    assert apply("remove_numbers", "won 3 - 1 today") == "won - today"
    assert apply("remove_stopwords", "cat is on.") == "cat."


def test_params():
    assert apply("normalize_urls", "go to https://a.example/x now", replacement="URL") == "go to URL now"
    assert apply("normalize_urls", "go to https://a.example/x now", replacement="") == "go to now"
    assert (
        apply("remove_non_target_language_words", "Der Hund und the dog, yesterday", language="de")
        == "Der Hund und the,"
    )


def test_lemmatize_verbs_leaves_non_english_text_alone():
    german = (
        "Die Regierung hat am Dienstag neue Maßnahmen für die Wirtschaft vorgestellt. Viele Bürger "
        "warten seit Monaten auf eine klare Entscheidung, die am Montag veröffentlicht wurde."
    )
    assert apply("lemmatize_verbs", german) == german
    assert "hat be Dienstag" in apply("lemmatize_verbs", german, english_only=False)
    english = (
        "Stocks were rising on Tuesday after the central bank said it was planning to cut rates, and "
        "investors who had feared a slowdown bought shares."
    )
    assert apply("lemmatize_verbs", english) == (
        "Stocks be rise on Tuesday after the central bank say it be plan "
        "to cut rates, and investors who have fear a slowdown buy shares."
    )


def test_effective_params_are_filled_in():
    (spec,) = load_versions_from_text("versions:\n  v:\n    description: d\n    rules: [normalize_urls]\n")
    assert spec.params == {"replacement": "<url>"}
    assert describe([RuleSpec("remove_stopwords")]) == [
        {
            "name": "remove_stopwords",
            "params": {"language": "en"},
            "description": textnorm.rule_description("remove_stopwords"),
        }
    ]


def load_versions_from_text(body: str) -> list[RuleSpec]:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        return next(iter(load_versions(write(Path(tmp), body)).values()))


def test_shipped_versions_do_what_their_names_say():
    versions = load_versions(CONFIG)
    descriptions = textnorm.load_version_descriptions(CONFIG)
    assert set(versions) == set(descriptions) >= {"v1", "v2"}
    assert [s.name for s in versions["v1"]] == [
        "remove_punctuation",
        "remove_special_characters",
        "collapse_whitespace",
    ]
    assert [s.name for s in versions["v2"]] == [
        "remove_special_characters",
        "lemmatize_verbs",
        "collapse_whitespace",
    ]
    text = "Markets were rallying, © analysts said:  stocks rose 5%!\n\nIt’s 3.14 times… <b>"
    assert (
        compile_rules(versions["v1"])(text)
        == "Markets were rallying analysts said stocks rose 5\n\nIts 3.14 times b"
    )
    assert (
        compile_rules(versions["v2"])(text)
        == "Markets be rally, analysts say: stocks rose 5!\n\nIt’s 3.14 times… b"
    )
    described = describe(versions["v2"])
    assert [d["name"] for d in described] == [s.name for s in versions["v2"]]
    assert [d["params"] for d in described] == [{}, {"english_only": True}, {}]
    assert all(d["description"] for d in described)


def test_a_new_version_is_a_config_change(tmp_path):
    path = write(
        tmp_path,
        """
versions:
  v3:
    description: lower, no urls, no stop words
    rules:
      - lowercase
      - {name: normalize_urls, params: {replacement: LINK}}
      - name: remove_stopwords
        params: {language: en}
      - collapse_whitespace
""",
    )
    versions = load_versions(path)
    assert compile_rules(versions["v3"])("The page at https://x.example is THE best") == "page LINK best"
    assert [s.params for s in versions["v3"]] == [{}, {"replacement": "LINK"}, {"language": "en"}, {}]
    assert textnorm.load_version_descriptions(path) == {"v3": "lower, no urls, no stop words"}


RULES_OK = "    description: d\n    rules: [lowercase]\n"


@pytest.mark.parametrize(
    "body, message",
    [
        (
            "versions:\n  v1:\n    description: d\n    rules: [remove_everything]\n",
            r"version 'v1', rule #1: unknown rule 'remove_everything'; use one of: collapse_whitespace, ",
        ),
        (
            "versions:\n  v1:\n    description: d\n    rules: [lowercase, {name: normalize_urls, params: {replace: x}}]\n",
            r"version 'v1', rule #2 'normalize_urls': rule 'normalize_urls' has no parameter 'replace' "
            r"\(parameters: replacement\); fix its spelling or remove it",
        ),
        (
            "versions:\n  v1:\n    description: d\n    rules: [{name: normalize_urls, params: {replacement: 3}}]\n",
            r"parameter 'replacement' of rule 'normalize_urls' must be a str like '<url>', got 3; quote it",
        ),
        (
            "versions:\n  v1:\n    description: d\n    rules: [{name: remove_stopwords, params: {language: xx}}]\n",
            r"parameter 'language' of rule 'remove_stopwords' has no stop-word list 'xx'; available: en",
        ),
        (
            "versions:\n  v1:\n    description: d\n    rules: [{name: remove_non_target_language_words, "
            "params: {language: klingon}}]\n",
            r"'language' of rule 'remove_non_target_language_words' is 'klingon', not a language simplemma has a "
            r"dictionary for; use one of ar, ",
        ),
        (
            "versions:\n  v1:\n    description: d\n    rules: [{name: lemmatize_verbs, params: {english_only: yes please}}]\n",
            r"parameter 'english_only' of rule 'lemmatize_verbs' must be a bool like True, got 'yes please'$",
        ),
        (
            "versions:\n  v1:\n    description: d\n    rules: [{name: lowercase, params: [x]}]\n",
            r"'params' must be a mapping",
        ),
        ("versions:\n  v1:\n    description: d\n    rules: [{nam: lowercase}]\n", r"a rule is a name or"),
        ("versions:\n  v1:\n    description: d\n    rules: []\n", r"'rules:' must be a non-empty list"),
        ("versions:\n  v1:\n    rules: [lowercase]\n", r"expected exactly 'description:' and 'rules:'"),
        (
            "versions:\n  v1:\n    description: ''\n    rules: [lowercase]\n",
            r"'description:' must be a non-empty",
        ),
        ("versions:\n  ../x:\n" + RULES_OK, r"version '../x': a version name names a dataset folder"),
        ("versions:\n  v1:\n" + RULES_OK + "  v1:\n" + RULES_OK, r"not valid YAML: .*duplicate key 'v1'"),
        ("rules: [lowercase]\n", r"expected exactly one top-level key 'versions:'"),
        ("versions: [\n", r"not valid YAML"),
        ("", r"expected exactly one top-level key 'versions:'"),
    ],
)
def test_config_errors_name_file_version_rule_and_fix(tmp_path, body, message):
    path = write(tmp_path, body)
    with pytest.raises(RuleConfigError, match=message) as caught:
        load_versions(path)
    assert str(caught.value).startswith(f"{path}:") or f"file {path} " in str(caught.value)


def test_missing_config_file(tmp_path):
    with pytest.raises(
        RuleConfigError, match=r"nope.yaml does not exist: pass the right --config or create it"
    ):
        load_versions(tmp_path / "nope.yaml")


def test_programmatic_specs_are_validated_too():
    with pytest.raises(RuleConfigError, match="unknown rule 'nope'"):
        compile_rules([RuleSpec("nope")])
    with pytest.raises(RuleConfigError, match="has no parameter 'lang'"):
        compile_rules([RuleSpec("remove_stopwords", {"lang": "en"})])
    with pytest.raises(RuleConfigError, match="unknown rule 'nope'"):
        textnorm.rule_description("nope")


def test_specs_are_hashable_keys_and_deterministic():
    versions = load_versions(CONFIG)
    assert versions == load_versions(CONFIG)
    assert {tuple(s.key() for s in specs) for specs in versions.values()}
    text = "Ünïcode 👍🏽 <b>x</b> https://a.b/c?d=1 — 3.14 was running"
    for name in textnorm.rule_names():
        assert apply(name, text) == apply(name, text)


# Rules whose output does not change when applied again. Not remove_tags (decoded "&amp;lt;" is new markup
# text by design), lemmatize_verbs (a lemma can itself be an inflected form of another verb: lay -> lie) and
# remove_numbers (a deletion can leave a sign glued to the next number).
IDEMPOTENT = [
    "collapse_whitespace",
    "lowercase",
    "normalize_urls",
    "remove_emojis",
    "remove_non_ascii",
    "remove_non_printable",
    "remove_non_target_language_words",
    "remove_punctuation",
    "remove_special_characters",
    "remove_stopwords",
]
TEXT = st.text(st.characters(codec="utf-8"), max_size=120) | st.lists(
    st.sampled_from(
        list("aZé 9.,;:!?'\"()-_@#%&<>/\n\t\u00a0\u200b\u200d👍🏽🇫🇷©™’“")
        + ["www.", "https://", "was ", "running "]
    ),
    max_size=40,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_rules_never_raise_leave_tidy_text_and_are_idempotent(text):
    for name in textnorm.rule_names():
        once = apply(name, text)
        assert once == textnorm_primitives.tidy(once), name
        if name in IDEMPOTENT:
            assert apply(name, once) == once, name
