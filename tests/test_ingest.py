"""ingest: every crawler line is either kept byte for byte or quarantined with its reason."""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medallion.runtime.crawlfile import read_lines
from steps.ingest import Rejected, validate_line

DAY = "2026-11-23"
GOOD = {
    "url": "https://news.example.com/a",
    "html": "<html><body><p>x</p></body></html>",
    "timestamp": "2026-11-23T08:00:00Z",
}


def line(obj) -> bytes:
    return json.dumps(obj).encode()


def test_valid_line_is_accepted():
    record = validate_line(line(GOOD), DAY)
    assert record.url == GOOD["url"] and record.timestamp.hour == 8


@pytest.mark.parametrize(
    "raw, reason",
    [
        (b"", "empty-line"),
        (b"   \t", "empty-line"),
        (b"\xff\xfe{}", "invalid-utf8"),
        (b'{"url": ', "invalid-json"),
        (b"[1, 2]", "not-an-object"),
        (b'"just a string"', "not-an-object"),
        (line({k: v for k, v in GOOD.items() if k != "html"}), "missing-field"),
        (line({**GOOD, "url": None}), "missing-field"),
        (line({**GOOD, "html": 42}), "wrong-type"),
        (line({**GOOD, "timestamp": 1732345678}), "wrong-type"),
        (line({**GOOD, "url": "javascript:alert(1)"}), "invalid-url"),
        (line({**GOOD, "url": "ftp://files.example.com/x"}), "invalid-url"),
        (line({**GOOD, "url": "https://" + "a" * 100_000 + ".com/"}), "invalid-url"),
        (line({**GOOD, "html": "  "}), "empty-html"),
        (line({**GOOD, "timestamp": "yesterday"}), "invalid-timestamp"),
        (line({**GOOD, "timestamp": "2026-11-25T00:00:00Z"}), "future-timestamp"),
    ],
)
def test_bad_lines_are_rejected_with_a_reason(raw, reason):
    with pytest.raises(Rejected) as caught:
        validate_line(raw, DAY)
    assert caught.value.reason == reason
    assert caught.value.detail


def test_html_size_limit():
    with pytest.raises(Rejected, match="limit") as caught:
        validate_line(line({**GOOD, "html": "x" * 101}), DAY, max_html_chars=100)
    assert caught.value.reason == "html-too-large"


def test_overlong_lines_are_cut_without_reading_them_whole():
    data = b"a" * 5000 + b"\n" + line(GOOD) + b"\nlast-no-newline"
    out = list(read_lines(io.BytesIO(data), limit=1000))
    assert [complete for _, complete in out] == [False, True, True]
    assert len(out[0][0]) <= 4096
    assert out[2][0] == b"last-no-newline"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_any_bytes_are_accepted_or_rejected_never_crash(raw):
    try:
        validate_line(raw, DAY)
    except Rejected as exc:
        assert exc.reason


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=4),
        max_leaves=20,
    )
)
def test_any_json_value_is_accepted_or_rejected(value):
    try:
        validate_line(json.dumps(value).encode(), DAY)
    except Rejected as exc:
        assert exc.reason in {
            "not-an-object",
            "missing-field",
            "wrong-type",
            "invalid-url",
            "empty-html",
            "invalid-timestamp",
            "future-timestamp",
            "empty-line",
            "invalid-json",
        }


def test_a_line_over_the_limit_is_cut_and_skipped_without_reading_it_whole():
    import io

    from medallion.runtime.crawlfile import read_lines

    lines = list(read_lines(io.BytesIO(b"x" * 100 + b"\n" + b'{"ok": 1}\n'), limit=10))
    assert lines[0][1] is False and len(lines[0][0]) <= 4096  # flagged line-too-large, only its head kept
    assert lines[1] == (b'{"ok": 1}\n', True)


# -- one contract, checked at the door: timestamps ---------------------------------------------------------

