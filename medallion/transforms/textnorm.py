"""Text normalization by versioned rule sets: looking rules up, reading the config file, applying rules.

A version is an ordered list of named rules with parameters, read from ``medallion/config/text-normalization.yaml``;
adding a version is a config change, not code. This module validates versions against the registered
rules (``resolve``), loads the config file, and compiles a version into one function; it is what the
text-normalization stage imports. The rules live by level in ``textnorm_character_rules``,
``textnorm_markup_rules`` and ``textnorm_word_rules`` (importing them registers them in
``textnorm_registry``), and every rule's output is tidy as ``textnorm_primitives.tidy`` defines it.
Everything here is deterministic for a given Python (``unicodedata`` version) and pinned package set.
Heavy data (lemminflect's tables, simplemma's dictionaries, emoji's data, the Unicode category scan) is
loaded on first use by the rule that needs it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# Importing the rule modules registers their rules.
from medallion.transforms import (  # noqa: F401
    textnorm_character_rules,
    textnorm_markup_rules,
    textnorm_word_rules,
)
from medallion.transforms.textnorm_registry import REGISTRY, RuleConfigError


@dataclass(frozen=True)
class RuleSpec:
    """One rule of a version with its effective parameters (defaults filled in); treat ``params`` as read-only."""

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def key(self) -> tuple:
        """A hashable identity, e.g. for caching compiled rule sets."""
        return (self.name, tuple(sorted(self.params.items())))


# -- registry access ----------------------------------------------------------------------------------------


def rule_names() -> list[str]:
    """Registered rule names, sorted."""
    return sorted(REGISTRY)


def rule_description(name: str) -> str:
    """One sentence saying what the rule does, for metadata and docs."""
    if name not in REGISTRY:
        raise RuleConfigError(f"unknown rule {name!r}; registered rules: {', '.join(rule_names())}")
    return REGISTRY[name].description


def resolve(name: str, params: Mapping[str, Any] | None = None, where: str = "rule") -> RuleSpec:
    """A validated RuleSpec with defaults filled in; ``where`` prefixes error messages."""
    if name not in REGISTRY:
        raise RuleConfigError(f"{where}: unknown rule {name!r}; use one of: {', '.join(rule_names())}")
    params = {} if params is None else params
    if not isinstance(params, Mapping):
        raise RuleConfigError(f"{where}: 'params' must be a mapping such as {{language: en}}, got {params!r}")
    known = REGISTRY[name]
    for key, value in params.items():
        if key not in known.defaults:
            allowed = ", ".join(known.defaults) or "none"
            raise RuleConfigError(
                f"{where}: rule {name!r} has no parameter {key!r} (parameters: {allowed}); "
                "fix its spelling or remove it"
            )
        default = known.defaults[key]
        if type(value) is not type(default):  # exact: a YAML bool or int is not a str
            raise RuleConfigError(
                f"{where}: parameter {key!r} of rule {name!r} must be a {type(default).__name__} "
                f"like {default!r}, got {value!r}"
                + ("; quote it in the YAML" if isinstance(default, str) else "")
            )
        problem = known.checks.get(key, lambda _value: None)(value)
        if problem:
            raise RuleConfigError(f"{where}: parameter {key!r} of rule {name!r} {problem}")
    return RuleSpec(name, {**known.defaults, **params})


# -- the config file ----------------------------------------------------------------------------------------

VERSION_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")  # it names a dataset folder


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (plain YAML keeps the last one silently)."""


def _mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen = set()
    for key_node, _value in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


@dataclass(frozen=True)
class Version:
    name: str
    description: str
    rules: list[RuleSpec]


def load_config(path: str | Path) -> dict[str, Version]:
    """Every version of the rule-set file, validated: name -> Version(name, description, rules)."""
    path = Path(path)
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)  # a SafeLoader
    except FileNotFoundError as exc:
        raise RuleConfigError(
            f"rule-set file {path} does not exist: pass the right --config or create it "
            "(see medallion/config/text-normalization.yaml)"
        ) from exc
    except yaml.YAMLError as exc:
        raise RuleConfigError(f"rule-set file {path} is not valid YAML: {exc}") from exc
    if (
        not isinstance(doc, dict)
        or set(doc) != {"versions"}
        or not isinstance(doc["versions"], dict)
        or not doc["versions"]
    ):
        raise RuleConfigError(
            f"{path}: expected exactly one top-level key 'versions:' mapping each version name "
            "to its description and rules"
        )
    return {str(name): _version(path, name, body) for name, body in doc["versions"].items()}


def _version(path: Path, name: Any, body: Any) -> Version:
    where = f"{path}: version {name!r}"
    if not isinstance(name, str) or not VERSION_NAME_RE.fullmatch(name):
        raise RuleConfigError(
            f"{where}: a version name names a dataset folder; use letters, digits, '.', '_' or '-' such as v3"
        )
    if not isinstance(body, dict) or set(body) != {"description", "rules"}:
        raise RuleConfigError(
            f"{where}: expected exactly 'description:' and 'rules:', got "
            f"{sorted(body) if isinstance(body, dict) else body!r}"
        )
    if not isinstance(body["description"], str) or not body["description"].strip():
        raise RuleConfigError(
            f"{where}: 'description:' must be a non-empty string saying what the version does"
        )
    if not isinstance(body["rules"], list) or not body["rules"]:
        raise RuleConfigError(f"{where}: 'rules:' must be a non-empty list of rule names or {{name, params}}")
    specs = []
    for number, entry in enumerate(body["rules"], 1):
        rule_where = f"{where}, rule #{number}"
        if isinstance(entry, str):
            specs.append(resolve(entry, None, rule_where))
        elif (
            isinstance(entry, dict)
            and "name" in entry
            and set(entry) <= {"name", "params"}
            and isinstance(entry["name"], str)
        ):
            specs.append(resolve(entry["name"], entry.get("params"), f"{rule_where} {entry['name']!r}"))
        else:
            raise RuleConfigError(
                f"{rule_where}: a rule is a name or {{name: ..., params: {{...}}}}, got {entry!r}"
            )
    return Version(name, body["description"].strip(), specs)


def load_versions(path: str | Path) -> dict[str, list[RuleSpec]]:
    """Version name -> its ordered, validated rules."""
    return {name: version.rules for name, version in load_config(path).items()}


def load_version_descriptions(path: str | Path) -> dict[str, str]:
    """Version name -> its description."""
    return {name: version.description for name, version in load_config(path).items()}


# -- applying rules -----------------------------------------------------------------------------------------


def compile_rules(specs: Sequence[RuleSpec]) -> Callable[[str], str]:
    """One function applying the rules in order; specs are validated (defaults filled) here too."""
    steps = []
    for spec in specs:
        spec = resolve(spec.name, spec.params, f"rule {spec.name!r}")
        steps.append(functools.partial(REGISTRY[spec.name].fn, **spec.params))

    def apply(text: str) -> str:
        for step in steps:
            text = step(text)
        return text

    return apply


def describe(specs: Sequence[RuleSpec]) -> list[dict]:
    """The rules as the metadata sidecar lists them: name, effective params and description."""
    out = []
    for spec in specs:
        spec = resolve(spec.name, spec.params, f"rule {spec.name!r}")
        out.append(
            {"name": spec.name, "params": dict(spec.params), "description": rule_description(spec.name)}
        )
    return out
