"""Every input row is accounted for, through every stage, whatever the crawler sends.

Property-based: hypothesis mixes malformed crawler lines (broken JSON, JSON that is not an object, wrong
types, invalid UTF-8, binary junk, control characters, empty HTML, 100 kB and ``javascript:`` URLs, bad and
future timestamps, deep nesting) into a batch of real-looking articles, and the whole pipeline runs on it.
The very large cases (30 MB of HTML, 200,000 nested tags) run once, as a subprocess whose time and peak
memory are bounded.
"""

from __future__ import annotations

import io
import json
import os
import sys
import time
from unittest import mock

import pytest
from conftest import BIN
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from medallion import cli
from medallion.cli import inspect as cli_inspect
from medallion.core import datasets, pipeline
from medallion.core.store import open_store
from medallion.demo.synthetic import CrawlSpec, write_crawl

DAY = "2026-11-23"
PAGE = "<html><head><title>{t}</title></head><body><article>{p}</article></body></html>"
# Each stage, the dataset it writes, and the dataset whose rows are its input.
CHAIN = [
    ("raw", None, None),
    ("url-normalization", None, ("raw", None)),
    ("html-parsing", None, ("url-normalization", None)),
    ("text-normalization", "v1", ("html-parsing", None)),
    ("text-normalization", "v2", ("html-parsing", None)),
    ("annotated", None, ("text-normalization", "v2")),
    ("train", None, ("annotated", None)),
    ("post-train", None, ("annotated", None)),
]


def _articles(n: int = 60) -> bytes:
    """Real-looking articles, so every stage down to training has something to work on."""
    out = io.StringIO()
    write_crawl(CrawlSpec(date=DAY, documents=n, seed=11, junk_rate=0, duplicate_rate=0.1), out)
    return out.getvalue().encode()


ARTICLES = _articles()

good_record = st.builds(
    lambda host, path, title, words, hour: {
        "url": f"https://{host}.example/{path}",
        "html": PAGE.format(
            t=title, p="".join(f"<p>{w} is a sentence about the news, with words.</p>" for w in words)
        ),
        "timestamp": f"{DAY}T{hour:02d}:00:00Z",
    },
    st.sampled_from(["a", "www.a", "b"]),
    st.sampled_from(["x", "y", "x?utm_source=z", "x#frag", "z/"]),
    st.sampled_from(["Same story title here", "Another one entirely", "T"]),
    st.lists(st.text(alphabet="abcdefgh ", min_size=0, max_size=30), max_size=5),
    st.integers(0, 23),
)
control = st.text(alphabet=[chr(c) for c in [*range(0, 32), 127, 0x2028, 0xFEFF]], min_size=1, max_size=20)
malformed_record = st.one_of(
    good_record.map(lambda r: {**r, "url": "https://a.example/" + "p" * 100_000}),  # a 100 kB URL
    good_record.map(lambda r: {**r, "url": "javascript:alert(document.cookie)"}),
    st.builds(lambda r, c: {**r, "html": f"<p>{c}</p>{r['html']}{c}"}, good_record, control),
    st.builds(lambda r, c: {**r, "url": r["url"] + c}, good_record, control),
    st.builds(lambda r, c: {**r, "title": c, "html": r["html"].replace("<title>", f"<title>{c}")}, good_record, control),
    good_record.map(lambda r: {**r, "html": ""}),
    good_record.map(lambda r: {**r, "html": "<div>" * 5000 + "<p>deep words here</p>"}),
    st.builds(lambda r, t: {**r, "timestamp": t}, good_record, st.sampled_from(
        ["2099-01-01T00:00:00Z", "2026-11-24T00:00:00Z", "yesterday", "", "2026-13-45T99:00:00Z", "0" * 60]
    )),
    st.builds(lambda r, key, value: {**r, key: value}, good_record, st.sampled_from(["url", "html", "timestamp"]),
              st.one_of(st.none(), st.integers(), st.floats(allow_nan=True), st.lists(st.integers(), max_size=2),
                        st.dictionaries(st.text(max_size=3), st.integers(), max_size=2), st.booleans())),
    good_record.map(lambda r: {k: v for k, v in r.items() if k != "timestamp"}),
)  # fmt: skip
junk_line = st.one_of(
    st.binary(max_size=80),  # binary junk, mostly invalid UTF-8
    st.binary(max_size=40).map(lambda b: b'{"url": "https://a.example/u", "html": "' + b + b'"}'),
    st.text(max_size=60).map(str.encode),
    st.sampled_from(
        [b"[]", b"{}", b"null", b"42", b'"text"', b'{"url": 1}', b"{", b"\xff\xfe{}", b"\x00" * 10]
    ),
    st.recursive(st.integers() | st.text(max_size=5), lambda c: st.lists(c, max_size=3), max_leaves=6).map(
        lambda v: json.dumps(v).encode()
    ),
)
line = st.one_of(
    good_record.map(lambda r: json.dumps(r).encode()),
    malformed_record.map(lambda r: json.dumps(r).encode()),
    junk_line,
)