ACCEPTED_TIMESTAMPS = {  # as written -> the moment, UTC
    "2026-11-23T08:15:02Z": "2026-11-23T08:15:02Z",
    "2026-11-23t08:15:02z": "2026-11-23T08:15:02Z",
    "2026-11-23 08:15:02": "2026-11-23T08:15:02Z",
    "2026-11-23T08:15Z": "2026-11-23T08:15:00Z",
    "2026-11-23T08:15:02.5Z": "2026-11-23T08:15:02.500000Z",
    "2026-11-23T09:15:02.123456789+01:00": "2026-11-23T08:15:02.123456Z",
    "2026-11-23T09:45:02+0130": "2026-11-23T08:15:02Z",
    "2026-11-23T03:15:02-05:00": "2026-11-23T08:15:02Z",
    "  2026-11-23T08:15:02Z\t": "2026-11-23T08:15:02Z",
    "Mon, 23 Nov 2026 08:15:02 GMT": "2026-11-23T08:15:02Z",
    "Tue, 3 Nov 2026 08:15:02 GMT": "2026-11-03T08:15:02Z",
}
REJECTED_TIMESTAMPS = [
    "20261123T081502Z",  # basic format: datetime.fromisoformat takes it, the contracts did not
    "2026-W48-1",  # week date
    "2026-W48-1T08:15:02Z",
    "2026-327",  # ordinal date
    "2026-11-23",  # a date alone says nothing about freshness within the day
    "2026-11-23T08",
    "2026-11-23T0815",
    "2026-11-23T08:15:02 +01:00",
    "2026-11-23T08:15:02.Z",
    "2026-11-23T08:15:02.1234567890Z",
    "2026-13-01T00:00:00Z",
    "2026-02-30T00:00:00Z",
    "2026-11-23T24:00:00Z",
    "2026-11-23T08:15:60Z",
    "2026-11-23T08:15:02+24:00",
    "2026-11-23T08:15:02+01:75",
    "0000-01-01T00:00:00Z",
    "0001-01-01T00:00:00+01:00",  # before year 1 in UTC
    "\uff12\uff10\uff12\uff16-11-23T08:15:02Z",  # fullwidth digits
    "\u0662\u0660\u0662\u0666-11-23T08:15:02Z",  # Arabic-Indic digits
    "Monday, 23-Nov-26 08:15:02 GMT",  # RFC 850
    "Mon Nov 23 08:15:02 2026",  # asctime
    "Mon, 23 Nov 2026 08:15:02 +0000",
    "Mon, 23 nov 2026 08:15:02 GMT",
    "1732345678",
    "yesterday",
    "",
    "2026-11-23T08:15:02Z" + " " * 60,
]


@pytest.mark.parametrize("text, moment", ACCEPTED_TIMESTAMPS.items())
def test_accepted_timestamp_forms(text, moment):
    from medallion.core.timestamps import iso

    assert iso(validate_line(line({**GOOD, "timestamp": text}), DAY).timestamp) == moment


@pytest.mark.parametrize("text", REJECTED_TIMESTAMPS)
def test_other_timestamp_forms_are_rejected_saying_what_is_accepted(text):
    with pytest.raises(Rejected) as caught:
        validate_line(line({**GOOD, "timestamp": text}), DAY)
    assert caught.value.reason == "invalid-timestamp"
    assert "accepted: ISO 8601 date and time" in caught.value.detail and "GMT" in caught.value.detail


# -- duplicate keys ---------------------------------------------------------------------------------------

GOOD_TEXT = json.dumps(GOOD)[1:-1]


@pytest.mark.parametrize(
    "text, key",
    [
        ('{"url": "https://b.example/", ' + GOOD_TEXT + "}", "url"),
        ("{" + GOOD_TEXT + ', "timestamp": "2026-11-23T09:00:00Z"}', "timestamp"),
        ("{" + GOOD_TEXT + ', "\\u0075rl": "https://b.example/"}', "url"),  # the same key, escaped
        ("{" + GOOD_TEXT + ', "meta" : {"a:b": 1, "a:b" : 2}}', "a:b"),  # nested, spaces, colons
        ("{" + GOOD_TEXT + ', "x": [{"k": ":"}, {"k": "\\u003a", "k": 1}]}', "k"),
        ("{" + GOOD_TEXT + ', "x": ":", "x": 1}', "x"),
    ],
)
def test_a_key_twice_in_one_object_is_quarantined(text, key):
    with pytest.raises(Rejected) as caught:
        validate_line(text.encode(), DAY)
    assert caught.value.reason == "duplicate-key"
    assert repr(key) in caught.value.detail


@pytest.mark.parametrize(
    "extra",
    [
        ', "meta": {"url": 1, "html": {"url": 2}}',  # the same key in different objects is fine
        ', "x": [{"k": 1}, {"k": 2}]',
        ', "colons": "a:b::c", "esc": "\\u003a\\\\\\":", "k:ey": {":": ":"}',
        ', "json_ld": "{\\"@type\\":\\"NewsArticle\\",\\"url\\":\\"https://a\\"}"',
    ],
)
def test_keys_repeated_only_across_objects_or_inside_strings_are_fine(extra):
    validate_line(("{" + GOOD_TEXT + extra + "}").encode(), DAY)


