"""The compiled copy of a record contract: jsonschema-rs checks the structure and the contract's own format
functions check the formatted columns, in one call, with no Python code handed to the Rust side.

jsonschema stays the reference (``medallion/core/contracts.py``): it decides every record this copy does not
accept, and words the violation. The copy differs from the schema file only where the engines differ, and
``tests/test_contracts.py`` checks that the two agree on arbitrary records:

- formats: a KeyboardInterrupt raised inside a Python format callback is swallowed by jsonschema-rs
  ("Exception ignored ..."), so the copy has no ``format`` keyword; ``accepts`` runs each formatted column's
  function itself, after the Rust side has returned.
- patterns: the Rust engine's ``\\s``, ``\\d``, ``\\w`` and ``.`` are not surely Python's (``\\s`` lacks
  \\x1c-\\x1f and \\x85 and adds U+FEFF, ``\\d`` is ASCII), and its ``$`` does not match before a final
  newline; each pattern is respelled with the exact sets of Python's ``re``.
- values the Rust side reads differently (a tuple is an array there, not for jsonschema) or cannot read
  (a lone surrogate, a set, a non-string key) are left to the reference.
"""

from __future__ import annotations

import array
import functools
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

# Escapes both engines read alike; any other letter escape is refused rather than guessed at.
PLAIN_ESCAPES = frozenset("ntrfv")
HEX_ESCAPES = {"x": 2, "u": 4, "U": 8}
GROUP_OPENERS = ("(?:", "(?=", "(?!", "(?<=", "(?<!", "(?P<", "(?i:", "(?i)")
END = r"(?=\n?\z)"  # Python's $ without MULTILINE: the end, or just before a final newline


def as_json(record: Any) -> Any:
    """The record as a contract sees it: datetimes (Parquet timestamps) as ISO 8601 text."""
    if not isinstance(record, dict):
        return record
    row = record
    for key, value in record.items():  # one plain pass: the cheapest way over a handful of columns
        if isinstance(value, datetime):
            if row is record:
                row = dict(record)
            row[key] = value.isoformat()
    return row


@functools.cache
def _python_classes() -> dict[str, str]:
    r"""What Python's ``\d``, ``\s`` and ``\w`` match, each as the inside of a Rust character class.

    Read off ``re`` itself over every code point (about 0.1 s, once per process).
    """
    everything = array.array("I", range(0x110000)).tobytes().decode("utf-32-le", "surrogatepass")
    classes = {}
    for letter in "dsw":
        spans = (m.span() for m in re.finditer(f"\\{letter}+", everything))
        classes[letter] = "".join(
            rf"\x{{{a:x}}}" if b == a + 1 else rf"\x{{{a:x}}}-\x{{{b - 1:x}}}" for a, b in spans
        )
    return classes


def _python_class(letter: str) -> str:
    return _python_classes()[letter]


def respell(pattern: str) -> str:
    """``pattern`` (a Python ``re`` pattern, as jsonschema runs it) spelled so the Rust engine matches the same
    strings. Raises ValueError for a construct whose meaning the two engines might not share."""
    folded = pattern.replace("(?i:", "(?:").replace("(?i)", "")
    if folded != pattern and (not folded.isascii() or re.search(r"[iI\[]|\\[wW]", folded)):
        # Case-insensitive, the engines agree on single ASCII letters but i (Python's re also folds ı and İ
        # to it, Rust does not), so classes and non-ASCII characters are refused there.
        raise ValueError(f"pattern {pattern!r}: this case-insensitive pattern has no respelling")
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            letter = pattern[i + 1 : i + 2]
            if letter in ("d", "s", "w"):
                out.append(_python_class(letter) if in_class else f"[{_python_class(letter)}]")
            elif letter in ("D", "S", "W") and not in_class:
                out.append(f"[^{_python_class(letter.lower())}]")
            elif letter == "Z" and not in_class:
                out.append(r"\z")
            elif letter == "A" and not in_class or letter in PLAIN_ESCAPES:
                out.append(ch + letter)
            elif letter in HEX_ESCAPES:
                digits = pattern[i + 2 : i + 2 + HEX_ESCAPES[letter]]
                if len(digits) < HEX_ESCAPES[letter] or not all(
                    c in "0123456789abcdefABCDEF" for c in digits
                ):
                    raise ValueError(f"pattern {pattern!r}: malformed \\{letter} escape")
                out.append(rf"\x{{{digits}}}")
                i += len(digits)
            elif letter and letter.isascii() and not letter.isalnum():
                out.append(rf"\x{{{ord(letter):x}}}")  # an escaped character stands for itself: say which
            else:
                raise ValueError(
                    f"pattern {pattern!r}: \\{letter} has no respelling for the compiled contract"
                )
            i += 2
            continue
        if in_class:
            if ch == "]" and out[-1] not in ("[", "[^"):
                in_class = False
            elif ch in "[&~" or (ch == "-" and pattern[i + 1 : i + 2] == "-"):
                ch = "\\" + ch  # set operators and nested classes in Rust, plain characters in Python
            out.append(ch)
        elif ch == "[":
            in_class = True
            negated = pattern[i + 1 : i + 2] == "^"
            out.append("[^" if negated else "[")
            i += 1 + negated
            continue
        elif ch == "(" and pattern[i + 1 : i + 2] == "?":
            opener = next((o for o in GROUP_OPENERS if pattern.startswith(o, i)), None)
            if opener is None:
                raise ValueError(f"pattern {pattern!r}: group {pattern[i : i + 4]!r}... has no respelling")
            out.append(opener)
            i += len(opener)
            continue
        else:
            out.append({"$": END, ".": r"[^\n]"}.get(ch, ch))
        i += 1
    return "".join(out)


