"""A lineage backend for the tests: accepts OpenLineage events as Marquez does (standard library only).

    python tests/lineage_receiver.py --port P --out events.jsonl [--status 200]

``POST /api/v1/lineage`` appends the request body, one event per line, to ``--out`` and answers
``--status`` (201 by default, as Marquez does); anything else is a 404. It binds 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:  # noqa: N802 -- the http.server interface
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path != "/api/v1/lineage":
            self.send_error(404)
            return
        event = json.loads(body)
        with self.server.lock, open(self.server.out, "a", encoding="utf-8") as out:
            out.write(json.dumps({"authorization": self.headers.get("Authorization"), "event": event}) + "\n")
        self.send_response(self.server.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


class Receiver(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, out: str, status: int):
        super().__init__(("127.0.0.1", port), Handler)
        self.out = out
        self.status = status
        self.lock = threading.Lock()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--status", type=int, default=201)
    args = parser.parse_args()
    Receiver(args.port, args.out, args.status).serve_forever()


if __name__ == "__main__":
    main()