def test_a_line_without_repeated_keys_is_parsed_once(monkeypatch):
    """The duplicate check counts colons; the stdlib parser runs only for a line that needs it."""
    import steps.ingest

    def refuse(*_args, **_kwargs):
        raise AssertionError("parsed a second time")

    monkeypatch.setattr(steps.ingest.json, "loads", refuse)
    html = '<script type="application/ld+json">{"@type": "NewsArticle", "url": "x"}</script><p>a: b</p>'
    validate_line(line({**GOOD, "html": html, "meta": {"crawler": "c:1", "tags": ["x:y"]}}), DAY)


def _members(draw, depth):
    """A JSON object's text whose keys may repeat, and the repeated key the reference parser sees."""
    pairs = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["a", "b", "a:b", ":", "u", "\\u0075", "\\u003a"]),
                st.none() if depth > 1 else st.sampled_from(["obj", "list", "str"]),
            ),
            max_size=4,
        )
    )
    parts = []
    for key, kind in pairs:
        value = draw(st.sampled_from(['":"', '"\\u003a"', "1", '"a:b"', '"\\":"']))
        if kind == "obj":
            value = _members(draw, depth + 1)
        elif kind == "list":
            value = "[" + _members(draw, depth + 1) + "]"
        space = draw(st.sampled_from(["", " ", "\t"]))
        parts.append(f'"{key}"{space}:{value}')
    return "{" + ", ".join(parts) + "}"


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_the_duplicate_check_agrees_with_a_parser_that_sees_every_pair(data):
    import orjson

    from steps.ingest import repeated_key

    text = _members(data.draw, 0)
    repeats = []

    def hook(pairs):
        keys = [k for k, _ in pairs]
        repeats.extend(k for i, k in enumerate(keys) if k in keys[:i])

    json.loads(text, object_pairs_hook=hook)
    found = repeated_key(text.encode(), orjson.loads(text))
    assert (found is not None) == bool(repeats), text
    assert found is None or found in repeats


# -- compressed crawl files -------------------------------------------------------------------------------


def _crawl_bytes() -> bytes:
    rows = [
        {**GOOD, "url": f"https://news.example.com/{i}", "html": f"<p>caf\u00e9 {i}</p>"} for i in range(40)
    ]
    lines = [json.dumps(r, ensure_ascii=i % 2 == 0).encode() for i, r in enumerate(rows)]
    return b"\n".join(lines[:20]) + b"\r\nnot json\n" + b"\n".join(lines[20:])  # no final newline


def _ingest(tmp_path, crawl: str, stdin: bytes | None = None, store: str | None = None):
    """Run ingest as its CLI into a fresh store: (result, the store, raw's data bytes or None, its sidecar)."""
    from conftest import run_cli

    from medallion.core import pipeline
    from medallion.core.datasets import read_meta
    from medallion.core.store import open_store

    store = store or f"file://{tmp_path / 'store'}"
    result = run_cli("-m", "steps.ingest", "--store", store, "--date", DAY, "--input", crawl, stdin=stdin)
    key = pipeline.dataset_key(pipeline.stage("raw"), DAY)
    s = open_store(store)
    if not s.exists(key):
        return result, s, None, None
    return result, s, s.read_bytes(key), read_meta(s, key)


@pytest.mark.parametrize("compression", ["gzip", "zstd", "gzip named crawl.jsonl", "zstd from stdin"])
def test_compressed_crawls_give_the_same_raw_data_as_the_plain_file(tmp_path, compression):
    import gzip

    import zstandard

    from medallion.core.sidecar import file_sha1

    data = _crawl_bytes()
    plain = tmp_path / "plain.jsonl"
    plain.write_bytes(data)
    _, _, expected, expected_meta = _ingest(tmp_path / "a", str(plain))
    assert expected_meta["statistics"]["rows"] == 40
    packed = gzip.compress(data) if compression.startswith("gzip") else zstandard.compress(data)
    path = tmp_path / ("crawl.jsonl" if "named" in compression else f"crawl.jsonl.{compression[:4]}")
    path.write_bytes(packed)
    stdin = "stdin" in compression
    result, _, got, meta = _ingest(
        tmp_path / "b", "-" if stdin else str(path), stdin=packed if stdin else None
    )
    assert result.returncode == 0, result.stderr.decode()
    assert got == expected  # byte for byte, CRLF and the missing final newline included
    assert meta["sha1"] == expected_meta["sha1"]
    assert meta["statistics"]["quarantined"] == expected_meta["statistics"]["quarantined"]
    (source,) = [s for s in meta["sources"] if s["kind"] in ("file", "stdin")]
    assert source["sha1"] == file_sha1(path) != file_sha1(plain)  # the compressed file as received


