"""The client of the paid labeling API: batches, bounded concurrency, retries, a label cache, a budget.

Paid calls are precious, so:
- every request names the taxonomy's categories (name, description, examples): one labeling service serves
  several projects, each asking within its own label set;
- every document's label is cached in the store, keyed by the labeler's name, the taxonomy's SHA1 (the same
  text asked under another taxonomy is another question) and the SHA1 of the text sent, and written after
  each successful batch: a re-run, a ``--force`` rebuild or a resumed run never pays twice;
- the answer is cached as given, even one naming a category outside the taxonomy (it was paid for): whoever
  reads a label checks it against the taxonomy (``Label.outside``), so such an answer is quarantined on
  every run, never taken for a label, and never paid for twice;
- 429 answers are retried after their ``Retry-After``; 5xx answers, timeouts and refused connections with
  exponential backoff and jitter; after ``max_retries`` the run stops with a clear message and keeps
  what it paid for;
- a budget caps how many documents one run may send.
The bearer token is sent in a header and never appears in messages, logs or metadata.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import random
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import orjson

from medallion.core.errors import MedallionError
from medallion.core.pipeline import LABEL_CACHE_ROOT
from medallion.core.store_interface import Store
from medallion.core.taxonomy import Taxonomy

CACHE_ROOT = LABEL_CACHE_ROOT


class LabelingFailed(MedallionError, RuntimeError):
    """The API could not be reached or kept failing; what was paid for is in the cache."""


class BudgetExhausted(LabelingFailed):
    """This run's budget of paid documents is spent."""


@dataclass(frozen=True)
class Label:
    category: str | None
    confidence: float

    def outside(self, names: Sequence[str]) -> bool:
        """True when the answer names a category that is not one of ``names`` (None is no answer)."""
        return self.category is not None and self.category not in names


@dataclass
class Usage:
    """What this run did: documents paid for, served from the cache, requests and retries."""

    paid: int = 0
    cached: int = 0
    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    sleep_seconds: float = 0.0

    def as_dict(self) -> dict:
        return {k: round(v, 3) if isinstance(v, float) else v for k, v in self.__dict__.items()}


def text_key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()


def labeler_id(name: str) -> str:
    """The cache namespace of a labeler: a digest of its name (``LABELER_NAME``), never of its URL."""
    return hashlib.sha1(name.encode()).hexdigest()[:16]


def cache_prefix(labeler: str, taxonomy_sha1: str) -> str:
    """Where the labels one labeler (``labeler_id``) gave under one taxonomy (its SHA1) are cached."""
    return f"{CACHE_ROOT}/{labeler}/{taxonomy_sha1[:16]}/"


def request_categories(taxonomy: Taxonomy) -> list[dict]:
    """The taxonomy as the request's ``categories`` (schemas/labeling-api.openapi.yaml), in order."""
    return [
        {
            "name": c.name,
            "description": c.description,
            **({"examples": list(c.examples)} if c.examples else {}),
        }
        for c in taxonomy.categories
    ]


class LabelCache:
    """Labels already paid for, per labeler and taxonomy, as JSON Lines objects in the store (one per paid
    batch). The answers are kept as given: check them with ``Label.outside``."""

    def __init__(self, store: Store, labeler: str, taxonomy_sha1: str):
        self.store = store
        self.taxonomy_sha1 = taxonomy_sha1
        self.prefix = cache_prefix(labeler, taxonomy_sha1)
        self.labels: dict[str, Label] = {}
        for key in store.list(self.prefix):
            for line in store.read_bytes(key).splitlines():
                if line.strip():
                    entry = orjson.loads(line)
                    self.labels[entry["key"]] = Label(entry["category"], entry["confidence"])

    def get(self, key: str) -> Label | None:
        return self.labels.get(key)

    def lookup(self, documents: Iterable[tuple[str, str]]) -> dict[str, Label] | None:
        """The labels of ``(id, text)`` documents when every one is cached (nothing to pay for), else None."""
        labels = {doc_id: self.get(text_key(text)) for doc_id, text in documents}
        return None if None in labels.values() else labels

    def split(
        self, documents: Iterable[tuple[str, str]], usage: Usage
    ) -> tuple[dict[str, Label], dict[str, list[str]], dict[str, str]]:
        """``(id, text)`` documents split into the cached labels (counted in ``usage``) and what is left to
        ask: text key -> the ids sharing that text (identical text is paid once), and text key -> text."""
        labels: dict[str, Label] = {}
        todo: dict[str, list[str]] = {}
        texts: dict[str, str] = {}
        for doc_id, text in documents:
            key = text_key(text)
            hit = self.get(key)
            if hit is not None:
                labels[doc_id] = hit
                usage.cached += 1
                continue
            todo.setdefault(key, []).append(doc_id)
            texts[key] = text
        return labels, todo, texts

    def add(self, entries: dict[str, Label]) -> None:
        if not entries:
            return
        body = b"".join(
            orjson.dumps({"key": k, "category": v.category, "confidence": v.confidence}) + b"\n"
            for k, v in sorted(entries.items())
        )
        self.store.write_bytes(f"{self.prefix}{hashlib.sha1(body).hexdigest()}.jsonl", body)
        self.labels.update(entries)


