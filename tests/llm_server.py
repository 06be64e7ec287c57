"""A small OpenAI-compatible chat completions server for the tests (standard library only).

    python tests/llm_server.py --port P --key K [--rate-limit N] [--retry-after S] [--server-error N]
                               [--malformed-share F] [--outside-share F]

``POST /v1/chat/completions`` needs ``Authorization: Bearer K`` and a ``response_format`` JSON schema whose
``category`` is an enum; it answers with the enum's name that occurs most often in the user's text (the
first on a tie or when none occurs), deterministically, and reports usage (one token per word). Knobs: the
first N requests answer 429 with ``Retry-After`` or 500; a share of the documents (chosen by the text's
SHA1, so always the same ones) get malformed answers (not JSON, or JSON without a category) or a category
outside the enum. ``GET /stats`` (same key) returns the counters.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def share_of(text: str, salt: str) -> float:
    """Where ``text`` falls in [0, 1): the same every time, for the share knobs."""
    return int(hashlib.sha1(f"{salt}:{text}".encode()).hexdigest()[:8], 16) / 2**32


def choose(text: str, names: list[str]) -> str:
    lowered = text.lower()
    counts = [lowered.count(name.lower()) for name in names]
    return names[max(range(len(names)), key=lambda i: (counts[i], -i))]


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, options: argparse.Namespace):
        super().__init__(("127.0.0.1", options.port), Handler)
        self.options = options
        self.lock = threading.Lock()
        self.stats = {
            "requests": 0,
            "completions": 0,
            "rate_limited": 0,
            "server_errors": 0,
            "unauthorized": 0,
        }
        self.malformed: set[str] = set()  # text SHA1s answered malformed
        self.outside: set[str] = set()


class Handler(BaseHTTPRequestHandler):
    server: Server

    def log_message(self, format, *args):  # quiet: the tests read stdout and stderr of the step, not this
        pass

    def reply(self, status: int, body: dict, headers: dict | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def authorized(self) -> bool:
        if self.headers.get("Authorization") == f"Bearer {self.server.options.key}":
            return True
        with self.server.lock:
            self.server.stats["unauthorized"] += 1
        self.reply(401, {"error": {"message": "invalid api key", "type": "invalid_request_error"}})
        return False

    def do_GET(self):
        if self.path != "/stats":
            return self.reply(404, {"error": {"message": "not found"}})
        if self.authorized():
            with self.server.lock:
                stats = {
                    **self.server.stats,
                    "malformed_documents": len(self.server.malformed),
                    "outside_documents": len(self.server.outside),
                }
            self.reply(200, stats)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path != "/v1/chat/completions":
            return self.reply(404, {"error": {"message": "not found"}})
        if not self.authorized():
            return
        server, options = self.server, self.server.options
        with server.lock:
            server.stats["requests"] += 1
            number = server.stats["requests"]
        if number <= options.rate_limit:
            with server.lock:
                server.stats["rate_limited"] += 1
            return self.reply(
                429, {"error": {"message": "slow down"}}, {"Retry-After": str(options.retry_after)}
            )
        if number <= options.rate_limit + options.server_error:
            with server.lock:
                server.stats["server_errors"] += 1
            return self.reply(500, {"error": {"message": "internal error"}})
        request = json.loads(body)
        try:
            schema = request["response_format"]["json_schema"]["schema"]
            names = schema["properties"]["category"]["enum"]
            messages, model = request["messages"], request["model"]
        except (KeyError, TypeError):
            return self.reply(
                400, {"error": {"message": "a json_schema response_format with an enum is needed"}}
            )
        text = next((m["content"] for m in messages if m["role"] == "user"), "")
        key = hashlib.sha1(text.encode()).hexdigest()
        if share_of(text, "malformed") < options.malformed_share:
            content = "I think this is about sports." if int(key, 16) % 2 else json.dumps({"topic": names[0]})
            with server.lock:
                server.malformed.add(key)
        elif share_of(text, "outside") < options.outside_share:
            content = json.dumps({"category": "weather", "confidence": 0.9})
            with server.lock:
                server.outside.add(key)
        else:
            content = json.dumps({"category": choose(text, names), "confidence": 0.8})
        prompt = sum(len(str(m.get("content", "")).split()) for m in messages)
        completion = len(content.split())
        with server.lock:
            server.stats["completions"] += 1
        self.reply(
            200,
            {
                "id": f"chatcmpl-{number}",
                "object": "chat.completion",
                "created": 0,
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt,
                    "completion_tokens": completion,
                    "total_tokens": prompt + completion,
                },
            },
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--key", required=True, help="the bearer key every request must carry")
    parser.add_argument("--rate-limit", type=int, default=0, help="the first N requests answer 429")
    parser.add_argument("--retry-after", type=float, default=0.2, help="seconds a 429 asks to wait")
    parser.add_argument("--server-error", type=int, default=0, help="the next N requests answer 500")
    parser.add_argument(
        "--malformed-share", type=float, default=0.0, help="share of documents answered malformed"
    )
    parser.add_argument("--outside-share", type=float, default=0.0, help="share answered outside the enum")
    Server(parser.parse_args()).serve_forever()


if __name__ == "__main__":
    main()
