"""url-normalization's pure core: who survives deduplication, and why."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from steps.url_normalization import doc_key, plan_dedup, title_key


def page(title: str, body: str = "b") -> str:
    return f"<html><head><title>{title}</title></head><body>{body}</body></html>"


def at(hour: int) -> datetime:
    return datetime(2026, 11, 23, hour, tzinfo=UTC)


def keys(rows):
    return [doc_key(i, url, ts, html) for i, (url, ts, html) in enumerate(rows)]


def test_freshest_copy_of_a_canonical_url_wins():
    rows = [
        ("https://a.example/x", at(8), page("Alpha story one here", "old")),
        ("https://a.example/x", at(10), page("Alpha story one here", "new")),
        ("https://a.example/x", at(9), page("Alpha story one here", "mid")),
        ("https://a.example/y", at(9), page("Another different headline")),
    ]
    plan = plan_dedup(keys(rows), ["canonical-url"])
    assert plan.copies == {1: 3, 3: 1}
    assert plan.removed == {"canonical-url": 2}


def test_equal_timestamps_keep_the_later_line():
    rows = [("https://a.example/x", at(8), page("t")), ("https://a.example/x", at(8), page("t"))]
    assert plan_dedup(keys(rows), ["canonical-url"]).copies == {1: 2}


def test_title_rule_folds_same_article_under_two_urls_on_one_host():
    rows = [
        ("https://a.example/story?id=1", at(8), page("Big News  About Things")),
        ("https://a.example/amp/story", at(9), page("big news about things")),
        ("https://b.example/story", at(9), page("Big News About Things")),  # other host: kept
        ("https://a.example/home", at(9), page("Home")),  # too short to trust
        ("https://a.example/home2", at(9), page("Home")),
    ]
    plan = plan_dedup(keys(rows), ["canonical-url", "title"])
    assert plan.copies == {1: 2, 2: 1, 3: 1, 4: 1}
    assert plan.removed == {"title": 1}
    assert plan_dedup(keys(rows), ["canonical-url"]).removed == {}


def test_content_hash_rule():
    rows = [
        ("https://a.example/1", at(8), page("x", "same")),
        ("https://c.example/2", at(7), page("x", "same")),
    ]
    plan = plan_dedup(keys(rows), ["canonical-url", "content-hash"])
    assert plan.copies == {0: 2} and plan.removed == {"content-hash": 1}


def test_unknown_rule_is_an_error():
    with pytest.raises(ValueError, match="unknown dedup rule"):
        plan_dedup([], ["canonical-url", "minhash-typo"])


def test_title_key_folds_entities_case_and_space():
    assert title_key("<TITLE lang=en> Caf&eacute;\n  Story </title>") == "café story"
    assert title_key("<p>no title</p>") == ""


def test_every_row_is_accounted_for():
    rows = [(f"https://a.example/{i % 7}", at(i % 5), page(f"Title number {i % 3} here")) for i in range(50)]
    plan = plan_dedup(keys(rows), ["canonical-url", "title", "content-hash"])
    assert sum(plan.copies.values()) == 50
    assert len(plan.copies) + sum(plan.removed.values()) == 50
