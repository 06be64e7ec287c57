"""Streaming reading and writing of datasets (JSON Lines and Parquet) and the commit protocol.

A dataset is a data file plus its sidecar ``<file>.meta.yaml``. Writers stream rows into a local temporary
file, so memory stays flat whatever the batch size; ``commit`` hashes the file, moves it into place and
writes the sidecar last. Readers only see datasets whose sidecar exists and validates.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from medallion.core import sidecar
from medallion.core.config import DATASET_ROOT
from medallion.core.pyarrow_quiet import arrow  # noqa: F401 -- datasets.arrow for the runtime
from medallion.core.store_interface import NotFound, Store, StoreError
from medallion.core.store_local import LocalStore

PARQUET_ROW_GROUP = 64  # rows per row group: bounds memory, and is the unit of parallel work for readers
# zstd level 1: nearly the ratio of level 3 on HTML at two thirds of the time, both ways.
PARQUET_OPTIONS = dict(compression="zstd", compression_level=1, write_statistics=True)
# Long unique text gains nothing from dictionary encoding; short repeated values (host, language) do.
LONG_TEXT = frozenset(("html", "content", "text", "description", "title", "url", "source_url"))
READ_BUFFER = 1 << 20  # pages are long lines: a small buffer makes reading one a loop of small copies


class DatasetNotFound(StoreError):
    """No committed dataset (data file plus valid sidecar) at the given place."""


class DataMismatch(StoreError):
    """A dataset's data no longer matches its sidecar: it is never read, nor counted as up to date."""

    def __init__(self, meta: dict, actual: str):
        stage = meta["stage"]["name"]
        version = meta["stage"].get("version")
        where = f"--until {stage}" + (f" --versions {version}" if version else "")
        super().__init__(
            f"{meta['dataset']}: its data no longer matches its sidecar (sha1 {actual[:12]}, recorded "
            f"{meta['sha1'][:12]}): it was changed after it was committed, and nothing was read from it. "
            f"Rebuild it with --force on its own stage (medallion run {where} --force), or see what "
            f"changed with medallion verify and rebuild it from its sources with medallion reproduce"
        )


def format_of(key: str) -> str:
    """The format a reader uses, picked by extension."""
    if key.endswith(".jsonl"):
        return "jsonl"
    if key.endswith(".parquet"):
        return "parquet"
    raise ValueError(f"cannot tell the format of {key!r}: expected a .jsonl or .parquet file")


@contextlib.contextmanager
def local_copy(store: Store, key: str) -> Iterator[Path]:
    """A local path holding the object: the file itself for a local store, a streamed download otherwise."""
    if isinstance(store, LocalStore):
        path = store._path(key)
        if not path.is_file():
            raise NotFound(f"{store.url(key)} does not exist")
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="medallion-") as tmp:
        path = Path(tmp) / Path(key).name
        store.download(key, path)
        yield path


def iter_file(
    path: Path, fmt: str, columns: list[str] | None = None, groups: list[int] | None = None
) -> Iterator[dict[str, Any]]:
    """Rows of a local data file, streamed one row group (Parquet; only ``groups`` when given) or line
    (JSON Lines) at a time."""
    if fmt == "jsonl":
        with open(path, "rb", buffering=READ_BUFFER) as handle:
            for line in handle:
                if not line.isspace():
                    row = orjson.loads(line)
                    yield {k: row.get(k) for k in columns} if columns else row
        return
    arrow()
    import pyarrow.parquet as pq

    with pq.ParquetFile(path) as parquet:
        for index in range(parquet.num_row_groups) if groups is None else groups:
            yield from rows_of(parquet.read_row_group(index, columns=columns))


def rows_of(table) -> list[dict[str, Any]]:
    """A pyarrow Table as rows, as ``Table.to_pylist`` gives them, converted column by column (about
    twice as fast)."""
    names = table.column_names
    if not names:
        return [{} for _ in range(table.num_rows)]
    columns = [column.to_pylist() for column in table.columns]
    return [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]


def row_groups(path: Path) -> int:
    arrow()
    import pyarrow.parquet as pq

    with pq.ParquetFile(path) as parquet:
        return parquet.num_row_groups


class RowStats:
    """Per-column null counts and the first rows, gathered while writing."""

    def __init__(self, columns: list[str]):
        self.columns = columns
        self.rows = 0
        self.nulls = dict.fromkeys(columns, 0)
        self.sample: list[dict] = []

    def add(self, row: dict) -> None:
        self.rows += 1
        for name in self.columns:
            value = row.get(name)
            if value is None or value == "":
                self.nulls[name] += 1
        if len(self.sample) < sidecar.SAMPLE_ROWS:
            self.sample.append({name: sidecar.sample_value(row.get(name)) for name in self.columns})


