"""Order-preserving parallel work over a stream or a Parquet file, with bounded memory.

``multiprocessing.Pool.imap`` reads its whole input ahead, so memory would grow with the batch. Here at
most a small window of tasks is in flight, results come back in input order, and for Parquet input each
worker reads its own row groups, so large columns (HTML) never travel through the parent.

Workers are forked from this process, or, after ``prewarm``, from a server process that loaded the
models of the step before this process needed them, on the core this process leaves idle meanwhile.
"""

from __future__ import annotations

import collections
import contextlib
import importlib
import multiprocessing
import multiprocessing.forkserver
import os
import signal
import weakref
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from medallion.core.datasets import arrow, rows_of

T = TypeVar("T")
R = TypeVar("R")


PREWARM_ENV = (
    "MEDALLION_PREWARM"  # the modules whose warm_up() the server runs (read by medallion.runtime.prewarm)
)
_prewarmed = False
_warm_pools: weakref.WeakSet = weakref.WeakSet()  # pools whose workers came from the server


def prewarm(modules: list[str]) -> None:
    """Start the process later workers are forked from, and have it run each module's ``warm_up()``.

    It starts at once and loads in the background: this process goes on meanwhile. ``ordered_map``'s
    workers (``warm=True``) come from it, so each starts with the models loaded and none loads them
    again. Without ``prewarm``, or on a second call, nothing changes: workers fork from this process.
    """
    global _prewarmed
    if _prewarmed:
        return  # already running (one server per process): its modules stay
    previous = os.environ.get(PREWARM_ENV)
    os.environ[PREWARM_ENV] = ",".join(modules)
    try:
        multiprocessing.forkserver.set_forkserver_preload(["medallion.runtime.prewarm"])
        multiprocessing.forkserver.ensure_running()
        _prewarmed = True
    finally:
        if previous is None:
            os.environ.pop(PREWARM_ENV)
        else:
            os.environ[PREWARM_ENV] = previous


def release() -> None:
    """Stop the ``prewarm`` server and wait for it: its memory is freed for the stages after, and its
    resource usage (and its workers') counts as this process's. A later ``prewarm`` starts a new one."""
    global _prewarmed
    if not _prewarmed:
        return
    _prewarmed = False
    for pool in list(_warm_pools):  # their workers first: with the server gone, a pool cannot tell they live
        pool.terminate()
    server = multiprocessing.forkserver._forkserver  # the stdlib's one server (private, stable since 3.4)
    if server._forkserver_pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(
                server._forkserver_pid, signal.SIGTERM
            )  # it may still be loading: no need to wait for that
    server._stop()  # closes its pipe, waits for it and removes its socket


def warm_up(modules: list[str]) -> None:
    """Run each module's ``warm_up()`` here; a failure is left for the work itself to meet and report."""
    for name in modules:
        try:
            importlib.import_module(name).warm_up()
        except Exception:  # noqa: S112 -- the step meets the same error itself, and says it
            continue


def _pool(workers: int, warm: bool):
    # fork: workers inherit the imported modules and loaded models, so start-up is cheap. Workers ignore
    # Ctrl-C (the terminal sends it to them too): the parent stops them and says so, once.
    method = "forkserver" if warm and _prewarmed else "fork"
    pool = multiprocessing.get_context(method).Pool(
        workers, initializer=signal.signal, initargs=_IGNORE_SIGINT
    )
    if method == "forkserver":
        _warm_pools.add(pool)
    return pool


_IGNORE_SIGINT = (signal.SIGINT, signal.SIG_IGN)


def ordered_map(
    fn: Callable[[list[T]], list[R]], tasks: Iterable[Any], workers: int, warm: bool = False
) -> Iterator[R]:
    """Yield ``fn(task)`` for each task, in order; at most ``2 * workers`` tasks in flight. ``warm``: the
    workers come from the ``prewarm`` server when there is one (``fn`` needs nothing of this process's
    state that it is not passed)."""
    if workers <= 1:
        for task in tasks:
            yield fn(task)
        return
    with _pool(workers, warm) as pool:
        window: collections.deque = collections.deque()
        for task in tasks:
            window.append(pool.apply_async(fn, (task,)))
            if len(window) >= 2 * workers:
                yield window.popleft().get()
        while window:
            yield window.popleft().get()


def _row_group(task: tuple[Path, int, list[str], tuple[str, ...], Callable, bool]) -> list:
    import pyarrow.parquet as pq

    pa = arrow()

    path, index, columns, as_bytes, fn, per_group = task
    with pq.ParquetFile(path) as parquet:
        table = parquet.read_row_group(index, columns=columns)
    for name in as_bytes:
        # UTF-8 bytes straight from Arrow: no decode into str and encode back for a parser that wants bytes.
        table = table.set_column(table.schema.get_field_index(name), name, table[name].cast(pa.binary()))
    rows = rows_of(table)
    return fn(rows) if per_group else [fn(row) for row in rows]


def map_parquet(
    path: Path,
    columns: list[str],
    fn: Callable[[dict], R],
    workers: int,
    as_bytes: tuple[str, ...] = (),
    groups: list[int] | None = None,
    per_group: bool = False,
    warm: bool = False,
) -> Iterator[R]:
    """``fn(row)`` for every row of a local Parquet file (only ``columns`` read), in row order.

    Each worker reads whole row groups itself; ``fn`` must be picklable (a module-level function or a
    ``functools.partial`` of one). Columns named in ``as_bytes`` arrive as UTF-8 ``bytes``. ``groups``
    limits the work to those row groups (a shard). With ``per_group``, ``fn`` takes a row group's rows
    and returns their results, in order (for work that is cheaper done for many rows at once). ``warm``: as
    ``ordered_map`` takes it.
    """
    arrow()  # before the workers fork: they inherit it
    import pyarrow.parquet as pq

    if groups is None:
        with pq.ParquetFile(path) as parquet:
            groups = list(range(parquet.num_row_groups))
    tasks = ((path, i, columns, as_bytes, fn, per_group) for i in groups)
    for results in ordered_map(_row_group, tasks, workers, warm):
        yield from results


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def positions(path: Path, groups: list[int] | None = None) -> Iterator[int]:
    """The input positions (row numbers) of the rows of ``groups``, in order."""
    import pyarrow.parquet as pq

    with pq.ParquetFile(path) as parquet:
        meta = parquet.metadata
        starts = [0]
        for index in range(meta.num_row_groups):
            starts.append(starts[-1] + meta.row_group(index).num_rows)
    for index in groups if groups is not None else range(len(starts) - 1):
        yield from range(starts[index], starts[index + 1])