@dataclass
class LabelingClient:
    url: str
    token: str
    taxonomy: Taxonomy  # its categories go with every request
    batch_size: int = 32
    concurrency: int = 4
    timeout: float = 10.0
    max_retries: int = 6
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    budget: int | None = None  # documents this run may pay for
    usage: Usage = field(default_factory=Usage)
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=lambda: random.Random(0))

    @property
    def endpoint(self) -> str:
        return self.url.rstrip("/") + "/v1/document-categorization"

    def request_body(self, documents: list[dict]) -> dict:
        """A CategorizationRequest (schemas/labeling-api.openapi.yaml): the taxonomy and ``documents``."""
        return {"categories": request_categories(self.taxonomy), "documents": documents}

    def _post(self, documents: list[dict]) -> list[dict]:
        """One batch, retried until it succeeds or the retries run out."""
        body = json.dumps(self.request_body(documents)).encode()
        last = ""
        for attempt in range(self.max_retries + 1):
            request = urllib.request.Request(
                self.endpoint,
                data=body,
                headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"},
            )
            wait = None
            try:
                self.usage.requests += 1
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    return json.loads(response.read())["results"]
            except urllib.error.HTTPError as exc:
                if exc.code == 429:
                    self.usage.rate_limited += 1
                    wait = _retry_after(exc.headers.get("Retry-After"))
                    last = "rate limited (429)"
                elif exc.code >= 500:
                    last = f"server error {exc.code}"
                elif exc.code == 401:
                    raise LabelingFailed(
                        f"the labeling API at {self.url} refused the token (401): check LABELER_TOKEN"
                    ) from None
                else:
                    raise LabelingFailed(
                        f"the labeling API at {self.url} rejected a batch ({exc.code}): {_reason(exc)}"
                    ) from None
            # A service that goes away mid-answer (IncompleteRead, BadStatusLine) is retried like one that is down.
            except (
                urllib.error.URLError,
                http.client.HTTPException,
                TimeoutError,
                ConnectionError,
                OSError,
            ) as exc:
                last = f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
            if attempt == self.max_retries:
                break
            if wait is None:  # exponential backoff with full jitter
                wait = self.rng.uniform(0, min(self.backoff_cap, self.backoff_base * 2**attempt))
            self.usage.retries += 1
            self.usage.sleep_seconds += wait
            self.sleep(wait)
        raise LabelingFailed(
            f"the labeling API at {self.url} kept failing ({last}) after {self.max_retries} retries; "
            "labels paid for so far are cached: run the step again when the API is back"
        )

    def label(
        self,
        documents: Sequence[tuple[str, str]],
        cache: LabelCache,
        progress: Callable[[int], None] | None = None,
    ) -> dict[str, Label]:
        """Labels for ``(id, text)`` documents: cached ones for free, the rest from the API in batches.
        The answers are as given, some may be outside the taxonomy: check them with ``Label.outside``."""
        if cache.taxonomy_sha1 != self.taxonomy.sha1:
            raise ValueError("the label cache is another taxonomy's: its labels answer another question")
        labels, todo, texts = cache.split(documents, self.usage)
        keys = sorted(todo)
        batches = [keys[i : i + self.batch_size] for i in range(0, len(keys), self.batch_size)]
        spendable = len(keys) if self.budget is None else max(0, self.budget - self.usage.paid)
        exhausted = spendable < len(keys)
        batches = _within(batches, spendable)

        def run(batch: list[str]) -> dict[str, Label]:
            results = self._post([{"id": key, "text": texts[key]} for key in batch])
            by_id = {r["id"]: Label(r.get("category"), float(r.get("confidence") or 0.0)) for r in results}
            paid = {key: by_id[key] for key in batch if key in by_id}
            cache.add(paid)  # before anything else can fail: paid is paid
            self.usage.paid += len(batch)
            return paid

        failure: Exception | None = None
        with ThreadPoolExecutor(max_workers=max(1, self.concurrency)) as pool:
            for future in [pool.submit(run, batch) for batch in batches]:
                try:
                    for key, label in future.result().items():
                        for doc_id in todo[key]:
                            labels[doc_id] = label
                    if progress:
                        progress(len(labels))
                except LabelingFailed as exc:
                    failure = failure or exc
        if failure:
            raise failure
        if exhausted:
            raise BudgetExhausted(
                f"the budget of {self.budget} paid documents for this run is spent with {len(keys) - spendable} "
                "documents left; labels paid for are cached: raise --budget or run again"
            )
        return labels

    def fetch_usage(self) -> dict:
        request = urllib.request.Request(
            self.url.rstrip("/") + "/v1/usage", headers={"Authorization": f"Bearer {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            return json.loads(response.read())


def _within(batches: list[list[str]], documents: int) -> list[list[str]]:
    """The batches that fit a budget of ``documents`` (the last one cut)."""
    kept, left = [], documents
    for batch in batches:
        if left <= 0:
            break
        kept.append(batch[:left])
        left -= len(kept[-1])
    return kept


def _retry_after(value: str | None) -> float:
    try:
        return max(0.0, float(value)) if value is not None else 1.0
    except ValueError:
        return 1.0


def _reason(exc: urllib.error.HTTPError) -> str:
    try:
        return json.loads(exc.read()).get("error", "")
    except Exception:
        return exc.reason or ""
