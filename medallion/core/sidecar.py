"""The YAML metadata sidecar: validated against ``schemas/sidecar.schema.json``, written last, read first."""

from __future__ import annotations

import functools
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from medallion import __version__
from medallion.core.config import REPO_ROOT, SCHEMA_DIR
from medallion.core.errors import MedallionError
from medallion.core.store import file_sha1  # noqa: F401  (re-exported: steps hash files through sidecar)

SIDECAR_SUFFIX = ".meta.yaml"
SAMPLE_ROWS = 3
SAMPLE_CHARS = 160


class SidecarError(MedallionError, ValueError):
    """A sidecar is missing, unreadable, or does not match its schema."""


def sidecar_key(data_key: str) -> str:
    return data_key + SIDECAR_SUFFIX


@functools.cache
def load_schema(name: str) -> dict:
    return json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text())


@functools.cache
def _validator():
    import jsonschema

    schema = load_schema("sidecar")
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def validate(meta: dict, where: str = "sidecar") -> dict:
    errors = sorted(_validator().iter_errors(meta), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"- {'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}" for e in errors[:10]]
        raise SidecarError(f"{where} does not match schemas/sidecar.schema.json:\n" + "\n".join(lines))
    return meta


def dumps(meta: dict) -> str:
    return yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=110)


def loads(text: str | bytes, where: str = "sidecar") -> dict:
    try:
        meta = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SidecarError(f"{where} is not valid YAML: {exc}") from exc
    if not isinstance(meta, dict):
        raise SidecarError(f"{where} is not a YAML mapping")
    return validate(meta, where)


def loads_plain(text: str | bytes) -> dict:
    """A YAML mapping that is not a sidecar (a failed run's quality report)."""
    value = yaml.safe_load(text)
    if not isinstance(value, dict):
        raise SidecarError("expected a YAML mapping")
    return value


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def sample_value(value: Any) -> Any:
    """A sample cell as shown in metadata: long strings cut, timestamps as ISO text."""
    if isinstance(value, str) and len(value) > SAMPLE_CHARS:
        return value[:SAMPLE_CHARS] + f"... [{len(value)} chars]"
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return value


@functools.cache
def code_version(module: str) -> str:
    """Package version plus a digest of what a stage's program is made of: the project modules in its import
    closure (``module`` and every ``medallion``/``steps`` module it imports, lazily or not) and the record
    contracts in schemas/. Editing a module the stage does not import leaves its datasets up to date.

    Rule sets and quality gates are compared on their own (parameters, the gate config's SHA1).
    """
    digest = hashlib.sha1()
    for path in sorted(import_closure(module)) + sorted(SCHEMA_DIR.glob("*.schema.json")):
        digest.update(str(path.relative_to(REPO_ROOT)).encode())
        digest.update(path.read_bytes())
    return f"{__version__}+{digest.hexdigest()[:12]}"


def import_closure(module: str) -> set[Path]:
    """The source files of ``module`` and of every project module it imports, following them all."""
    import ast

    seen: set[Path] = set()
    todo = [module]
    while todo:
        path = _module_file(todo.pop())
        if path is None or path in seen:
            continue
        seen.add(path)
        for node in ast.walk(ast.parse(path.read_bytes())):
            if isinstance(node, ast.Import):
                todo += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                todo += [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
    return seen


def _module_file(name: str) -> Path | None:
    """The project's source file of module ``name`` (None: not the project's)."""
    parts = name.split(".")
    if parts[0] not in ("medallion", "steps"):
        return None
    path = REPO_ROOT.joinpath(*parts)
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None
