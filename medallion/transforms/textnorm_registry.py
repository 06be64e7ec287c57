"""The registry of text-normalization rules: where each rule module registers its functions.

A rule is a function ``(text, **params) -> str`` registered with the ``@rule`` decorator under a name, a
one-sentence description and its parameter defaults (which also fix each parameter's type), plus optional
checks of parameter values. This module only stores rules; looking them up, validating rule sets and
applying them is ``textnorm``'s job, and the rules themselves live in the ``textnorm_*_rules`` modules.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


class RuleConfigError(ValueError):
    """A rule set is wrong; the message names the file, version and rule, what is wrong and what to do."""


Check = Callable[[Any], "str | None"]  # a parameter value -> None if fine, else what is wrong


@dataclass(frozen=True)
class Rule:
    name: str
    fn: Callable[..., str]
    description: str
    defaults: Mapping[str, Any]
    checks: Mapping[str, Check] = field(default_factory=dict)


REGISTRY: dict[str, Rule] = {}


def rule(name: str, description: str, *, checks: Mapping[str, Check] | None = None, **defaults: Any):
    """Register ``fn(text, **params)`` as rule ``name``; ``defaults`` declares every parameter and its type."""

    def register(fn: Callable[..., str]) -> Callable[..., str]:
        REGISTRY[name] = Rule(name, fn, description, dict(defaults), dict(checks or {}))
        return fn

    return register
