"""The document columns the silver, gold and post-train datasets share: one type and one meaning each.

A stage names the columns it writes; its Parquet schema and the sidecar's ``columns`` section come from
here, so the same column means the same thing in every layer.
"""

from __future__ import annotations

COLUMNS: dict[str, tuple[str, str]] = {
    # name: (Arrow type, meaning for the business)
    "url": ("string", "Canonical URL of the page (the document's identity)."),
    "host": ("string", "Host of the canonical URL, without www."),
    "timestamp": ("timestamp", "When the page was crawled (UTC); the freshest of its duplicates."),
    "title": ("string", "The article headline, without the site-name suffix."),
    "content": (
        "string",
        "The main content as plain text, one paragraph per line; navigation, headers, footers, "
        "asides, forms, scripts, cookie banners and link-dense blocks removed.",
    ),
    "description": ("string", "The page's meta description ('' when it has none)."),
    "language": ("string", "ISO 639-1 code of the content's language, detected from the text (py3langid)."),
    "encoding": ("string", "Character encoding the page declares in its markup ('' when it declares none)."),
    "text": (
        "string",
        "Title and content joined by a blank line, then normalized by the version's rules: the "
        "classifier's input.",
    ),
    "category": ("string", "The document's topic category: the training label."),
    "label_source": (
        "string",
        "Where the label came from: api:<labeler name>, label-studio (human annotators), "
        "or cleanlab (relabeled in post-train).",
    ),
    "label_confidence": (
        "float64",
        "The labeler's confidence, the share of annotators who chose the label, or "
        "cleanlab's probability of the label it suggested.",
    ),
    "annotators": ("int32", "How many labels the category was decided from (1 for the API)."),
}


def _arrow(kind: str):
    import pyarrow as pa

    return {
        "string": pa.string(),
        "timestamp": pa.timestamp("us", tz="UTC"),
        "float64": pa.float64(),
        "int32": pa.int32(),
    }[kind]


def schema(names: list[str], extra: list[tuple[str, object]] | None = None):
    """The Parquet schema of ``names`` (shared columns, in that order), then ``extra`` (name, Arrow type)."""
    import pyarrow as pa

    return pa.schema([(name, _arrow(COLUMNS[name][0])) for name in names] + list(extra or []))


def meanings(names: list[str], extra: dict[str, str] | None = None) -> dict[str, str]:
    """The sidecar's ``columns`` section: what each column means, with stage-specific wording in ``extra``."""
    return {name: COLUMNS[name][1] for name in names} | (extra or {})
