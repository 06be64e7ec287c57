"""Data contracts: the JSON Schema every record of a dataset kind must match (``schemas/<kind>.schema.json``).

Steps check each record they read against their input's contract and each record they write against
their output's; a record that fails is quarantined under ``contract:<field>:<rule>`` (``input-contract:``
for input) instead of being written. ``medallion validate URI`` checks a whole committed dataset.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from medallion.core.config import SCHEMA_DIR
from medallion.core.errors import MedallionError

SHARED = "columns"  # the shared column definitions every record schema refers to
# The record contract of each dataset kind: a stage's main dataset is its stage name.
KINDS = (
    "raw",
    "url-normalization",
    "html-parsing",
    "text-normalization",
    "annotated",
    "train",
    "post-train",
    "label-issues",
    "rejects",
)


@dataclass(frozen=True)
class Violation:
    """One way a record breaks its contract: the field, the JSON Schema keyword that failed, and why."""

    field: str
    rule: str
    message: str

    def reason(self, prefix: str = "contract") -> str:
        field = self.field.replace("/", ".").lower()
        return f"{prefix}:{field}:{self.rule.lower()}"


class ContractError(MedallionError, ValueError):
    """A dataset as a whole does not match the contract a step expects of it."""


def schema_path(kind: str):
    return SCHEMA_DIR / f"{kind}.schema.json"


@functools.cache
def load(kind: str) -> dict:
    if kind not in KINDS and kind != SHARED:
        raise KeyError(f"no contract for {kind!r}; contracts are: {', '.join(KINDS)}")
    return json.loads(schema_path(kind).read_text())


def _inline(node: Any) -> Any:
    """The schema with references to the shared column definitions replaced by the definitions.

    Validation is then a plain walk, about five times faster than resolving references per record.
    """
    if isinstance(node, dict):
        ref = node.get("$ref", "")
        if ref.startswith(f"{SHARED}.schema.json#/$defs/"):
            definition = load(SHARED)["$defs"][ref.rsplit("/", 1)[1]]
            return {**_inline(definition), **{k: _inline(v) for k, v in node.items() if k != "$ref"}}
        return {k: _inline(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline(v) for v in node]
    return node


@functools.cache
def fingerprint(kind: str) -> str:
    """SHA1 of the contract file and the shared column definitions: changes whenever the contract does."""
    digest = hashlib.sha1()
    for name in (kind, SHARED):
        digest.update(schema_path(name).read_bytes())
    return digest.hexdigest()


def describe(kind: str) -> dict:
    """How a sidecar names the contract its records were checked against."""
    return {"name": kind, "schema": f"schemas/{kind}.schema.json", "sha1": fingerprint(kind)}


def _plain(value: Any) -> Any:
    # Records carry datetimes (Parquet timestamps); the contract sees them as ISO 8601 text.
    if isinstance(value, datetime):
        return value.isoformat()
    return value


# -- a fast path for the common case -----------------------------------------------------------------------
# jsonschema is the reference. Most records are valid, and proving that for the few keywords the contracts
# use is a handful of plain checks; a record the fast path cannot prove valid goes to jsonschema, which
# decides (and words the violation). tests/test_contracts.py checks the two agree on arbitrary records.

ANNOTATIONS = {"description", "title", "$schema", "$id"}


@functools.cache
def format_checker():
    """The formats the contracts name beyond JSON Schema's own: each is the very function the steps use, so a
    contract and the code can never disagree (``crawl-timestamp``: ``medallion.core.timestamps.parse_timestamp``)."""
    import jsonschema

    from medallion.core.timestamps import parse_timestamp

    checker = jsonschema.FormatChecker(formats=())
    # A format applies to strings only: the type keyword speaks for the rest.
    checker.checks("crawl-timestamp", raises=ValueError)(
        lambda v: not isinstance(v, str) or parse_timestamp(v)
    )
    return checker


TYPES = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "null": lambda v: v is None,
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}


def fast_check(schema: dict):
    """A predicate that returns True only for records ``schema`` surely accepts (False: ask jsonschema)."""
    import re

    checks = []
    for keyword, value in schema.items():
        if keyword in ANNOTATIONS:
            continue
        if keyword == "type":
            kinds = [value] if isinstance(value, str) else value
            if not all(k in TYPES for k in kinds):
                return lambda _v: False
            tests = [TYPES[k] for k in kinds]
            checks.append(lambda v, tests=tests: any(t(v) for t in tests))
        elif keyword in ("minLength", "maxLength"):
            low = keyword == "minLength"
            checks.append(
                lambda v, n=value, low=low: not isinstance(v, str) or (len(v) >= n if low else len(v) <= n)
            )
        elif keyword == "pattern":
            checks.append(lambda v, rx=re.compile(value): not isinstance(v, str) or rx.search(v) is not None)
        elif keyword in ("minimum", "maximum"):
            low = keyword == "minimum"
            number = TYPES["number"]
            checks.append(
                lambda v, n=value, low=low, number=number: not number(v) or (v >= n if low else v <= n)
            )
        elif keyword == "enum" and all(isinstance(e, str) for e in value):
            checks.append(lambda v, allowed=frozenset(value): isinstance(v, str) and v in allowed)
        elif keyword == "format" and value in format_checker().checkers:
            checks.append(lambda v, f=value: format_checker().conforms(v, f))
        elif keyword == "minItems":
            checks.append(lambda v, n=value: not isinstance(v, list) or len(v) >= n)
        elif keyword == "items" and isinstance(value, dict):
            item = fast_check(value)
            checks.append(lambda v, item=item: not isinstance(v, list) or all(item(x) for x in v))
        elif keyword == "required":
            checks.append(lambda v, keys=tuple(value): not isinstance(v, dict) or all(k in v for k in keys))
        elif keyword == "properties":
            props = {name: fast_check(sub) for name, sub in value.items()}
            checks.append(
                lambda v, props=props: (
                    not isinstance(v, dict) or all(p(v[k]) for k, p in props.items() if k in v)
                )
            )
        elif keyword == "additionalProperties" and isinstance(value, bool):
            if not value:
                known = frozenset(schema.get("properties", {}))
                checks.append(lambda v, known=known: not isinstance(v, dict) or known.issuperset(v))
        else:
            return lambda _v: False  # a keyword the fast path does not know: jsonschema decides every record
    return lambda v: all(check(v) for check in checks)


class Contract:
    """The compiled contract of one kind, optionally narrowed to the columns a reader actually reads."""

    def __init__(self, kind: str, columns: Iterable[str] | None = None):
        import jsonschema

        self.kind = kind
        schema = _inline(load(kind))
        if columns is not None:
            unknown = [c for c in columns if c not in schema["properties"]]
            if unknown and schema.get("additionalProperties") is False:
                raise ContractError(f"the {kind} contract has no column(s) {unknown}")
            keep = [c for c in columns if c in schema["properties"]]
            schema["properties"] = {c: schema["properties"][c] for c in keep}
            schema["required"] = [c for c in schema["required"] if c in keep]
        self.columns = tuple(schema["properties"])
        self.required = tuple(schema["required"])
        self._validator = jsonschema.Draft202012Validator(schema, format_checker=format_checker())
        self._surely_valid = fast_check(schema)

    def violations(self, record: Any) -> list[Violation]:
        """Every violation of the contract ([] when the record holds)."""
        row = {k: _plain(v) for k, v in record.items()} if isinstance(record, dict) else record
        if self._surely_valid(row) or self._validator.is_valid(row):
            return []
        found = []
        for error in sorted(self._validator.iter_errors(row), key=lambda e: (list(e.path), e.validator)):
            field = "/".join(str(p) for p in error.path) or "(record)"
            message = error.message if len(error.message) < 300 else error.message[:300] + "..."
            if error.validator == "required":
                missing = [f for f in error.validator_value if f not in row and f"{f!r}" in error.message]
                field = missing[0] if missing else field
            elif error.validator == "additionalProperties":
                extra = sorted(set(row) - set(self.columns))
                field = extra[0] if extra else field
            found.append(Violation(field=field, rule=str(error.validator), message=message))
        return found

    def check(self, record: Any) -> Violation | None:
        """The first violation, or None when the record holds."""
        found = self.violations(record)
        return found[0] if found else None


def contract(kind: str, columns: tuple[str, ...] | None = None) -> Contract:
    """The compiled contract, narrowed to ``columns`` when given (compiled once per process and narrowing).

    Columns the contract does not know are an error when it allows no others, and ignored otherwise, so
    the cache holds at most one entry per subset of the contract's own columns.
    """
    if columns is None:
        return _compiled(kind, None)
    schema = load(kind)
    unknown = [c for c in columns if c not in schema["properties"]]
    if unknown and schema.get("additionalProperties") is False:
        raise ContractError(f"the {kind} contract has no column(s) {unknown}")
    return _compiled(kind, tuple(c for c in schema["properties"] if c in columns))


@functools.cache
def _compiled(kind: str, columns: tuple[str, ...] | None) -> Contract:
    return Contract(kind, columns)


def check_dataset(meta: dict, kind: str) -> None:
    """A committed dataset can be read as ``kind``: it was checked against that contract and has its columns.

    Raises ``ContractError`` saying what differs and how to fix it.
    """
    where = meta.get("dataset", "the dataset")
    declared = (meta.get("contract") or {}).get("name")
    if declared != kind:
        raise ContractError(
            f"{where} was written under contract {declared!r}, not {kind!r}: rebuild it with --force"
        )
    missing = [c for c in load(kind)["required"] if c not in meta.get("schema", {})]
    if missing:
        raise ContractError(
            f"{where} lacks the column(s) {missing} that schemas/{kind}.schema.json requires: "
            "rebuild it with --force"
        )
