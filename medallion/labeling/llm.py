"""``--label-source llm``: a chat model behind any OpenAI-compatible ``/v1/chat/completions`` endpoint
(OpenAI, vLLM, Ollama, llama.cpp server, gateways), through the official ``openai`` client.

The labeling API's guarantees (medallion/labeling/api.py) hold. The prompt is the taxonomy (descriptions,
examples) and ``response_format``'s JSON schema limits ``category`` to its names; an answer outside them is
cached as given and quarantined on every run. One document per request, ``concurrency`` in flight, a timeout
each. The client's retries are off (``max_retries=0``): 429 is retried after its ``Retry-After``, 5xx,
timeouts and refused connections with backoff and jitter, all counted; a malformed answer is asked again
``malformed_retries`` times, then quarantined. Answers are cached by provider, model, prompt SHA1, taxonomy
SHA1 and text SHA1: a rerun pays nothing. Once ``--token-budget`` is spent nothing more is sent and the
documents left are quarantined. The key goes in a header only, never into messages, logs or metadata.
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from medallion.core.config import llm_settings, provider_of
from medallion.core.errors import StepFailed
from medallion.core.store_interface import Store
from medallion.core.taxonomy import Taxonomy
from medallion.core.taxonomy import load as load_taxonomy
from medallion.labeling import source
from medallion.labeling.api import Label, LabelCache, LabelingFailed, Usage, labeler_id
from medallion.labeling.api import _retry_after as retry_after
from medallion.labeling.source import Identity, Labeled, Unlabeled

MAX_CHARS = 8000  # of a document's text sent: enough to tell its topic, and a bound on its tokens
FLUSH_EVERY = 32  # answers written to the label cache at once (and whatever is left when the run ends)
MALFORMED = "llm-malformed-answer"
BUDGET = "llm-token-budget-exhausted"
TOKENS = ("prompt_tokens", "completion_tokens", "total_tokens")  # the usage a response reports

SYSTEM = """You label web documents with their topic. Answer with exactly one of these categories:

{categories}

Reply with a JSON object {{"category": <one of the names above>, "confidence": <0 to 1>}} and nothing else."""


def shown_url(base_url: str) -> str:
    """The base URL as the sidecar records it: without credentials or query."""
    parts = urlsplit(base_url)
    return f"{parts.scheme}://{provider_of(base_url)}{parts.path}"


def system_prompt(taxonomy: Taxonomy) -> str:
    lines = []
    for c in taxonomy.categories:
        examples = "".join(f"\n  e.g. {example}" for example in c.examples)
        lines.append(f"- {c.name}: {c.description}{examples}")
    return SYSTEM.format(categories="\n".join(lines))


def response_format(taxonomy: Taxonomy) -> dict:
    """The answer's JSON schema: a category among the taxonomy's names and a confidence."""
    properties = {
        "category": {"type": "string", "enum": list(taxonomy.names)},
        "confidence": {"type": "number"},
    }
    schema = {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }
    return {"type": "json_schema", "json_schema": {"name": "topic", "strict": True, "schema": schema}}


def prompt_sha1(taxonomy: Taxonomy) -> str:
    """The question's identity: the system prompt, the answer's schema and what is sent of each text."""
    question = {"system": system_prompt(taxonomy), "format": response_format(taxonomy), "chars": MAX_CHARS}
    return hashlib.sha1(json.dumps(question, sort_keys=True).encode()).hexdigest()


def labeler(provider: str, model: str, prompt: str) -> str:
    """The label cache's namespace (``api.cache_prefix``): provider, model and prompt SHA1."""
    return labeler_id(f"llm:{provider}:{model}:{prompt}")


@dataclass
class TokenUsage(Usage):
    """The labeling API's counts (documents paid for, from the cache, requests, retries) and tokens."""

    malformed: int = 0  # malformed answers
    unsent: int = 0  # documents left when the token budget was spent
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    token_budget: int | None = None


class Malformed(Exception):
    """The model's answer is not the JSON object asked for."""


class BudgetSpent(Exception):
    """The run's token budget is spent: nothing more is sent."""


