"""Long work shows progress: a line on stderr every few seconds (MEDALLION_PROGRESS_SECONDS), and a last one."""

from __future__ import annotations

import sys
import time

from medallion.core import config


class Progress:
    """Prints a progress line on stderr every few seconds, and a final one."""

    def __init__(self, label: str, total: int | None = None):
        self.label = label
        self.total = total
        self.count = 0
        self.started = time.monotonic()
        self.interval = config.progress_interval()
        self._next = self.started + self.interval

    def tick(self, n: int = 1) -> None:
        self.count += n
        now = time.monotonic()
        if now >= self._next:
            self._next = now + self.interval
            self._print(now)

    def done(self) -> None:
        self._print(time.monotonic(), final=True)

    def _print(self, now: float, final: bool = False) -> None:
        elapsed = max(now - self.started, 1e-9)
        of = f"/{self.total:,}" if self.total else ""
        state = "done" if final else "..."
        print(
            f"[{self.label}] {self.count:,}{of} rows, {self.count / elapsed:,.0f} rows/s, {elapsed:.1f}s {state}",
            file=sys.stderr,
            flush=True,
        )
