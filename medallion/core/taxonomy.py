"""The label set as configuration: ``taxonomy.yaml`` in the configuration folder (``--config-dir``,
``MEDALLION_CONFIG_DIR``, or the package's default, the demo's six categories).

Every component that knows categories takes them from here; the sidecars of the stages whose rows carry a
category record the taxonomy (``describe``) and its SHA1, so a changed taxonomy rebuilds them.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from medallion.core import config
from medallion.core.config import ConfigError

NAME = re.compile(
    r"[^\s\x00-\x1f\x7f](?:[^\x00-\x1f\x7f]{0,62}[^\s\x00-\x1f\x7f])?"
)  # 1-64, no control chars


class TaxonomyError(ConfigError):
    """``taxonomy.yaml`` is missing or malformed; the message names the file and the entry to fix."""


@dataclass(frozen=True)
class Category:
    name: str
    description: str
    examples: tuple[str, ...] = ()


@dataclass(frozen=True)
class Taxonomy:
    categories: tuple[Category, ...]
    path: Path
    sha1: str  # of the categories themselves (``canonical``): comments and layout of the file do not count

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(category.name for category in self.categories)

    def describe(self) -> dict:
        """What a sidecar records: where it came from, its SHA1 and the whole label set, in order (enough
        to write the same taxonomy again, as ``medallion reproduce`` does)."""
        return {"path": _shown(self.path), "sha1": self.sha1, "categories": as_entries(self.categories)}


def as_entries(categories: tuple[Category, ...]) -> list[dict]:
    return [
        {
            "name": c.name,
            "description": c.description,
            **({"examples": list(c.examples)} if c.examples else {}),
        }
        for c in categories
    ]


def canonical_sha1(categories: tuple[Category, ...]) -> str:
    """The taxonomy's identity: the SHA1 of its categories as canonical JSON."""
    text = json.dumps(as_entries(categories), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha1(text.encode()).hexdigest()


def path() -> Path:
    return config.config_dir() / "taxonomy.yaml"


def load(file: Path | None = None) -> Taxonomy:
    """The taxonomy of ``file`` (default: the configuration folder's), checked: TaxonomyError."""
    file = file or path()
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise TaxonomyError(
            f"cannot read the taxonomy {file}: {exc.strerror or exc}; a configuration folder "
            "(--config-dir, MEDALLION_CONFIG_DIR) must hold taxonomy.yaml"
        ) from exc
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise TaxonomyError(f"{file} is not valid YAML: {exc}") from exc
    entries = data.get("categories") if isinstance(data, dict) else None
    if not isinstance(entries, list) or len(entries) < 2:
        raise TaxonomyError(f"{file} must have `categories:`, a list of at least two {{name, description}}")
    categories, seen = [], set()
    for number, entry in enumerate(entries, 1):
        categories.append(_category(file, number, entry, seen))
    return Taxonomy(tuple(categories), file, canonical_sha1(tuple(categories)))


def _category(file: Path, number: int, entry, seen: set[str]) -> Category:
    where = f"{file}: category {number}"
    if not isinstance(entry, dict) or set(entry) - {"name", "description", "examples"}:
        raise TaxonomyError(f"{where} must be a mapping of name, description and optional examples")
    name, description = entry.get("name"), entry.get("description")
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise TaxonomyError(
            f"{where}: name must be 1 to 64 characters without control characters, got {name!r}"
        )
    if name in seen:
        raise TaxonomyError(f"{where}: {name!r} is listed twice")
    seen.add(name)
    if not isinstance(description, str) or not description.strip():
        raise TaxonomyError(f"{where} ({name}): a description is required: it is what a labeler reads")
    examples = entry.get("examples") or []
    if not isinstance(examples, list) or not all(isinstance(e, str) and e.strip() for e in examples):
        raise TaxonomyError(f"{where} ({name}): examples must be a list of texts")
    return Category(name, description.strip(), tuple(examples))


def _shown(file: Path) -> str:
    """The file as a sidecar names it: relative to the package for the default, else as given."""
    return (
        file.relative_to(config.SOURCE_ROOT).as_posix()
        if file.is_relative_to(config.SOURCE_ROOT)
        else str(file)
    )
