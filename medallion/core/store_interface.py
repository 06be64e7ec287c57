"""The storage interface every step, tool and command uses: ``Store``, and the errors its operations raise.

Keys are ``/``-separated paths relative to the store's root. Data moves through local temporary files
(``upload`` / ``download``), so memory never grows with the size of an object. The implementations are
``store_local.LocalStore`` (a folder) and ``store_s3.S3Store`` (boto3); ``store.open_store`` picks one by URI.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path

from medallion.core.errors import MedallionError


class StoreError(MedallionError, RuntimeError):
    """A storage operation failed; the message says what, where, and what to do."""


class NotFound(StoreError):
    """The object does not exist."""


class AccessDenied(StoreError):
    """The identity's policy does not allow the operation; the message names the identity and the path."""


class Store(ABC):
    """A place that holds objects under keys."""

    uri: str

    def url(self, key: str) -> str:
        """The full URI of ``key`` in this store (what sidecars record as lineage)."""
        return f"{self.uri.rstrip('/')}/{key.lstrip('/')}"

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def read_bytes(self, key: str) -> bytes: ...

    @abstractmethod
    def write_bytes(self, key: str, data: bytes) -> None: ...

    @abstractmethod
    def download(self, key: str, path: Path) -> None:
        """Copy the object to a local file, streaming."""

    @abstractmethod
    def upload(self, path: Path, key: str, move: bool = False) -> None:
        """Put a local file under ``key``; readers see the old object or the whole new one, never a part.

        ``move``: the local file is disposable and may be moved rather than copied.
        """

    def scratch_dir(self) -> Path | None:
        """Where a step's temporary files go: beside the data for a local store, so commit is a rename."""
        return None

    @abstractmethod
    def fingerprint(self, key: str) -> str:
        """What changes whenever the object is rewritten, read without reading the data: size and mtime/ctime
        of a file, size and ETag of an S3 object. Raises NotFound."""

    @abstractmethod
    def sha1(self, key: str) -> str:
        """The SHA1 of the object's bytes, streamed. Raises NotFound."""

    @abstractmethod
    def create(self, key: str, data: bytes) -> bool:
        """Write ``key`` only if it does not exist yet, atomically; False when it already did."""

    def versions(self, key: str) -> list[dict]:
        """Earlier and current versions of ``key``, newest first (``version``, ``modified``, ``latest``);
        [] where the store keeps none."""
        return []

    def read_version(self, key: str, version: str) -> bytes:
        raise NotFound(f"{self.url(key)}: this store keeps no versions")

    @abstractmethod
    def list(self, prefix: str) -> Iterator[str]:
        """Every key below ``prefix`` (recursively), sorted."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove ``key``; removing a missing key is not an error."""


def file_sha1(path: Path) -> str:
    digest = hashlib.sha1()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
