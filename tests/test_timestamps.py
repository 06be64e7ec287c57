"""The one timestamp parser: its fast reading of the common shape agrees with the full reading everywhere."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medallion.core import timestamps


def two(low: int, high: int):
    return st.integers(low, high).map(lambda n: f"{n:02d}")


SHAPES = st.builds(
    lambda y, mo, d, sep, h, mi, s, frac, zone: f"{y}-{mo}-{d}{sep}{h}:{mi}{s}{frac}{zone}",
    st.one_of(st.integers(0, 9999), st.sampled_from([0, 1, 9999])).map(lambda n: f"{n:04d}"),
    two(0, 13),
    two(0, 32),
    st.sampled_from(["T", "t", " "]),
    two(0, 25),
    two(0, 61),
    st.one_of(st.just(""), two(0, 61).map(lambda s: f":{s}")),
    st.sampled_from(["", ".5", ".123456", ".1234567"]),
    st.one_of(
        st.sampled_from(["", "Z", "z"]),
        st.builds(
            lambda sign, h, m, colon: f"{sign}{h}{colon}{m}",
            st.sampled_from("+-"),
            two(0, 24),
            two(0, 99),
            st.sampled_from(["", ":"]),
        ),
    ),
)


def full(text: str):
    """The full reading alone: the result, or the error message."""
    saved = timestamps._fast
    timestamps._fast = lambda _text, _match: None
    try:
        return timestamps.parse_timestamp(text)
    except ValueError as exc:
        return str(exc)
    finally:
        timestamps._fast = saved


def reading(text: str):
    try:
        return timestamps.parse_timestamp(text)
    except ValueError as exc:
        return str(exc)


@settings(max_examples=3000, deadline=None)
@given(SHAPES)
def test_the_fast_reading_agrees_with_the_full_one(text):
    assert reading(text) == full(text)


@pytest.mark.parametrize(
    "text",
    ["2026-11-23T08:15:02Z", "2026-11-23 08:15:02+0100", "2026-11-23T08:15-05:30", "2026-11-23T08:15:02"],
)
def test_the_common_shape_takes_the_fast_reading(text):
    match = timestamps.ISO_RE.fullmatch(text)
    assert timestamps._fast(text, match) == full(text)
    assert timestamps._fast(text, match) is not None
