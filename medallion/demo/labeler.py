"""A reference implementation of the labeling API (``schemas/labeling-api.openapi.yaml``).

``medallion labeler serve --port N`` runs it for the demo, the tests and the cluster. It answers within
the categories each request names, scoring them with a transparent keyword lexicon that knows only the
demo's six (a category it has no keywords for scores zero: the lexicon is a demo, not a labeler). It flips
a seeded share of labels (``--noise``) so that label cleaning has something to find, can be made slow,
flaky or rate-limited to exercise the client, and can answer a seeded share of documents with a category
outside the request (``--stray-rate``), as a misbehaving service would. The bearer token comes from
``LABELER_TOKEN``; it is never printed.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.server
import json
import os
import random
import threading
import time
from collections.abc import Sequence

from medallion.core.config import ConfigError
from medallion.demo.vocabulary import CATEGORY_KEYWORDS
from medallion.runtime import failures

MAX_BATCH = 256


def categorize(text: str, categories: Sequence[str]) -> tuple[str | None, float]:
    """The lexicon categorizer: of ``categories``, the one whose keywords occur most (a tie goes to the one
    listed first); None when none occurs."""
    lowered = text.lower()
    counts = [sum(lowered.count(word) for word in CATEGORY_KEYWORDS.get(c, ())) for c in categories]
    total = sum(counts)
    if not total:
        return None, 0.0
    best = max(range(len(counts)), key=lambda i: (counts[i], -i))
    return categories[best], round(counts[best] / total, 4)


def _draw(salt: str, seed: int, text: str) -> tuple[float, int]:
    """A seeded draw in [0, 1) and a byte for a document: the same every time it is asked about."""
    digest = hashlib.sha1(f"{salt}{seed}:{text}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64, digest[8]


def noisy(text: str, category: str | None, categories: Sequence[str], noise: float, seed: int) -> str | None:
    """Flip the label of a seeded share of documents to another of ``categories``."""
    others = [c for c in categories if c != category]
    if category is None or noise <= 0 or not others:
        return category
    draw, byte = _draw("", seed, text)
    return others[byte % len(others)] if draw < noise else category


def stray(text: str, rate: float, seed: int) -> bool:
    """Whether this document's answer names a category outside the request (a seeded share ``rate``)."""
    return rate > 0 and _draw("stray:", seed, text)[0] < rate


def requested_names(body: object) -> list[str]:
    """The category names of a request's ``categories``: a ValueError saying what is wrong."""
    categories = body.get("categories") if isinstance(body, dict) else None
    if categories is None:
        raise ValueError(
            "categories is required: the taxonomy to answer within, a list of {name, description}"
        )
    if not isinstance(categories, list) or len(categories) < 2:
        raise ValueError("categories must be a list of at least two {name, description}")
    names = []
    for number, entry in enumerate(categories, 1):
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("name"), str)
            and entry["name"]
            and isinstance(entry.get("description"), str)
        ):
            raise ValueError(f"category {number} must be an object with a string name and description")
        if entry["name"] in names:
            raise ValueError(f"category {entry['name']!r} is listed twice")
        names.append(entry["name"])
    return names


class Service:
    """The service's state: billing counters, the rate limiter and the fault knobs."""

    def __init__(
        self,
        token: str,
        noise: float = 0.0,
        latency_ms: int = 0,
        error_rate: float = 0.0,
        rate_limit: int = 0,
        seed: int = 0,
        stray_rate: float = 0.0,
        stray_category: str = "unlisted",
    ):
        self.token = token
        self.noise = noise
        self.latency = latency_ms / 1000
        self.error_rate = error_rate
        self.rate_limit = rate_limit
        self.seed = seed
        self.stray_rate = stray_rate
        self.stray_category = stray_category
        self.lock = threading.Lock()
        self.documents = 0
        self.requests = 0
        self.window_start = time.monotonic()
        self.window_count = 0
        self.faults = random.Random(seed)

    def authorized(self, header: str | None) -> bool:
        expected = f"Bearer {self.token}"
        return header is not None and hmac.compare_digest(header.encode(), expected.encode())

    def admit(self) -> float | None:
        """None when the request may go on, else the seconds to wait (rate limit: N requests a second)."""
        if not self.rate_limit:
            return None
        with self.lock:
            now = time.monotonic()
            if now - self.window_start >= 1.0:
                self.window_start, self.window_count = now, 0
            if self.window_count >= self.rate_limit:
                return max(1.0 - (now - self.window_start), 0.0)
            self.window_count += 1
            return None

    def fail_now(self) -> bool:
        with self.lock:
            return self.faults.random() < self.error_rate

    def categorize_batch(self, documents: list[dict], categories: list[str]) -> list[dict]:
        results = []
        for doc in documents:
            text = doc["text"]
            category, confidence = categorize(text, categories)
            category = noisy(text, category, categories, self.noise, self.seed)
            if stray(text, self.stray_rate, self.seed):
                category = self.stray_category
            results.append({"id": doc["id"], "category": category, "confidence": confidence})
        with self.lock:
            self.documents += len(documents)
            self.requests += 1
        return results


