"""Crawl timestamps: the one parser every stage and contract uses; text in, aware UTC datetimes out.

Accepted (surrounding whitespace ignored):

- ISO 8601 extended date and time, as crawlers write it: ``2026-11-23T08:15:02Z``, with a space or ``T``
  between date and time, seconds optional, a fraction of up to 9 digits (kept to the microsecond), and
  ``Z``, a numeric offset (``+01:00`` or ``+0100``) or no zone (UTC);
- an RFC 1123 HTTP date: ``Mon, 23 Nov 2026 08:15:02 GMT``.

Anything else is refused: basic format (``20261123T081502Z``), week and ordinal dates, a date alone.
The raw contract names this parser as the ``crawl-timestamp`` format (``medallion/core/contracts.py``).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone

ACCEPTED = (
    "ISO 8601 date and time (2026-11-23T08:15:02Z; 'T' or a space; seconds and fraction optional; "
    "Z, +HH:MM, +HHMM or no zone for UTC) or an HTTP date (Mon, 23 Nov 2026 08:15:02 GMT)"
)
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
ISO_RE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{1,9}))?)?"
    r"(?:([Zz])|([+-])([0-9]{2}):?([0-9]{2}))?"
)
HTTP_RE = re.compile(
    r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), ([0-9]{1,2}) (" + "|".join(MONTHS) + r") ([0-9]{4}) "
    r"([0-9]{2}):([0-9]{2}):([0-9]{2}) GMT"
)


def parse_timestamp(text: str) -> datetime:
    """The aware UTC datetime of a crawl timestamp in one of the ``ACCEPTED`` forms.

    Raises ValueError saying what is accepted.
    """
    if not isinstance(text, str):
        raise ValueError(f"timestamp must be a string, got {type(text).__name__}")
    stripped = text.strip() if len(text) <= 64 else ""
    match = ISO_RE.fullmatch(stripped)
    if match and (fast := _fast(stripped, match)) is not None:
        return fast
    try:
        if match:
            year, month, day, hour, minute, second, fraction, _z, sign, off_h, off_m = match.groups()
            zone = UTC
            if sign:
                if int(off_m) > 59:
                    raise ValueError(f"offset minutes {off_m} out of range")
                offset = timedelta(hours=int(off_h), minutes=int(off_m))
                zone = timezone(-offset if sign == "-" else offset)
            micro = int((fraction or "0")[:6].ljust(6, "0"))
            moment = datetime(
                int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micro, zone
            )
            return moment.astimezone(UTC)
        if match := HTTP_RE.fullmatch(stripped):
            day, month, year, hour, minute, second = match.groups()
            month = MONTHS.index(month) + 1
            return datetime(int(year), month, int(day), int(hour), int(minute), int(second), tzinfo=UTC)
    except (ValueError, OverflowError) as exc:
        raise ValueError(
            f"timestamp {text[:64]!r} is not a real moment ({exc}); accepted: {ACCEPTED}"
        ) from exc
    raise ValueError(f"timestamp {text[:64]!r} is not in an accepted form; accepted: {ACCEPTED}")


def _fast(text: str, match: re.Match) -> datetime | None:
    """The common shape (no fraction, upper-case ``T`` or a space, ``Z`` or an offset of at most 59
    minutes) read by the C parser; None sends everything else, and any error, to the full reading."""
    if match[7] is not None or match[8] == "z" or text[10] == "t" or (match[9] and int(match[11]) > 59):
        return None
    try:
        moment = datetime.fromisoformat(text)
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def end_of_day(day: str) -> datetime:
    """The first instant after the batch date (UTC)."""
    return datetime.combine(date.fromisoformat(day), datetime.min.time(), tzinfo=UTC) + timedelta(days=1)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
