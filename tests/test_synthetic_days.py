"""A multi-day synthetic crawl: day 0 is the single-day batch, later days carry re-crawls and syndicated
copies of earlier days' articles."""

from __future__ import annotations

import io
import json
import tracemalloc
from urllib.parse import urlsplit

import pytest

from medallion.demo.page_templates import SITES, Article, render
from medallion.demo.synthetic import (
    CrawlSpec,
    PastDay,
    article,
    day_specs,
    generate_crawl,
    true_category,
    write_crawl,
)
from medallion.transforms.extract import extract
from medallion.transforms.urls import canonicalize

DOCUMENTS = 150


def batch(spec: CrawlSpec) -> tuple[str, dict]:
    out = io.StringIO()
    counts = write_crawl(spec, out)
    return out.getvalue(), counts


def records(text: str) -> list[dict]:
    """The batch's pages of the five sites (junk lines left out), each with its canonical URL."""
    hosts = {site.host.removeprefix("www.") for site in SITES}
    pages = []
    for line in text.split("\n")[:-1]:
        try:
            obj = json.loads(line)
            canonical = canonicalize(obj["url"])
        except Exception:
            continue
        if urlsplit(canonical).hostname in hosts and obj.get("html"):
            pages.append({**obj, "canonical": canonical})
    return pages


@pytest.fixture(scope="module")
def three_days() -> list[tuple[CrawlSpec, str, dict]]:
    return [(spec, *batch(spec)) for spec in day_specs("2026-11-23", 3, DOCUMENTS, 7)]


def test_day_specs_are_consecutive_and_day_zero_is_the_single_day_batch(three_days):
    specs = [spec for spec, _, _ in three_days]
    assert specs[0] == CrawlSpec(date="2026-11-23", documents=DOCUMENTS, seed=7)
    assert [s.date for s in specs] == ["2026-11-23", "2026-11-24", "2026-11-25"]
    assert len({s.seed for s in specs}) == 3
    assert specs[2].earlier == (PastDay("2026-11-23", 7, DOCUMENTS), PastDay("2026-11-24", 8, DOCUMENTS))
    assert len(set(specs)) == 3  # frozen and hashable
    single, counts = batch(CrawlSpec(date="2026-11-23", documents=DOCUMENTS, seed=7))
    assert three_days[0][1] == single
    assert counts["carried"] == counts["syndicated"] == 0
    assert day_specs("2026-11-23", 1, DOCUMENTS, 7) == [specs[0]]
    with pytest.raises(ValueError):
        day_specs("2026-11-23", 0, DOCUMENTS, 7)


def test_counts_add_up_to_the_lines_written(three_days):
    kinds = ("articles", "duplicates", "recrawls", "junk", "carried", "syndicated")
    for _, text, counts in three_days:
        assert counts["lines"] == text.count("\n") == sum(counts[k] for k in kinds)
        assert counts["articles"] == DOCUMENTS
    for _, _, counts in three_days[1:]:
        assert counts["carried"] > 2 and counts["syndicated"] > 1


def own_articles(day: PastDay | CrawlSpec) -> dict[str, Article]:
    """A day's own articles by canonical URL, regenerated from its (date, seed, documents)."""
    spec = CrawlSpec(date=day.date, seed=day.seed, documents=day.documents)
    return {canonicalize(a.url): a for a in (article(spec, i) for i in range(spec.documents))}


def test_carried_recrawls_have_an_earlier_days_url_and_a_later_timestamp(three_days):
    latest: dict[str, str] = {}  # URL -> latest timestamp on the days so far
    for spec, text, counts in three_days:
        earlier = {url for day in spec.earlier for url in own_articles(day)}
        carried = 0
        for obj in records(text):
            if obj["canonical"] in earlier:
                carried += 1
                assert obj["url"] in latest, "a carried re-crawl keeps the URL the article had"
                assert obj["timestamp"].startswith(spec.date) and obj["timestamp"] > latest[obj["url"]]
                assert "Update:" in obj["html"]
        assert carried == counts["carried"]
        for obj in records(text):
            latest[obj["url"]] = max(latest.get(obj["url"], ""), obj["timestamp"])
    assert all(counts["carried"] > 2 for _, _, counts in three_days[1:])


def test_syndicated_copies_are_an_earlier_article_on_another_site(three_days):
    for spec, text, counts in three_days[1:]:
        own = own_articles(spec)
        earlier = [a for day in spec.earlier for a in own_articles(day).values()]
        earlier_urls = {canonicalize(a.url) for a in earlier}
        by_title: dict[str, list[Article]] = {}
        for a in earlier:
            by_title.setdefault(a.title, []).append(a)
        copies, urls = 0, set()
        for obj in records(text):
            if obj["canonical"] in own or obj["canonical"] in earlier_urls:
                continue
            copies += 1
            page = extract(obj["html"], obj["url"])
            host = urlsplit(obj["url"]).hostname
            original = next(a for a in by_title[page.title] if all(p in page.content for p in a.paragraphs))
            assert host != original.site.host and host in {site.host for site in SITES}
            assert obj["timestamp"].startswith(spec.date)
            assert true_category(obj["url"]) == original.category
            # The same words as the original page: near-duplicate detection over the text finds it.
            assert shingle_similarity(page.content, extract(render(original)).content) > 0.8
            assert obj["canonical"] != canonicalize(original.url)
            urls.add(obj["canonical"])
        assert copies == len(urls) == counts["syndicated"] > 1


def shingle_similarity(a: str, b: str, n: int = 5) -> float:
    def shingles(text: str) -> set[tuple[str, ...]]:
        words = text.lower().split()
        return {tuple(words[i : i + n]) for i in range(max(1, len(words) - n + 1))}

    left, right = shingles(a), shingles(b)
    return len(left & right) / len(left | right)


def test_two_generations_are_identical_and_another_seed_differs():
    spec = day_specs("2026-11-23", 3, 80, 11)[2]
    assert list(generate_crawl(spec)) == list(generate_crawl(spec))
    assert batch(spec)[0] != batch(day_specs("2026-11-23", 3, 80, 12)[2])[0]


def test_later_days_stream_too():
    def peak(n: int) -> int:
        tracemalloc.start()
        for _ in generate_crawl(day_specs("2026-11-23", 3, n, 7)[2]):
            pass
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    small, large = peak(100), peak(1000)
    assert large < small * 1.5 + 200_000
