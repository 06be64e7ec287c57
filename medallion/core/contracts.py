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
from typing import Any

from medallion.core.compiled import CompiledContract, as_json
from medallion.core.config import SCHEMA_DIR
from medallion.core.errors import MedallionError
from medallion.core.pipeline import ALL_STAGES
from medallion.core.timestamps import parse_timestamp

SHARED = "columns"  # the shared column definitions every record schema refers to
# The record contract of each dataset kind. A stage's main dataset is its stage name (the pipeline table);
# the others are the post-train stage's label issues and every stage's quarantined rejects.
OTHER_KINDS = ("label-issues", "rejects")
KINDS = (*dict.fromkeys(stage.kind for stage in ALL_STAGES), *OTHER_KINDS)


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


# -- jsonschema decides, a compiled copy answers first -------------------------------------------------------
# jsonschema is the reference: it decides every record and words every violation. Most records are valid, and
# the compiled copy (medallion/core/compiled.py) proves that in a fraction of the time; a record it does not
# accept goes to jsonschema. tests/test_contracts.py checks the two agree on arbitrary records.


# The formats the contracts name beyond JSON Schema's own: each is the very function the steps use, so a
# contract and the code can never disagree. Each takes a string and raises ValueError when it is not one.
FORMATS = {"crawl-timestamp": parse_timestamp}


@functools.cache
def format_checker():
    """The reference's checker for ``FORMATS``."""
    import jsonschema

    checker = jsonschema.FormatChecker(formats=())
    for name, function in FORMATS.items():
        # A format applies to strings only: the type keyword speaks for the rest.
        checker.checks(name, raises=ValueError)(lambda v, f=function: not isinstance(v, str) or f(v))
    return checker


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
        self._compiled = CompiledContract(schema, FORMATS)

    def violations(self, record: Any) -> list[Violation]:
        """Every violation of the contract ([] when the record holds)."""
        if self._compiled.accepts(record):
            return []
        row = as_json(record)
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
        if self._compiled.accepts(record):  # the common case, without a detour through violations()
            return None
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
