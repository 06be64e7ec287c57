"""Scale-out: a stage fans out over N shards of its input and a merge writes the one dataset.

Shard K of N processes the input's row groups K, K+N, K+2N, ... and writes its ``(position, record,
result)`` items, in order, to a scratch object below ``html-classification/_shards/``. The merge reads the
N shard files back in input order (a k-way merge on position) and feeds the very same loop as an
unsharded run, so the dataset and its SHA1 are identical whatever N is. Scratch objects have no sidecar
and never count as datasets; the merge deletes them once the dataset is committed.
"""

from __future__ import annotations

import argparse
import heapq
import tempfile
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from medallion.core.config import DATASET_ROOT
from medallion.core.pipeline import Stage
from medallion.core.store_interface import NotFound, Store

Item = tuple[int, dict, Any]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def parse_shard(text: str) -> tuple[int, int]:
    """``K/N`` with 0 <= K < N."""
    try:
        k, n = (int(part) for part in text.split("/"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--shard takes K/N (e.g. 0/4), got {text!r}") from exc
    if not 0 <= k < n:
        raise argparse.ArgumentTypeError(f"--shard {text}: K must be at least 0 and less than N")
    return k, n


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"--merge takes the number of shards (at least 1), got {text}")
    return value


def shard_key(stage: Stage, date: str, version: str | None, k: int, n: int) -> str:
    parts = [DATASET_ROOT, "_shards", stage.path] + ([version] if version else []) + [date]
    return "/".join(parts) + f"/shard-{k}-of-{n}.jsonl"


def my_groups(groups: int, k: int, n: int) -> list[int]:
    return [g for g in range(groups) if g % n == k]


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$datetime_us": (value - EPOCH) // timedelta(microseconds=1)}
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"cannot store {type(value).__name__} in a shard")


def _restore(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$datetime_us"}:
            return EPOCH + timedelta(microseconds=value["$datetime_us"])
        return {k: _restore(v) for k, v in value.items()}
    if isinstance(value, list):
        return tuple(_restore(v) for v in value)
    return value


def write_shard(store: Store, key: str, items: Iterable[Item]) -> int:
    """Stream items to a scratch file and put it under ``key``; returns how many."""
    count = 0
    with tempfile.TemporaryDirectory(prefix="medallion-shard-", dir=store.scratch_dir()) as tmp:
        path = Path(tmp) / "shard.jsonl"
        with open(path, "wb") as out:
            for position, record, result in items:
                out.write(
                    orjson.dumps(
                        [position, record, result], default=_default, option=orjson.OPT_PASSTHROUGH_DATETIME
                    )
                )
                out.write(b"\n")
                count += 1
        store.upload(path, key, move=True)
    return count


def read_shards(store: Store, keys: list[str]) -> Iterator[Item]:
    """All shards' items in input order."""
    missing = [key for key in keys if not store.exists(key)]
    if missing:
        raise NotFound(
            f"shard(s) missing: {', '.join(store.url(k) for k in missing)}; run their --shard steps first"
        )
    return heapq.merge(*(_read(store, key) for key in keys), key=lambda item: item[0])


def _read(store: Store, key: str) -> Iterator[Item]:
    from medallion.core.datasets import local_copy

    with local_copy(store, key) as path, open(path, "rb") as handle:
        for line in handle:
            position, record, result = orjson.loads(line)
            yield position, _restore(record), _restore(result) if isinstance(result, list) else result


def run_shard(run, source, shard: tuple[int, int], items) -> None:
    """Shard K of N of a step: ``items(path, groups)`` over the input's row groups K, K+N, ..., into scratch."""
    from medallion.core.datasets import row_groups

    k, n = shard
    with source.local_copy() as path:
        key = shard_key(run.stage, run.date, run.version, k, n)
        count = write_shard(run.store, key, items(path, my_groups(row_groups(path), k, n)))
    print(f"[{run.label}] shard {k}/{n}: {count:,} rows to {run.store.url(key)}", flush=True)


def merge_keys(run, shards: int | None) -> list[str]:
    """The scratch keys a ``--merge N`` reads ([] without --merge)."""
    return [shard_key(run.stage, run.date, run.version, k, shards) for k in range(shards or 0)]