def _copy(node: Any, formats: Mapping[str, Callable], formatted: list, at: tuple = ()) -> Any:
    """The schema with patterns respelled and formats taken out (a column's format goes to ``formatted``)."""
    if isinstance(node, list):
        return [_copy(v, formats, formatted, at) for v in node]
    if not isinstance(node, dict):
        return node
    copy = {}
    for key, value in node.items():
        if key == "format":
            if value in formats:
                if len(at) != 2 or at[0] != "properties":
                    where = "/".join(at) or "the record"
                    raise ValueError(f"format {value!r} at {where}: only a column's format can be compiled")
                formatted.append((at[1], formats[value]))
            continue  # a format the reference does not check is an annotation: nothing to check here either
        if key in ("const", "enum", "default", "examples"):
            copy[key] = value  # values, not schemas
        elif key == "pattern" and isinstance(value, str):
            copy[key] = respell(value)
        elif key == "patternProperties":
            copy[key] = {respell(k): _copy(v, formats, formatted, (*at, key, k)) for k, v in value.items()}
        elif key in ("properties", "$defs") and isinstance(value, dict):
            copy[key] = {k: _copy(v, formats, formatted, (*at, key, k)) for k, v in value.items()}
        else:
            copy[key] = _copy(value, formats, formatted, (*at, key))
    return copy


def _array_columns(schema: dict) -> tuple[str, ...] | None:
    """The columns where a tuple could pass for an array on the Rust side (None: any column could).

    A tuple is an array to the Rust side and not to jsonschema; below a column it is never a question, as
    the contracts' arrays hold numbers, which a tuple is to neither engine.
    """
    if schema.get("additionalProperties", True) not in (True, False) or "patternProperties" in schema:
        return None
    columns = schema.get("properties", {})
    types = {name: column.get("type", "array") for name, column in columns.items()}  # untyped: anything
    return tuple(name for name, typ in types.items() if "array" in ([typ] if isinstance(typ, str) else typ))


class CompiledContract:
    """The compiled copy of one (inlined, possibly narrowed) contract schema."""

    def __init__(self, schema: dict, formats: Mapping[str, Callable[[str], object]]):
        import jsonschema_rs

        # (column, its format's function: raises ValueError for a string not in the format)
        self.formatted: list[tuple[str, Callable[[str], object]]] = []
        self.schema = _copy(schema, formats, self.formatted)
        self._array_columns = _array_columns(self.schema)
        self._is_valid = jsonschema_rs.Draft202012Validator(
            self.schema, validate_formats=False, pattern_options=jsonschema_rs.FancyRegexOptions()
        ).is_valid

    def accepts(self, record: Any) -> bool:
        """True only when jsonschema accepts ``record`` too; False: ask jsonschema."""
        if isinstance(record, dict):
            record = as_json(record)
            columns = record if self._array_columns is None else self._array_columns
            if columns and any(isinstance(record.get(column), tuple) for column in columns):
                return False
        try:
            if not self._is_valid(record):
                return False
        except (ValueError, TypeError, OverflowError):
            return False  # a value the Rust side cannot read
        if not isinstance(record, dict):
            return True  # columns' formats apply to objects only
        for column, check in self.formatted:
            value = record.get(column)
            # A format applies to strings only: the type keyword speaks for the rest.
            if isinstance(value, str):
                try:
                    check(value)
                except ValueError:
                    return False
        return True