def _as_lines(items: list[bytes]) -> bytes:
    return b"".join(item.replace(b"\n", b" ").replace(b"\r", b" ") + b"\n" for item in items)


def assert_every_row_accounted(store_uri: str, lines: int) -> dict:
    """Each stage's input = output + quarantined + deduplicated, each input is the layer below's output,
    every quarantined row is in the rejects, and every dataset meets its contract. Returns the sidecars."""
    store = open_store(store_uri)
    metas = {}
    for name, version, source in CHAIN:
        stage = pipeline.stage(name)
        meta = datasets.Dataset.open(store, pipeline.dataset_key(stage, DAY, version)).meta
        stats = meta["statistics"]
        upstream = metas[source]["statistics"]["rows"] if source else lines
        assert stats["input_rows"] == upstream, name
        removed = stats["quarantined"]["total"] + stats["duplicates_removed"]["total"]
        assert stats["rows"] + removed == stats["input_rows"], name
        rejects = datasets.Dataset.open(store, pipeline.quarantine_key(stage, DAY, version))
        assert rejects.rows == stats["quarantined"]["total"] == sum(1 for _ in rejects.records()), name
        checked, problems = cli_inspect.validate(store, pipeline.dataset_key(stage, DAY, version))
        assert problems == [], (name, problems)
        assert set(meta["quality"]) >= {
            "completeness",
            "uniqueness",
            "validity",
            "timeliness",
            "consistency",
            "accuracy",
        }
        metas[(name, version)] = meta
    return metas


