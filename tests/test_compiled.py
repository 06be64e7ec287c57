"""The compiled copy of the contracts (medallion/core/compiled.py): patterns respelled for the Rust engine
match what Python's re matches, what it cannot read is left to jsonschema, and no Python callback reaches it.

Its agreement with jsonschema on whole records is tests/test_contracts.py's property test."""

from __future__ import annotations

import json
import re
from datetime import datetime

import jsonschema_rs
import pytest
from hypothesis import given, settings
from test_contracts import GOOD, _nodes, around, edge

from medallion.core import compiled, contracts
from medallion.core.timestamps import parse_timestamp

PATTERNS = sorted(
    {
        node["pattern"]
        for kind in contracts.KINDS
        for node in _nodes(contracts._inline(contracts.load(kind)))
        if isinstance(node, dict) and "pattern" in node
    }
)


@pytest.mark.parametrize("pattern", PATTERNS)
@settings(max_examples=300, deadline=None)
@given(text=edge | around(["https://a.example/x", "http://a", "a.example", "[::1]", "en", "api:x", "label-studio", "x", "2026-11-23T08:00:00.123+01:00"]))  # fmt: skip
def test_every_contract_pattern_respelled_matches_what_python_re_matches(pattern, text):
    rust = jsonschema_rs.validator_for(
        {"pattern": compiled.respell(pattern)}, pattern_options=jsonschema_rs.FancyRegexOptions()
    )
    assert rust.is_valid(text) == (re.search(pattern, text) is not None)


@pytest.mark.parametrize("pattern", [r"\bword", r"(?s)a.b", r"(\w)\1", r"(?i:[a-z])", r"(?i)in", r"[\S]"])
def test_a_pattern_the_engines_might_read_apart_is_refused(pattern):
    with pytest.raises(ValueError, match="no respelling"):
        compiled.respell(pattern)


HANDED_OFF = [
    ("train", {"probabilities": (0.2, 0.8)}),  # an array for the Rust side, not for jsonschema
    ("annotated", {"label_confidence": float("nan")}),  # not JSON: the Rust side refuses it
    ("html-parsing", {"content": "lone \ud800 surrogate", "title": "\udfff", "language": "\ud800"}),
    ("raw", {"extra": {1, 2}}),  # not JSON
    ("raw", {3: "a non-string key"}),
    ("text-normalization", {"timestamp": datetime(2026, 11, 23, 8)}),  # naive: no zone in its ISO text
]


@pytest.mark.parametrize("kind,change", HANDED_OFF)
def test_what_the_rust_side_reads_otherwise_is_left_to_jsonschema(kind, change):
    record = {**GOOD[kind], **change}
    contract = contracts.contract(kind)
    reference = contract._validator.is_valid(compiled.as_json(record))
    assert reference or not contract._compiled.accepts(record)
    assert (contract.check(record) is None) == reference


def test_the_compiled_copy_hands_the_rust_side_no_python_callback():
    """A Ctrl-C inside a Python format callback is swallowed by jsonschema-rs: formats are checked beside it."""
    assert contracts.contract("raw")._compiled.formatted == [("timestamp", parse_timestamp)]
    for kind in contracts.KINDS:
        schema = contracts.contract(kind)._compiled.schema
        assert not [n for n in _nodes(schema) if isinstance(n, dict) and "format" in n], kind
        json.dumps(schema)  # plain data: nothing callable in it
