"""Crawl timestamps: ISO 8601 text in, aware UTC datetimes out."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta


def parse_timestamp(text: str) -> datetime:
    """Parse an ISO 8601 timestamp (``Z`` or an offset; no zone means UTC) into an aware UTC datetime.

    Raises ValueError with what was wrong.
    """
    if not isinstance(text, str):
        raise ValueError(f"timestamp must be an ISO 8601 string, got {type(text).__name__}")
    stripped = text.strip()
    if not stripped or len(stripped) > 40:
        raise ValueError(f"timestamp {text[:60]!r} is not ISO 8601")
    try:
        moment = datetime.fromisoformat(stripped.replace("z", "Z"))
    except ValueError as exc:
        raise ValueError(f"timestamp {text!r} is not ISO 8601 (e.g. 2026-11-23T08:15:02Z)") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def end_of_day(day: str) -> datetime:
    """The first instant after the batch date (UTC)."""
    return datetime.combine(date.fromisoformat(day), datetime.min.time(), tzinfo=UTC) + timedelta(days=1)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