class _OneBehind:
    """Runs calls on one background thread, in order, one at a time: writing, compressing and hashing
    release the GIL, so they use a second core while the step computes the next rows."""

    def __init__(self):
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="medallion-writer")
        self._pending: Future | None = None

    def submit(self, fn, *args) -> None:
        self.wait()  # one call in flight: memory holds one batch more, not the queue of a slow disk
        self._pending = self._thread.submit(fn, *args)

    def wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()  # its error, raised here

    def close(self) -> None:
        try:
            self.wait()
        finally:
            self._thread.shutdown()


class DatasetWriter:
    """Streams rows into a temporary local file in the dataset's format.

    ``schema`` is a ``pyarrow.Schema`` for Parquet; for JSON Lines it is a ``{column: type}`` mapping used
    for the sidecar only. ``write_line`` writes an already-serialized JSON line verbatim (bronze keeps
    what the crawler sent); ``write`` serializes a row. The file is written one batch behind, on a
    thread (``_OneBehind``), in the order the rows came.
    """

    def __init__(self, fmt: str, schema: Any, workdir: Path):
        self.fmt = fmt
        self.schema = schema
        self.path = workdir / f"data.{fmt}"
        columns = list(schema.names) if fmt == "parquet" else list(schema)
        self.stats = RowStats(columns)
        self._buffer: list[dict] = []
        self._behind = _OneBehind()
        self._closed = False
        if fmt == "parquet":
            arrow()
            import pyarrow.parquet as pq

            dictionary = [name for name in schema.names if name not in LONG_TEXT]
            self._parquet = pq.ParquetWriter(self.path, schema, use_dictionary=dictionary, **PARQUET_OPTIONS)
            self.sha1 = None  # hashed at commit, from the finished file
        else:
            self._handle = open(self.path, "wb")
            self._digest = hashlib.sha1()

    def write(self, row: dict) -> None:
        self.stats.add(row)
        if self.fmt == "parquet":
            self._buffer.append(row)
            if len(self._buffer) >= PARQUET_ROW_GROUP:
                self._flush()
        else:
            self._write_bytes(json.dumps(row, ensure_ascii=False, separators=(",", ":")).encode() + b"\n")

    def write_line(self, line: bytes, row: dict) -> None:
        self.stats.add(row)
        self._write_bytes(line.rstrip(b"\r\n") + b"\n")

    def _write_bytes(self, data: bytes) -> None:
        # JSON Lines are hashed as they are written, saving a second read of a large file at commit.
        self._behind.submit(self._write_and_hash, data)

    def _write_and_hash(self, data: bytes) -> None:
        self._handle.write(data)
        self._digest.update(data)

    def _flush(self) -> None:
        if self._buffer:
            self._behind.wait()  # the row group before is written: one table in memory at a time
            pa = arrow()
            # Column by column: Table.from_pylist converts the same values several times slower.
            columns = [pa.array([row.get(f.name) for row in self._buffer], type=f.type) for f in self.schema]
            table = pa.Table.from_arrays(columns, schema=self.schema)
            self._buffer = []
            self._behind.submit(self._parquet.write_table, table)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        parquet = self.fmt == "parquet"
        with contextlib.ExitStack() as stack:  # last in, first out: the thread finishes, then the file
            stack.callback(self._parquet.close if parquet else self._handle.close)
            stack.callback(self._behind.close)
            if parquet:
                self._flush()
        if not parquet:
            self.sha1 = self._digest.hexdigest()

    def schema_summary(self) -> dict[str, str]:
        if self.fmt == "parquet":
            return {field.name: str(field.type) for field in self.schema}
        return dict(self.schema)


def source_key(source: dict) -> str | None:
    """The store-relative key of a source recorded in a sidecar (None: it lives outside the store).

    Sidecars written before sources carried ``key`` name datasets by URI only: their key is the path from
    the dataset root on."""
    if source.get("key"):
        return source["key"]
    if source.get("kind") == "dataset" and f"/{DATASET_ROOT}/" in source.get("uri", ""):
        return source["uri"][source["uri"].index(f"/{DATASET_ROOT}/") + 1 :]
    return None


def _rebase(uri: str, store: Store) -> str:
    """A URI below the dataset root, re-pointed into ``store``."""
    marker = f"/{DATASET_ROOT}/"
    return store.url(uri[uri.index(marker) + 1 :]) if marker in uri else uri


def resolve(meta: dict, store: Store, key: str) -> dict:
    """``meta`` with its own URI and its sources' URIs resolved against the store it was found in.

    The URIs written in a sidecar are where things were when it was written; a store copied to another
    folder or bucket still traces, verifies and reproduces, because every reference is resolved here.
    """
    resolved = {**meta, "dataset": store.url(key)}
    if meta.get("dataset") != resolved["dataset"]:
        resolved["recorded_uri"] = meta.get("dataset")
    if meta.get("quarantine"):
        resolved["quarantine"] = _rebase(meta["quarantine"], store)
    if meta.get("artifacts"):
        resolved["artifacts"] = [{**a, "uri": _rebase(a["uri"], store)} for a in meta["artifacts"]]
    sources = []
    for source in meta.get("sources", []):
        in_store = source_key(source)
        sources.append({**source, "uri": store.url(in_store)} if in_store else source)
    resolved["sources"] = sources
    return resolved


