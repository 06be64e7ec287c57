"""ingest: every crawler line is either kept byte for byte or quarantined with its reason."""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from steps.ingest import Rejected, read_lines, validate_line

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

    from steps.ingest import read_lines

    lines = list(read_lines(io.BytesIO(b"x" * 100 + b"\n" + b'{"ok": 1}\n'), limit=10))
    assert lines[0][1] is False and len(lines[0][0]) <= 4096  # flagged line-too-large, only its head kept
    assert lines[1] == (b'{"ok": 1}\n', True)
