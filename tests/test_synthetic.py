"""The synthetic crawl: deterministic, realistic enough, streaming."""

from __future__ import annotations

import io
import json
import tracemalloc
from itertools import islice

from medallion.demo.synthetic import CrawlSpec, generate_crawl, true_category, write_crawl
from medallion.demo.vocabulary import CATEGORIES
from medallion.transforms.urls import canonicalize


def lines_of(spec: CrawlSpec) -> list[str]:
    return list(generate_crawl(spec))


def test_same_spec_same_lines_other_seed_other_lines():
    spec = CrawlSpec(documents=60)
    assert lines_of(spec) == lines_of(spec)
    assert lines_of(spec) != lines_of(CrawlSpec(documents=60, seed=8))


def test_counts_and_kinds():
    out = io.StringIO()
    counts = write_crawl(CrawlSpec(documents=400, junk_rate=0.05), out)
    lines = out.getvalue().split("\n")[:-1]
    assert (
        counts["lines"]
        == len(lines)
        == sum(counts[k] for k in ("articles", "duplicates", "recrawls", "junk"))
    )
    assert counts["articles"] == 400
    assert counts["duplicates"] > 10 and counts["recrawls"] > 5 and counts["junk"] > 5


def test_good_lines_are_crawler_records_and_junk_is_varied():
    good, junk = [], set()
    for line in lines_of(CrawlSpec(documents=600, junk_rate=0.2)):
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            junk.add("invalid-json")
            continue
        if (
            isinstance(obj, dict)
            and set(obj) == {"url", "html", "timestamp"}
            and all(isinstance(v, str) for v in obj.values())
            and obj["html"]
            and obj["url"].startswith("https://")
        ):
            good.append(obj)
        else:
            junk.add(type(obj).__name__ + ":" + ",".join(sorted(obj) if isinstance(obj, dict) else []))
    assert len(good) > 600 and len(junk) >= 3
    categories = {true_category(obj["url"]) for obj in good}
    assert categories >= set(CATEGORIES)
    sizes = sorted(len(obj["html"]) for obj in good)
    assert 8_000 < sizes[len(sizes) // 2] < 60_000
    languages = {obj["html"].split('lang="', 1)[1][:2] for obj in good if 'lang="' in obj["html"]}
    assert "en" in languages and len(languages) > 1


def test_duplicates_share_a_canonical_url_and_recrawls_are_newer():
    spec = CrawlSpec(documents=300)
    first: dict[str, dict] = {}
    dup = recrawl = 0
    for line in lines_of(spec):
        try:
            obj = json.loads(line)
            url = canonicalize(obj["url"])
        except Exception:
            continue
        if url in first:
            if obj["url"] != first[url]["url"]:
                dup += 1
            elif obj["timestamp"] > first[url]["timestamp"] and "Update:" in obj["html"]:
                recrawl += 1
        else:
            first[url] = obj
    assert dup > 5 and recrawl > 5


def test_streaming_memory_does_not_grow():
    def peak(n: int) -> int:
        tracemalloc.start()
        for _ in generate_crawl(CrawlSpec(documents=n)):
            pass
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    small, large = peak(200), peak(2000)
    assert large < small * 1.5 + 200_000


def test_true_category_of_other_urls_is_none():
    assert true_category("https://elsewhere.example/sports/x") is None
    first = json.loads(next(islice(generate_crawl(CrawlSpec(documents=3)), 1)))
    assert true_category(first["url"]) in CATEGORIES
