"""html-parsing: the pure core on plain pages, and its per-page limits through the real stage."""

from __future__ import annotations

import json

import pytest
from conftest import run_cli

from medallion.core import datasets, pipeline
from medallion.core.store import open_store
from medallion.transforms import extract_model
from steps.html_parsing import Limits, detect_language, parse_page, parse_with_deadline, replay

DAY = "2026-11-23"
ARTICLE = (
    "<html lang='en'><head><meta charset='utf-8'><title>Rates rise again | The Ledger</title>"
    "<meta name='description' content='Central bank moves.'></head><body>"
    "<nav><a href='/'>Home</a><a href='/a'>World</a></nav>"
    "<article><h1>Rates rise again</h1>"
    + "".join(
        f"<p>The central bank raised interest rates for the {i}th time this year, citing inflation.</p>"
        for i in range(8)
    )
    + "</article><footer>© The Ledger</footer></body></html>"
)


def test_parse_page_extracts_fields():
    row = parse_page("https://ledger.example/a", ARTICLE)
    assert row["title"] == "Rates rise again"
    paragraphs = [line for line in row["content"].split("\n") if "central bank raised" in line]
    assert len(paragraphs) == 8 and "Home" not in row["content"] and "©" not in row["content"]
    assert row["description"] == "Central bank moves."
    assert row["language"] == "en" and row["encoding"] == "utf-8"
    assert parse_page("https://ledger.example/a", ARTICLE.encode()) == row  # bytes from Parquet: same result


COMMENT = "I disagree with the bank entirely: rates should have been cut months ago, not raised again."
DISCUSSED = ARTICLE.replace(
    "</article>",
    "</article><section id='comments'><ol class='comment-list'>"
    + f"<li class='comment'><p>{COMMENT}</p></li>" * 3
    + "</ol></section>",
)


def test_comments_exclude_keeps_the_article_alone():
    alone = parse_page("https://ledger.example/a", DISCUSSED, Limits(comments=False))
    assert COMMENT not in alone["content"] and alone["content"].count("central bank raised") == 8
    assert set(alone["content"].split("\n")) <= set(parse_page("u", DISCUSSED)["content"].split("\n"))


def test_rejections_come_back_with_reasons():
    assert parse_page("u", "  ")[0] == "empty-html"
    assert parse_page("u", ARTICLE, Limits(max_html_chars=100))[0] == "html-too-large"
    deep = "<html><body>" + "<div>" * 5000 + "x" + "</div>" * 5000 + "</body></html>"
    assert parse_page("u", deep)[0] == "too-deep"
    assert (
        parse_page("u", "<html><body><nav><a href='/'>Home</a></nav></body></html>")[0] == "no-main-content"
    )


def test_time_limit_is_enforced():
    reason, detail, html = parse_with_deadline({"url": "u", "html": ARTICLE}, Limits(time_limit=1e-6))
    assert reason == "parse-timeout" and "longer than" in detail and html == ARTICLE


def test_language_falls_back_to_the_page_hint_on_short_text():
    assert detect_language("Bonjour", "fr") == "fr"
    assert (
        detect_language("Le gouvernement a annoncé une nouvelle mesure pour soutenir les familles.", "en")
        == "fr"
    )


def crawl_line(url: str, html: str) -> str:
    return json.dumps({"url": url, "html": html, "timestamp": f"{DAY}T08:00:00Z"})


@pytest.mark.slow
def test_bad_pages_are_quarantined_and_the_batch_survives(tmp_path):
    pages = [
        crawl_line("https://a.example/good", ARTICLE),
        crawl_line("https://a.example/deep", "<html><body>" + "<div>" * 200_000 + "</body></html>"),
        crawl_line("https://a.example/nav-only", "<html><body><nav><a href='/'>Home</a></nav></body></html>"),
        crawl_line("https://a.example/binary", "\x00\x01\x02garbage\ufffd<<<>>>"),
        crawl_line("https://a.example/big", "<html><body><p>" + "word " * 300_000 + "</p></body></html>"),
    ]
    crawl = tmp_path / "crawl.jsonl"
    crawl.write_text("\n".join(pages) + "\n")
    store = f"file://{tmp_path / 'store'}"
    run = run_cli(
        "medallion",
        "run",
        "--store",
        store,
        "--date",
        DAY,
        "--input",
        str(crawl),
        "--until",
        "html-parsing",
        "--warn-only",  # four of five pages are bad: far past the gate, on purpose
    )
    assert run.returncode == 0, run.stderr.decode()
    parse_stage = pipeline.stage("html-parsing")
    meta = datasets.read_meta(open_store(store), pipeline.dataset_key(parse_stage, DAY))
    stats = meta["statistics"]
    assert stats["input_rows"] == 5
    assert stats["rows"] + stats["quarantined"]["total"] == 5
    assert stats["quarantined"]["by_reason"]["too-deep"] == 1
    assert stats["quarantined"]["by_reason"]["no-main-content"] >= 1
    rejects = list(
        datasets.Dataset.open(open_store(store), pipeline.quarantine_key(parse_stage, DAY)).records()
    )
    assert {r["url"] for r in rejects} >= {"https://a.example/deep", "https://a.example/nav-only"}
    assert all(r["record"]["html"] for r in rejects)
    model = next(p["model"] for p in meta["process"] if p["name"] == "lxml-main-content")
    assert model == extract_model.shipped_description()  # the file, its training data and its thresholds
    assert 0 < model["threshold"] < model["comment_threshold"] <= 1

    small = run_cli(
        "-m",
        "steps.html_parsing",
        "--store",
        store,
        "--date",
        DAY,
        "--max-html-chars",
        "1000",
        "--comments",
        "exclude",
        "--warn-only",
        "--force",
    )
    assert small.returncode == 0, small.stderr.decode()
    meta = datasets.read_meta(open_store(store), pipeline.dataset_key(parse_stage, DAY))
    assert meta["statistics"]["quarantined"]["by_reason"]["html-too-large"] >= 2
    assert meta["parameters"]["max_html_chars"] == 1000 and meta["parameters"]["comments"] == "exclude"
    argv, _ = replay(meta, None, None)  # medallion reproduce repeats the run with the same options
    assert (
        argv[argv.index("--comments") + 1] == "exclude" and argv[argv.index("--max-html-chars") + 1] == "1000"
    )