@dataclass
class LlmClient:
    base_url: str
    api_key: str = field(repr=False)
    model: str
    taxonomy: Taxonomy
    concurrency: int = 4
    timeout: float = 10.0
    max_retries: int = 6  # of a failing request (429, 5xx, timeouts)
    malformed_retries: int = 2  # of a malformed answer
    token_budget: int | None = None
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    usage: TokenUsage = field(default_factory=TokenUsage)
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=lambda: random.Random(0))

    def __post_init__(self):
        import openai  # heavy: only when something is to be paid for

        self.openai = openai
        self.client = openai.OpenAI(
            base_url=self.base_url, api_key=self.api_key, max_retries=0, timeout=self.timeout
        )
        self.usage.token_budget, self.system = self.token_budget, system_prompt(self.taxonomy)
        self.where = f"the chat completions API at {shown_url(self.base_url)}"
        self.lock, self.stop = threading.Lock(), threading.Event()  # stop: a request failed for good

    def _count(self, **counts) -> None:
        with self.lock:
            for name, value in counts.items():
                setattr(self.usage, name, getattr(self.usage, name) + value)

    def _complete(self, text: str):
        """One chat completion, retried until it succeeds or the retries run out."""
        openai, last = self.openai, ""
        for attempt in range(self.max_retries + 1):
            with self.lock:
                if self.token_budget is not None and self.usage.total_tokens >= self.token_budget:
                    raise BudgetSpent
            if self.stop.is_set():
                raise LabelingFailed("stopped: another request failed")
            wait = None
            try:
                self._count(requests=1)
                return self.client.chat.completions.create(
                    model=self.model,
                    messages=[{"role": "system", "content": self.system}, {"role": "user", "content": text}],
                    response_format=response_format(self.taxonomy),
                    temperature=0,
                )
            except openai.RateLimitError as exc:
                self._count(rate_limited=1)
                wait, last = retry_after(exc.response.headers.get("retry-after")), "rate limited (429)"
            except openai.InternalServerError as exc:
                last = f"server error {exc.status_code}"
            except openai.AuthenticationError:
                self.stop.set()
                raise LabelingFailed(f"{self.where} refused the key (401): check OPENAI_API_KEY") from None
            except openai.APIStatusError as exc:
                self.stop.set()
                raise LabelingFailed(
                    f"{self.where} rejected a request for {self.model!r} ({exc.status_code})"
                ) from None
            except openai.APIConnectionError as exc:  # timeouts too
                last = type(exc).__name__
            if attempt == self.max_retries:
                break
            if wait is None:  # exponential backoff with full jitter
                wait = self.rng.uniform(0, min(self.backoff_cap, self.backoff_base * 2**attempt))
            self._count(retries=1, sleep_seconds=wait)
            self.sleep(wait)
        self.stop.set()  # before raising: no other request starts
        raise LabelingFailed(
            f"{self.where} kept failing ({last}) after "
            f"{self.max_retries} retries; answers paid for so far are cached: run the step again when it is back"
        )

    def ask(self, text: str) -> Label:
        """The model's label of ``text`` (as given: check it with ``Label.outside``); Malformed when every
        answer was malformed, BudgetSpent when the budget ran out first."""
        detail = ""
        for attempt in range(self.malformed_retries + 1):
            response = self._complete(text)
            usage = getattr(response, "usage", None)
            self._count(**{name: getattr(usage, name, 0) or 0 for name in TOKENS})
            try:
                return parse_answer(response.choices[0].message.content)
            except (Malformed, AttributeError, IndexError, TypeError) as exc:
                detail = str(exc) if isinstance(exc, Malformed) else "the response has no message"
                self._count(malformed=1)
                if attempt < self.malformed_retries:
                    self._count(retries=1)
        raise Malformed(f"{detail} ({self.malformed_retries + 1} answers)")

    def label(
        self, documents: Sequence[tuple[str, str]], cache: LabelCache
    ) -> tuple[dict[str, Label], dict[str, tuple[str, str]]]:
        """Labels for ``(id, text)`` documents (cached ones for free, identical texts asked once) and, for
        the others, why not: ``{id: (reason, detail)}``. A request that fails for good raises LabelingFailed
        once the answers already paid for are cached."""
        labels, todo, texts = cache.split(documents, self.usage)
        texts = {key: text[:MAX_CHARS] for key, text in texts.items()}
        missing, fresh, failure = {}, {}, None
        spent = f"the token budget of this run ({self.token_budget}) was spent before this document was sent"
        unsent = (BUDGET, f"{spent}; answers paid for are cached: raise --token-budget or run again")
        try:
            with ThreadPoolExecutor(max_workers=max(1, self.concurrency)) as pool:
                futures = {pool.submit(self.ask, texts[key]): key for key in sorted(todo)}
                for future in as_completed(futures):
                    key = futures[future]
                    try:
                        label = future.result()
                    except Malformed as exc:
                        outcome = (MALFORMED, f"the model's answer was malformed: {exc}")
                    except BudgetSpent:
                        self._count(unsent=1)
                        outcome = unsent
                    except LabelingFailed as exc:
                        failure = failure or exc
                        continue
                    else:
                        fresh[key] = label
                        self.usage.paid += 1
                        for doc_id in todo[key]:
                            labels[doc_id] = label
                        if len(fresh) >= FLUSH_EVERY:
                            cache.add(fresh)
                            fresh = {}
                        continue
                    for doc_id in todo[key]:
                        missing[doc_id] = outcome
        finally:
            cache.add(fresh)  # paid is paid, whatever happens next
        if failure:
            raise failure
        return labels, missing