@dataclass
class Dataset:
    """A committed dataset: where its data file is and what its sidecar says."""

    store: Store
    key: str
    meta: dict

    @property
    def uri(self) -> str:
        return self.store.url(self.key)

    @property
    def sha1(self) -> str:
        return self.meta["sha1"]

    @property
    def rows(self) -> int:
        return self.meta["statistics"]["rows"]

    def checked_sha1(self, known: dict | None = None) -> tuple[str, str]:
        """The data's SHA1 and fingerprint, checked against the sidecar; raises ``DataMismatch``.

        The data is re-hashed only when its fingerprint is neither the one committed in the sidecar nor
        ``known`` (a source record of a step that read it before and hashed it then).
        """
        fingerprint = self.store.fingerprint(self.key)
        trusted = {self.meta.get("fingerprint")}
        if known and known.get("sha1") == self.sha1:
            trusted.add(known.get("fingerprint"))
        if fingerprint in trusted:
            return self.sha1, fingerprint
        actual = self.store.sha1(self.key)
        if actual != self.sha1:
            raise DataMismatch(self.meta, actual)
        return actual, fingerprint

    @contextlib.contextmanager
    def local_copy(self) -> Iterator[Path]:
        """A local file of the data, hashed before it is read: data that no longer matches its sidecar is
        refused (``DataMismatch``), whatever its fingerprint says."""
        with local_copy(self.store, self.key) as path:
            actual = sidecar.file_sha1(path)
            if actual != self.sha1:
                raise DataMismatch(self.meta, actual)
            yield path

    @contextlib.contextmanager
    def checking_copy(self) -> Iterator[tuple[Path, Callable[[], None]]]:
        """``local_copy``, hashed on a thread while the caller starts reading: ``check()`` waits for the
        hash and raises ``DataMismatch``. For a step that reads the data twice (a first pass that writes
        nothing), which calls ``check()`` after the first pass; leaving the block checks too."""
        with local_copy(self.store, self.key) as path, ThreadPoolExecutor(1) as thread:
            actual = thread.submit(sidecar.file_sha1, path)  # hashlib and reading release the GIL

            def check() -> None:
                if actual.result() != self.sha1:
                    raise DataMismatch(self.meta, actual.result())

            yield path, check
            check()

    def records(self, columns: list[str] | None = None) -> Iterator[dict[str, Any]]:
        with self.local_copy() as path:
            yield from iter_file(path, format_of(self.key), columns=columns)

    @classmethod
    def open(cls, store: Store, key: str, hint: str = "") -> Dataset:
        """Open the dataset whose data file is ``key``; a dataset without a valid sidecar does not exist."""
        where = store.url(key)
        try:
            text = store.read_bytes(sidecar.sidecar_key(key))
        except NotFound as exc:
            raise DatasetNotFound(
                f"no committed dataset at {where} (no sidecar){': ' + hint if hint else ''}"
            ) from exc
        meta = sidecar.loads(text, where=store.url(sidecar.sidecar_key(key)))
        return cls(store=store, key=key, meta=resolve(meta, store, key))


def read_meta(store: Store, key: str) -> dict | None:
    """The valid sidecar of ``key`` (resolved against ``store``), or None when there is none (or it does not
    validate)."""
    try:
        return resolve(sidecar.loads(store.read_bytes(sidecar.sidecar_key(key))), store, key)
    except (NotFound, sidecar.SidecarError):
        return None


def commit(store: Store, key: str, path: Path, meta: dict, sha1: str | None = None) -> dict:
    """Publish ``path`` as dataset ``key``: hash, retract the old sidecar, move data into place, sidecar last.

    ``sha1``: the file's digest when the writer computed it while writing.
    """
    meta["sha1"] = sha1 or sidecar.file_sha1(path)
    meta["bytes"] = os.path.getsize(path)
    meta["dataset"] = store.url(key)
    meta["created_at"] = sidecar.now()
    sidecar.validate(meta, where=f"new sidecar of {store.url(key)}")
    # Between these calls readers see no dataset rather than new data behind an old sidecar.
    store.delete(sidecar.sidecar_key(key))
    store.upload(path, key, move=True)
    meta["fingerprint"] = store.fingerprint(key)  # what stands in for a re-hash until the data changes
    store.write_bytes(sidecar.sidecar_key(key), sidecar.dumps(meta).encode())
    return meta


def find_datasets(store: Store, prefix: str = "") -> Iterator[str]:
    """Data-file keys that have a sidecar beside them, below ``prefix``."""
    for key in store.list(prefix):
        if key.endswith(sidecar.SIDECAR_SUFFIX):
            yield key[: -len(sidecar.SIDECAR_SUFFIX)]