@pytest.mark.slow
@settings(
    max_examples=6,
    deadline=None,
    # A whole pipeline run per example: shrinking a failure could take many minutes, so it is reported as found.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(lines=st.lists(line, min_size=1, max_size=25))
def test_rows_reconcile_through_every_stage(tmp_path_factory, labeler_service, lines):
    root = tmp_path_factory.mktemp("acct")
    crawl = root / "crawl.jsonl"
    crawl.write_bytes(_as_lines(lines) + ARTICLES)
    total = len(lines) + ARTICLES.count(b"\n")
    store_uri = f"file://{root / 'store'}"
    env = {"LABELER_URL": labeler_service.url, "LABELER_TOKEN": labeler_service.token}
    with mock.patch.dict(os.environ, env):
        code = cli.main(["run", "--store", store_uri, "--date", DAY, "--input", str(crawl), "--warn-only"])
    assert code == 0
    assert_every_row_accounted(store_uri, total)


def test_the_crawl_parts_of_the_property_test_are_what_they_claim():
    """The generators make what the docstring says (a generator bug would make the property test vacuous)."""
    from hypothesis import find

    assert len(find(malformed_record, lambda r: len(r.get("url", "")) >= 100_000)["url"]) > 100_000
    assert find(junk_line, lambda b: _invalid_utf8(b))
    assert find(malformed_record, lambda r: r.get("url", "").startswith("javascript:"))


def _invalid_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


@pytest.mark.slow
def test_huge_and_pathological_pages_run_in_bounded_time_and_memory(tmp_path, labeler_service):
    """30 MB of HTML, 200,000 nested tags, a 100 kB URL and friends, once, through every stage."""
    pathological = [
        {"url": "https://a.example/huge", "html": "<html><body><p>" + "word " * 6_000_000 + "</p></body></html>",
         "timestamp": f"{DAY}T01:00:00Z"},  # 30 MB: over the 10 MB page limit
        {"url": "https://a.example/nested", "html": "<html><body>" + "<div>" * 200_000 + "x</body></html>",
         "timestamp": f"{DAY}T02:00:00Z"},
        {"url": "https://a.example/" + "u" * 100_000, "html": "<p>long url</p>", "timestamp": f"{DAY}T03:00:00Z"},
        {"url": "javascript:void(0)", "html": "<p>x</p>", "timestamp": f"{DAY}T03:00:00Z"},
        {"url": "https://a.example/ctrl", "html": "<html><head><title>Ctrl\x00\x07\x1b</title></head><body><article>"
         + "<p>Text with \x00 NUL and \x0b controls that goes on long enough to be content.</p>" * 5
         + "</article></body></html>", "timestamp": f"{DAY}T04:00:00Z"},
        {"url": "https://a.example/future", "html": "<p>x</p>", "timestamp": "2099-01-01T00:00:00Z"},
        {"url": "https://a.example/badtime", "html": "<p>x</p>", "timestamp": "23/11/2026"},
        {"url": "https://a.example/empty", "html": "", "timestamp": f"{DAY}T05:00:00Z"},
        {"url": ["not", "a", "string"], "html": "<p>x</p>", "timestamp": f"{DAY}T05:00:00Z"},
    ]  # fmt: skip
    lines = [json.dumps(p).encode() for p in pathological] + [
        b"\xff\xfe\xfd binary",
        b"[1, 2, 3]",
        b'{"url": ',
    ]
    crawl = tmp_path / "crawl.jsonl"
    crawl.write_bytes(_as_lines(lines) + ARTICLES)
    store_uri = f"file://{tmp_path / 'store'}"
    # A fresh parent process, so its children's peak memory is this pipeline's alone.
    measure = (
        "import resource, subprocess, sys; code = subprocess.call(sys.argv[1:]); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(code)"
    )
    env = {**os.environ, "LABELER_URL": labeler_service.url, "LABELER_TOKEN": labeler_service.token,
           "MEDALLION_PROGRESS_SECONDS": "60"}  # fmt: skip
    started = time.monotonic()
    import subprocess

    result = subprocess.run(
        [sys.executable, "-c", measure, str(BIN / "medallion"), "run", "--store", store_uri, "--date", DAY,
         "--input", str(crawl), "--warn-only"],
        env=env, capture_output=True, timeout=600,
    )  # fmt: skip
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr.decode()[-3000:]
    peak_mib = int(result.stdout.decode().split()[-1]) / 1024
    print(f"pathological batch: {elapsed:.1f}s, peak RSS {peak_mib:.0f} MiB")
    assert elapsed < 120, f"took {elapsed:.0f}s"
    assert peak_mib < 1024, f"peak memory {peak_mib:.0f} MiB"
    metas = assert_every_row_accounted(store_uri, len(lines) + ARTICLES.count(b"\n"))
    raw = metas[("raw", None)]["statistics"]["quarantined"]["by_reason"]
    assert raw["html-too-large"] == 1 and raw["invalid-utf8"] == 1 and raw["future-timestamp"] == 1
    parsed = metas[("html-parsing", None)]["statistics"]["quarantined"]["by_reason"]
    assert parsed.get("too-deep", 0) + parsed.get("parse-timeout", 0) >= 1
