"""Order-preserving parallel map over a stream, one bounded chunk at a time.

``multiprocessing.Pool.imap`` reads its whole input ahead, so memory would grow with the batch; handing
the pool one chunk at a time keeps memory flat while both cores work.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def ordered_map(
    fn: Callable[[T], R], items: Iterable[T], workers: int, chunk: int = 128, initializer=None, initargs=()
) -> Iterator[tuple[T, R]]:
    """Yield ``(item, fn(item))`` in input order. ``fn`` must be a module-level function.

    With one worker everything runs in this process (no start-up cost for small batches).
    """
    if workers <= 1:
        if initializer is not None:
            initializer(*initargs)
        for item in items:
            yield item, fn(item)
        return
    # fork: workers inherit the imported modules, so start-up is cheap.
    with multiprocessing.get_context("fork").Pool(workers, initializer=initializer, initargs=initargs) as pool:
        batch: list[T] = []
        for item in items:
            batch.append(item)
            if len(batch) >= chunk * workers:
                yield from zip(batch, pool.map(fn, batch, chunksize=max(1, chunk // 8)), strict=True)
                batch = []
        if batch:
            yield from zip(batch, pool.map(fn, batch, chunksize=max(1, len(batch) // (workers * 4) or 1)), strict=True)
