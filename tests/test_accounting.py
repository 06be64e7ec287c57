"""Every input row is accounted for, through every stage, whatever the crawler sends."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medallion import cli, datasets, pipeline
from medallion.store import open_store

DAY = "2026-11-23"
PAGE = "<html><head><title>{t}</title></head><body><article>{p}</article></body></html>"

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
bad_line = st.one_of(
    st.binary(max_size=60),
    st.text(max_size=60).map(str.encode),
    st.sampled_from(
        [
            b"[]",
            b"{}",
            b"null",
            b'{"url": 1}',
            b'{"url": "javascript:x", "html": "<p>x</p>", "timestamp": "2026-11-23"}',
            b'{"url": "https://a.example/", "html": "", "timestamp": "2026-11-23T00:00:00Z"}',
            b'{"url": "https://a.example/", "html": "<p>x</p>", "timestamp": "2099-01-01T00:00:00Z"}',
            b'{"url": "https://a.example/q", "html": "'
            + b"<div>" * 300
            + b'", "timestamp": "2026-11-23T01:00:00Z"}',
        ]
    ),
)
line = st.one_of(good_record.map(lambda r: json.dumps(r).encode()), bad_line)


@pytest.mark.slow
@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(lines=st.lists(line, min_size=1, max_size=25))
def test_rows_reconcile_through_every_stage(tmp_path_factory, lines):
    root = tmp_path_factory.mktemp("acct")
    crawl = root / "crawl.jsonl"
    crawl.write_bytes(b"".join(item.replace(b"\n", b" ").replace(b"\r", b" ") + b"\n" for item in lines))
    store_uri = f"file://{root / 'store'}"
    assert (
        cli.main(
            [
                "run",
                "--store",
                store_uri,
                "--date",
                DAY,
                "--input",
                str(crawl),
                "--until",
                "text-normalization",
            ]
        )
        == 0
    )
    store = open_store(store_uri)
    upstream_rows = len(lines)
    dropped = 0
    for name, version in [
        ("raw", None),
        ("url-normalization", None),
        ("html-parsing", None),
        ("text-normalization", "v1"),
    ]:
        stage = pipeline.stage(name)
        meta = datasets.Dataset.open(store, pipeline.dataset_key(stage, DAY, version)).meta
        stats = meta["statistics"]
        assert stats["input_rows"] == upstream_rows, name
        removed = stats["quarantined"]["total"] + stats["duplicates_removed"]["total"]
        assert stats["rows"] + removed == stats["input_rows"], name
        rejects = datasets.Dataset.open(store, pipeline.quarantine_key(stage, DAY, version))
        assert rejects.rows == stats["quarantined"]["total"] == sum(1 for _ in rejects.records())
        dropped += removed
        upstream_rows = stats["rows"]
    assert upstream_rows + dropped == len(lines)