def handler_for(service: Service):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _send(self, code: int, body: dict, headers: dict | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def _auth(self) -> bool:
            if service.authorized(self.headers.get("Authorization")):
                return True
            self._send(401, {"error": "missing or wrong bearer token"})
            return False

        def do_GET(self):  # noqa: N802
            if self.path == "/healthz":
                return self._send(200, {"status": "ok"})
            if not self._auth():
                return None
            if self.path == "/v1/usage":
                with service.lock:
                    return self._send(200, {"documents": service.documents, "requests": service.requests})
            return self._send(404, {"error": f"no route {self.path}"})

        def do_POST(self):  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if not self._auth():
                return None
            if self.path != "/v1/document-categorization":
                return self._send(404, {"error": f"no route {self.path}"})
            wait = service.admit()
            if wait is not None:
                return self._send(429, {"error": "rate limited"}, {"Retry-After": str(max(1, round(wait)))})
            if service.latency:
                time.sleep(service.latency)
            if service.error_rate and service.fail_now():
                return self._send(503, {"error": "temporarily unavailable (injected)"})
            try:
                body = json.loads(raw)
                categories = requested_names(body)
                documents = body["documents"]
                if not isinstance(documents, list) or not documents:
                    raise ValueError("documents must be a non-empty list")
                if not all(
                    isinstance(d, dict) and isinstance(d.get("id"), str) and isinstance(d.get("text"), str)
                    for d in documents
                ):
                    raise ValueError("each document needs a string id and text")
            except (ValueError, KeyError, TypeError) as exc:
                return self._send(400, {"error": f"bad request: {exc}"})
            if len(documents) > MAX_BATCH:
                return self._send(413, {"error": f"at most {MAX_BATCH} documents per request"})
            return self._send(200, {"results": service.categorize_batch(documents, categories)})

        def log_message(self, fmt, *args):
            pass  # quiet: request lines would only repeat what the client reports

    return Handler


def serve(args: argparse.Namespace) -> int:
    token = os.environ.get("LABELER_TOKEN")
    if not token:
        raise ConfigError(
            "LABELER_TOKEN is not set: the service needs the bearer token its clients will send"
        )
    service = Service(
        token,
        args.noise,
        args.latency_ms,
        args.error_rate,
        args.rate_limit,
        args.seed,
        args.stray_rate,
        args.stray_category,
    )
    try:
        server = http.server.ThreadingHTTPServer((args.host, args.port), handler_for(service))
    except OSError as exc:
        raise ConfigError(f"cannot serve on {args.host}:{args.port}: {failures.describe(exc)}") from exc
    print(
        f"labeling service on http://{args.host}:{server.server_port} (noise {args.noise}, latency "
        f"{args.latency_ms} ms, error rate {args.error_rate}, rate limit {args.rate_limit or 'none'}/s, "
        f"stray rate {args.stray_rate})",
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"a port is a number from 0 to 65535, got {text!r}")
    return int(text)


def add_parser(sub) -> None:
    parser = sub.add_parser("labeler", help="the reference labeling service")
    commands = parser.add_subparsers(dest="labeler_command", required=True, metavar="COMMAND")
    run = commands.add_parser("serve", help="serve the labeling API (token from LABELER_TOKEN)")
    run.add_argument("--port", type=port, default=8080, help="TCP port, 0-65535 (0: any free one)")
    run.add_argument("--host", default="127.0.0.1", help="address to bind (0.0.0.0 inside a container)")
    run.add_argument("--noise", type=float, default=0.0, help="share of labels flipped, seeded per document")
    run.add_argument("--latency-ms", type=int, default=0, help="added to every categorization request")
    run.add_argument("--error-rate", type=float, default=0.0, help="share of requests answered 503")
    run.add_argument("--rate-limit", type=int, default=0, help="requests per second before 429 (0: none)")
    run.add_argument(
        "--stray-rate",
        type=float,
        default=0.0,
        help="share of answers naming --stray-category, outside the request's categories (seeded per document)",
    )
    run.add_argument("--stray-category", default="unlisted", help="what a stray answer names")
    run.add_argument("--seed", type=int, default=0)
    run.set_defaults(func=serve)
