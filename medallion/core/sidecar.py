"""The YAML metadata sidecar: validated against ``medallion/schemas/sidecar.schema.json``, written last, read first."""

from __future__ import annotations

import ast
import functools
import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from medallion import __version__
from medallion.core.config import CONFIG_DIR, SCHEMA_DIR, SOURCE_ROOT
from medallion.core.errors import MedallionError
from medallion.core.store_interface import file_sha1  # noqa: F401  (re-exported: steps hash files through sidecar)

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
    """Package version plus a digest of what a stage's program is made of (``program_files``): the project
    modules in its import closure and the data files beside them, such as the record contracts in
    medallion/schemas/. Editing a module the stage does not import leaves its datasets up to date.

    Paths are digested relative to the folder holding the packages, so a checkout, an installed wheel and a
    stage image (which carries exactly these files) give the same value. Rule sets and quality gates are
    compared on their own (parameters, the gate config's SHA1).
    """
    digest = hashlib.sha1()
    for path in sorted(program_files(module)):
        digest.update(path.relative_to(SOURCE_ROOT).as_posix().encode())
        digest.update(path.read_bytes())
    return f"{__version__}+{digest.hexdigest()[:12]}"


def program_files(module: str) -> set[Path]:
    """What ``python -m module`` is made of: ``import_closure(module)`` plus the package data of those
    modules' packages (the files in their folders that are not packages: medallion/schemas/,
    medallion/transforms/stopwords/). The configuration (medallion/config/) is not part of the program."""
    files = import_closure(module)
    for folder in {path.parent for path in files}:
        for data in folder.iterdir():
            if data.is_dir() and _is_data_folder(data):
                files |= {f for f in data.rglob("*") if f.is_file() and not f.name.startswith(".")}
    return files


def _is_data_folder(folder: Path) -> bool:
    return (
        not (folder / "__init__.py").exists()
        and folder.name != "__pycache__"
        and not folder.name.startswith(".")
        and folder != CONFIG_DIR
    )


def import_closure(module: str) -> set[Path]:
    """The source files of ``module`` (and its ``__main__`` when it is a package), of the packages holding
    it and of every project module they import (absolutely or relatively, lazily or not), following them."""
    seen: set[Path] = set()
    todo = [module, f"{module}.__main__"]  # python -m <package> runs its __main__
    while todo:
        name = todo.pop()
        path = _module_file(name)
        if path is None or path in seen:
            continue
        seen.add(path)
        todo += [
            name.rsplit(".", depth)[0] for depth in range(1, name.count(".") + 1)
        ]  # its packages run too
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        todo += _imports(path, package)
    return seen


@functools.cache
def _imports(path: Path, package: str) -> tuple[str, ...]:
    """The module names a source file imports, absolutely or relatively (parsed once per process: the
    stages of one ``medallion run`` share most of their modules)."""
    names: list[str] = []
    for node in _statements(path.read_bytes()):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # from . import x, from ..core import y
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            names += [base] + [f"{base}.{alias.name}" for alias in node.names]
    return tuple(names)


def _statements(source: bytes) -> Iterator[ast.stmt]:
    """Every statement of a module, nested ones (in functions, classes, branches, handlers) included.

    An import is always a statement, so expressions, which are most of a module's nodes, are never
    visited: several times faster than ``ast.walk`` over a stage's closure."""
    stack: list[ast.AST] = [ast.parse(source)]
    while stack:
        node = stack.pop()
        for name in ("body", "orelse", "finalbody", "handlers", "cases"):
            children = getattr(node, name, None)
            if isinstance(children, list):
                stack.extend(children)
        if isinstance(node, ast.stmt):
            yield node


def _module_file(name: str) -> Path | None:
    """The project's source file of module ``name`` (None: not the project's)."""
    parts = name.split(".")
    if parts[0] not in ("medallion", "steps"):
        return None
    path = SOURCE_ROOT.joinpath(*parts)
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None
