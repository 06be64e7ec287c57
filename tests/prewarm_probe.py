"""A module for tests/test_parallel.py: its warm_up() notes the process it ran in."""

import os

WARMED_IN: int | None = None


def warm_up() -> None:
    global WARMED_IN
    WARMED_IN = os.getpid()


def where(task: int) -> tuple[int, int | None, int, int]:
    """(task, the process warm_up ran in, this process, its parent)."""
    return task, WARMED_IN, os.getpid(), os.getppid()
