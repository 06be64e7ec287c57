"""The interface every label source implements (``LabelSource``), what it answers per document
(``Labeled`` or ``Unlabeled`` with a quarantine reason), and what the providers share. The providers and
the registry of ``--label-source`` are in ``sources`` (and ``llm``)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from medallion.core.errors import MedallionError, StepFailed
from medallion.core.store_interface import Store
from medallion.core.taxonomy import Taxonomy
from medallion.labeling.api import cache_prefix


class LabelSourceError(MedallionError, ValueError):
    """``--label-source`` names no known source, or its argument is wrong; found before anything runs."""


@dataclass(frozen=True)
class Labeled:
    category: str
    confidence: float
    annotators: int
    source: str  # the row's label_source column: "api:<labeler>", "llm:<provider>/<model>", "label-studio"


@dataclass(frozen=True)
class Unlabeled:
    reason: str  # the quarantine reason, counted in the sidecar
    detail: str


@dataclass(frozen=True)
class Identity:
    params: dict[str, Any]  # the dataset's parameters: other parameters, another dataset
    source: dict[str, Any]  # the external source in the sidecar
    process: list[dict]


class Documents(Protocol):
    """The batch to label: a dataset, or anything that reads its records (tests pass plain rows)."""

    def records(self, columns: list[str] | None = None) -> Iterator[dict]: ...


class LabelSource(ABC):
    """One provider of labels. Built as ``cls(argument, args)``: ``argument`` is what follows ``kind:`` in
    ``--label-source`` (None when the source takes none), ``args`` the step's parsed options."""

    kind: ClassVar[str]  # what --label-source names it by
    argument: ClassVar[str | None] = None  # what follows "kind:" (shown in messages); None: nothing does
    params: ClassVar[tuple[str, ...]] = ()  # the stage's Params (pipeline) only this source takes

    @classmethod
    def check(cls, argument: str | None) -> None:
        """Raise LabelSourceError when ``argument`` is wrong; quick, before anything runs. Here: that a
        source taking an argument got one."""
        if cls.argument is not None and not argument:
            raise LabelSourceError(f"--label-source {cls.kind}:{cls.argument}: {cls.argument} is empty")

    @abstractmethod
    def identify(self, version: str, committed: dict | None, force: bool) -> Identity:
        """This run's identity; ``committed`` is the sidecar of the dataset already there (or None)."""

    @abstractmethod
    def prepare(self, store: Store, documents: Documents, taxonomy: Taxonomy) -> list[str]:
        """Get the labels of the batch ready (``taxonomy``: the categories a label may be); returns
        warnings for the console."""

    @abstractmethod
    def label(self, row: dict) -> Labeled | Unlabeled:
        """One document's label, or why it has none."""

    @classmethod
    def replay(cls, meta: dict, store: Store, scratch: Store) -> tuple[list[str], dict[str, str]]:
        """The options (and environment) that label the run ``meta`` records again (``medallion
        reproduce``), bringing into ``scratch`` what that needs."""
        raise StepFailed(f"labels from {cls.kind} cannot be replayed: {meta['dataset']} cannot be reproduced")

    def statistics(self) -> dict:
        """What the sidecar's statistics record about this source's labels."""
        return {}

    def summary(self) -> list[str]:
        """Lines for the console once every document is labeled."""
        return []


def unchanged(identified: Taxonomy | None, taxonomy: Taxonomy) -> Taxonomy:
    """``taxonomy``, checked to be the one the run was identified with."""
    if identified is not None and taxonomy.sha1 != identified.sha1:
        raise StepFailed(
            f"the taxonomy {taxonomy.path} changed while the step ran (SHA1 {identified.sha1[:12]} when "
            f"the run was identified, {taxonomy.sha1[:12]} now); nothing was labeled: run it again"
        )
    return taxonomy


def copy_cache(meta: dict, store: Store, scratch: Store, labeler: str) -> None:
    """Bring the label cache of the run ``meta`` records into ``scratch``: its labels are replayed, none paid."""
    taxonomy_sha1 = (meta.get("taxonomy") or {}).get("sha1")
    if not taxonomy_sha1:
        raise StepFailed(
            f"{meta['dataset']} was labeled before labels were cached per taxonomy: it cannot be reproduced"
        )
    for cached in store.list(cache_prefix(labeler, taxonomy_sha1)):
        scratch.write_bytes(cached, store.read_bytes(cached))