def test_a_zstd_crawl_on_s3_is_read_too(tmp_path, s3_env):
    import zstandard

    data = _crawl_bytes()
    bucket = s3_env.new_bucket()
    s3_env.client().put_object(Bucket=bucket, Key="drop/crawl.jsonl", Body=zstandard.compress(data))
    result, _, got, meta = _ingest(tmp_path, f"s3://{bucket}/drop/crawl.jsonl")
    assert result.returncode == 0, result.stderr.decode()
    _, _, expected, _ = _ingest(tmp_path / "plain", "-", stdin=data)
    assert got == expected and meta["statistics"]["rows"] == 40


def _bz2(data: bytes) -> bytes:
    import bz2

    return bz2.compress(data)


def _zip(data: bytes) -> bytes:
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("crawl.jsonl", data)
    return out.getvalue()


@pytest.mark.parametrize(
    "pack, says",
    [
        (_bz2, "is bzip2-compressed"),
        (_zip, "is a zip archive"),
        (lambda data: bytes(range(256)) * 64, "is binary data"),
        (lambda data: __import__("gzip").compress(bytes(range(256)) * 64), "is gzip-compressed binary data"),
        (lambda data: __import__("gzip").compress(data)[:-40], "is a damaged gzip stream"),
    ],
    ids=["bz2", "zip", "binary", "gzip-binary", "gzip-cut"],
)
def test_a_file_that_is_not_a_crawl_fails_with_one_clear_line(tmp_path, pack, says):
    path = tmp_path / "crawl.jsonl"
    path.write_bytes(pack(_crawl_bytes() * 50))
    result, store, data, _ = _ingest(tmp_path, str(path))
    err = result.stderr.decode()
    assert result.returncode == 1
    assert says in err and (
        "damaged" in says or "accepted: JSON Lines in UTF-8, optionally gzip- or zstd" in err
    )
    assert err.count("\n") == 1 and "Traceback" not in err
    assert data is None and not list(store.list("html-classification/quarantine/"))


@pytest.mark.parametrize(
    "head, kind",
    [
        (b'{"url": "x"}\n', "text"),
        (b"", "text"),
        ("caf\u00e9 \u2603\n".encode() * 100, "text"),
        (b"\xe9t\xe9\n" + b"ascii line\n" * 20, "text"),  # a stray Latin-1 line: quarantined, not refused
        (
            b"\xff\xfe{}\n" + b"\x00" * 10 + b"\n" + b'{"url": "https://a.example/"}\n' * 20,
            "text",
        ),  # junk lines
        (b"\x1f\x8b\x08\x00", "gzip"),
        (b"\x28\xb5\x2f\xfd", "zstd"),
        (b"\xfd7zXZ\x00\x00", "xz-compressed"),
        (b"\xff\xfe{\x00", "UTF-16 text"),
        (b"PAR1\x15\x04", "a Parquet file"),
        (bytes(range(128, 256)) * 8, "binary data (not UTF-8 text)"),
        (b"\x7fELF\x02\x01\x01" + b"\x00" * 100, "binary data (NUL bytes)"),
        (b"\x89PNG\r\n", "a PNG image"),
    ],
)
def test_sniff_tells_a_crawl_by_its_first_bytes(head, kind):
    from medallion.runtime.crawlfile import sniff

    assert sniff(head) == kind


def test_a_cut_zstd_stream_is_an_error_not_a_short_crawl(tmp_path):
    import zstandard

    from medallion.core.errors import StepFailed
    from steps.ingest import crawl_lines, open_crawl

    data = _crawl_bytes() * 200
    frames = zstandard.compress(data[:5000]) + zstandard.compress(data[5000:])
    path = tmp_path / "crawl.zst"
    path.write_bytes(frames)
    with open_crawl(path, "crawl.zst") as (stream, kind):
        assert kind == "zstd" and b"".join(line for line, _ in crawl_lines(stream, kind, "x")) == data
    path.write_bytes(frames[:-20])
    cut = pytest.raises(StepFailed, match="damaged zstd stream: .*ends inside a frame")
    with cut, open_crawl(path, "crawl.zst") as (stream, kind):
        list(crawl_lines(stream, kind, "crawl.zst"))
