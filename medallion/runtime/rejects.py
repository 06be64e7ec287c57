"""The quarantine record: what a step writes for every row it rejects, with the reason and the row."""

from __future__ import annotations

from datetime import datetime
from typing import Any

REJECT_RECORD_LIMIT = 1 << 20  # a quarantined record keeps at most 1 MiB per field, with its full size noted

REJECT_SCHEMA = {
    "position": "int64",
    "reason": "string",
    "detail": "string",
    "url": "string",
    "record": "json",
}
REJECT_COLUMNS = {
    "position": "Zero-based position of the record in the stage's input (line number for the crawl file).",
    "reason": "Machine-readable reason the record was rejected; counted in the sidecar.",
    "detail": "Human-readable explanation of what was wrong.",
    "url": "The record's URL when it had one, for tracing.",
    "record": "The rejected record itself (long strings cut at 1 MiB, noting their full length).",
}


def reject_entry(position: int, reason: str, detail: str, record: Any, url: str | None = None) -> dict:
    return {"position": position, "reason": reason, "detail": detail, "url": url, "record": jsonable(record)}


def jsonable(value: Any) -> Any:
    """A value as it goes into a reject record (datetimes as ISO text, huge strings cut)."""
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, str) and len(value) > REJECT_RECORD_LIMIT:
        return {"truncated": value[:REJECT_RECORD_LIMIT], "length": len(value)}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    return value


def url_of(row: Any) -> str | None:
    """The row's URL when it has one, for tracing a rejected row."""
    url = row.get("url") if isinstance(row, dict) else None
    return url if isinstance(url, str) else None
