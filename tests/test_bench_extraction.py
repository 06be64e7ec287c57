"""bench/extraction.py: the scorer on known small cases, the table, the cache, and a real run on one corpus."""

from __future__ import annotations

import re
import sys

import pytest
from conftest import REPO, run_cli

sys.path.insert(0, str(REPO / "bench"))

import corpora  # noqa: E402
import extraction  # noqa: E402

WORDS = [f"w{i}" for i in range(30)]


def text(words: list[str]) -> str:
    return " ".join(words)


def test_shingles_are_lowercase_word_4_grams_counted_with_repeats():
    assert extraction.shingles("The cat, the CAT! sat") == {
        ("the", "cat", "the", "cat"): 1,
        ("cat", "the", "cat", "sat"): 1,
    }
    assert extraction.shingles("only three words") == {}


def test_page_scores_identical_disjoint_and_empty():
    page = text(WORDS[:10])
    assert extraction.page_scores(page, page) == (1.0, 1.0)
    assert extraction.page_scores(text(WORDS[:10]), text(WORDS[10:20])) == (0.0, 0.0)
    assert extraction.page_scores("", "") == (1.0, 1.0)
    assert extraction.page_scores("too short", "three words here") == (1.0, 1.0)  # no shingles either side
    assert extraction.page_scores("", page) == (0.0, 0.0)
    assert extraction.page_scores(page, "") == (0.0, 0.0)


def test_page_scores_count_shared_shingles_as_a_multiset():
    once = text(WORDS[:4])  # one shingle
    twice = text(WORDS[:4] * 2)  # five shingles, the first one twice
    assert extraction.page_scores(twice, once) == (1 / 5, 1.0)


def test_score_averages_precision_and_recall_over_pages_then_takes_their_harmonic_mean():
    # Page A: the first 7 of 11 true tokens: 4 of 8 shingles, all right (P 1, R 0.5).
    # Page B: all 7 true tokens then 4 of junk: 8 shingles, 4 right (P 0.5, R 1).
    page_a = (text(WORDS[:7]), text(WORDS[:11]))
    page_b = (text(WORDS[:7] + WORDS[20:24]), text(WORDS[:7]))
    assert extraction.page_scores(*page_a) == (1.0, 0.5)
    assert extraction.page_scores(*page_b) == (0.5, 1.0)
    f1, precision, recall = extraction.score([page_a, page_b])
    assert (precision, recall) == (0.75, 0.75)
    assert f1 == pytest.approx(0.75)  # the mean of the per-page F1 would be 2/3


def test_block_text_breaks_lines_at_blocks_only():
    from lxml import html

    root = html.fromstring(
        "<div><h1>Title</h1><p>the end</p><p>Next <b>wo</b>rd</p><ul><li>a</li></ul></div>"
    )
    assert extraction.block_text(root) == "Title\nthe end\nNext word\na"


def test_columns_show_all_only_with_every_broad_corpus():
    assert extraction.columns(corpora.CORPORA) == [
        "news",
        "all",
        "cleaneval",
        "dragnet",
        "l3s-gn1",
        "readability",
    ]
    assert extraction.columns(["readability", "news"]) == ["news", "readability"]
    assert extraction.columns(extraction.BROAD) == ["all", *extraction.BROAD]


def test_format_table_aligns_f1_and_speed_and_marks_what_is_missing():
    table = extraction.format_table(
        ["news", "all"],
        [
            ("medallion", {"news": 0.96712, "all": 0.865}, 120.04),
            ("held out", {"news": None, "all": 0.8}, None),
        ],
    )
    header, ours, held_out = table.splitlines()
    assert header.split() == ["extractor", "news", "all", "pages/s"]
    assert ours.split() == ["medallion", "0.967", "0.865", "120.0"]
    assert held_out.split() == ["held", "out", "-", "0.800", "-"]
    assert len({len(line) for line in (header, ours, held_out)}) == 1


def test_margins_name_the_best_open_extractor_per_column():
    lines = extraction.margins(
        ["news", "all"],
        {"news": 0.967, "all": 0.865},
        {
            "trafilatura 2.3.1": {"news": 0.951, "all": 0.879},
            "resiliparse 2.0.0": {"news": 0.899, "all": 0.843},
        },
    )
    assert [line.split()[0] for line in lines] == ["news", "all"]
    assert "trafilatura 2.3.1" in lines[0] and lines[0].endswith("+0.016")
    assert lines[1].endswith("-0.014")


def test_cache_round_trip_and_a_changed_corpus_misses(tmp_path):
    path = extraction.cache_file(tmp_path, extraction.EXTRACTORS["trafilatura"], "news", "ab" * 20)
    assert "trafilatura-2.3.1" in str(path)
    entry = {
        "fingerprint": "ab" * 20,
        "texts": {"k1": "Ünïcode text", "k2": ""},
        "errors": {"k2": "ValueError"},
    }
    extraction.write_cached(path, entry)
    assert extraction.read_cached(path, "ab" * 20) == entry
    assert extraction.read_cached(path, "cd" * 20) is None
    assert extraction.read_cached(tmp_path / "absent.json", "ab" * 20) is None


def test_article_alone_cuts_dragnet_truth_at_its_comments_marker():
    page = corpora.Page(
        "k", "dragnet", "", b"", "The article.\nSecond line.\n!@#$%^&*()  COMMENTS\nA comment."
    )
    assert extraction.article_alone(page).truth == "The article.\nSecond line."
    assert extraction.article_alone(page).raw == page.raw
    plain = corpora.Page("k", "news", "", b"", "No comments here.\nCOMMENTS are mentioned in prose.")
    assert extraction.article_alone(plain) is plain


def test_speed_subset_is_at_most_200_evenly_spread_pages():
    pages = list(range(1030))
    subset = extraction.speed_subset(pages)
    assert len(subset) == 172 and subset[:3] == [0, 6, 12]
    assert extraction.speed_subset(pages[:37]) == pages[:37]


def packaged_model_missing() -> bool:
    from medallion.transforms import extract_model

    return not extract_model.MODEL_PATH.is_file()


@pytest.mark.skipif(bool(corpora.missing()), reason="the shared benchmark sets are not beside the repo")
@pytest.mark.skipif(
    packaged_model_missing(), reason="no packaged block model yet: run bench/train_extractor.py"
)
def test_the_bench_prints_ours_on_one_corpus(tmp_path):
    result = run_cli(
        str(REPO / "bench" / "extraction.py"),
        *("--extractors", "ours", "--corpus", "readability", "--worst", "2", "--cache", str(tmp_path)),
        timeout=120,
    )
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    lines = result.stdout.decode().splitlines()
    assert lines[0].startswith("37 pages: readability 37")
    assert lines[1].split() == ["extractor", "readability", "pages/s"]
    assert re.fullmatch(r"medallion\s+0\.\d{3}\s+\d+\.\d", lines[2])
    worst = lines[lines.index("our 2 worst pages:") + 1 :]
    assert len(worst) == 2 and all(line.split()[0] == "readability" for line in worst)
