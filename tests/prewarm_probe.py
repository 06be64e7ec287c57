"""A module for tests/test_parallel.py: its warm_up() notes the process it ran in."""

import os
import time

WARMED_IN: int | None = None


def warm_up() -> None:
    global WARMED_IN
    time.sleep(float(os.environ.get("PREWARM_PROBE_SECONDS", "0")))  # a slow model load
    WARMED_IN = os.getpid()


def where(task: int) -> tuple[int, int | None, int, int]:
    """(task, the process warm_up ran in, this process, its parent)."""
    return task, WARMED_IN, os.getpid(), os.getppid()