def parse_answer(content: str | None) -> Label:
    """The label in a model's answer: a JSON object with a string ``category`` (Malformed otherwise); its
    ``confidence`` when it is a number from 0 to 1."""
    try:
        answer = json.loads(content or "")
    except ValueError:
        raise Malformed("not JSON") from None
    if not isinstance(answer, dict) or not isinstance(answer.get("category"), str) or not answer["category"]:
        raise Malformed("no category")
    confidence = answer.get("confidence")
    valid = isinstance(confidence, int | float) and not isinstance(confidence, bool) and 0 <= confidence <= 1
    return Label(answer["category"], float(confidence) if valid else None)


class LlmLabels(source.LabelSource):
    """Labels from ``--llm-model``. Quarantined: a malformed answer (``llm-malformed-answer``), one outside
    the taxonomy (``category-outside-taxonomy``), a document left when ``--token-budget`` is spent
    (``llm-token-budget-exhausted``)."""

    kind = "llm"
    params = ("llm-model",)

    def __init__(self, argument: str | None, args):
        self.options, self.settings = args, llm_settings()
        self.model = (getattr(args, "llm_model", "") or "").strip()
        if not self.model:
            raise source.LabelSourceError("--label-source llm needs --llm-model: the chat model to ask")
        self.provider, self.taxonomy, self.usage = "", None, TokenUsage()
        self.labels, self.missing, self.categories = {}, {}, Counter()

    def identify(self, version: str, committed: dict | None, force: bool) -> Identity:
        params = (committed or {}).get("parameters") or {}
        recorded = params.get("provider") if params.get("label_source") == "llm" else None
        # Nothing set: the committed provider is assumed for the up-to-date check (as for the api source).
        self.provider = provider = self.settings.name or recorded or self.settings.require().name
        self.taxonomy = load_taxonomy()
        params = {"provider": provider, "model": self.model, "prompt_sha1": prompt_sha1(self.taxonomy)}
        where = {"url": shown_url(self.settings.base_url)} if self.settings.base_url else {}
        stated = {**params, "taxonomy": self.taxonomy.sha1, **where, "concurrency": self.options.concurrency}
        process = {
            "name": "llm-chat-completions",
            "description": "Each document's normalized text is categorized by a chat model within the "
            "taxonomy's categories (a JSON schema enum); answers are cached by text SHA1, provider, model, "
            "prompt SHA1 and taxonomy SHA1.",
            "params": stated,
        }
        return Identity(
            params={"version": version, "label_source": "llm", **params},
            source={"uri": f"llm:{provider}/{self.model}", "kind": "llm", **where},
            process=[process],
        )

    def prepare(self, store: Store, documents: source.Documents, taxonomy: Taxonomy) -> list[str]:
        self.taxonomy = source.unchanged(self.taxonomy, taxonomy)
        cache = LabelCache(store, labeler(self.provider, self.model, prompt_sha1(taxonomy)), taxonomy.sha1)
        pairs = [(row["url"], row["text"]) for row in documents.records(columns=["url", "text"])]
        self.labels, self.usage = cache.lookup(pairs), TokenUsage(cached=len(pairs))
        if self.labels is None:  # some answers are still to be paid for: only now is the endpoint needed
            settings, options = self.settings.require(), self.options
            client = LlmClient(
                settings.base_url, settings.api_key, self.model, taxonomy, concurrency=options.concurrency,
                timeout=options.timeout, max_retries=options.max_retries, token_budget=options.token_budget,
            )  # fmt: skip
            try:
                self.labels, self.missing = client.label(pairs, cache)
            except LabelingFailed as exc:
                raise StepFailed(f"{exc} (usage this run: {client.usage.as_dict()})") from exc
            self.usage = client.usage
        return []

    @classmethod
    def replay(cls, meta: dict, store: Store, scratch: Store) -> tuple[list[str], dict[str, str]]:
        # As the api source: the recorded answers are brought into scratch, nothing is sent.
        params = meta["parameters"]
        source.copy_cache(
            meta, store, scratch, labeler(params["provider"], params["model"], params["prompt_sha1"])
        )
        env = {"LLM_NAME": params["provider"], "OPENAI_BASE_URL": ""}
        return ["--label-source", cls.kind, "--llm-model", params["model"]], env

    def label(self, row: dict) -> Labeled | Unlabeled:
        if row["url"] in self.missing:
            return Unlabeled(*self.missing[row["url"]])
        label, names = self.labels.get(row["url"]), self.taxonomy.names
        if label is None or label.outside(names):
            answer = label.category if label else None
            detail = f"the model answered {answer!r}, which is not in the taxonomy ({', '.join(names)})"
            return Unlabeled("category-outside-taxonomy", detail)
        self.categories[label.category] += 1
        return Labeled(label.category, label.confidence, 1, f"llm:{self.provider}/{self.model}")

    def statistics(self) -> dict:
        return {"labeling": self.usage.as_dict(), "categories": dict(sorted(self.categories.items()))}

    def summary(self) -> list[str]:
        u = self.usage
        paid = f"labeling: {u.paid} documents paid for, {u.cached} from the cache, {u.requests} requests"
        return [f"{paid}, {u.retries} retries, {u.total_tokens} tokens ({u.prompt_tokens} prompt)"]
