"""The local-folder store: the embedded default, and what tests and ``medallion demo`` run on.

A write goes to a partial file beside its target and is renamed into place, so readers see the old object
or the whole new one; a step's scratch files live in the store's ``.scratch/`` folder, so commit is a rename.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from medallion.core.config import ConfigError
from medallion.core.store_interface import NotFound, Store, StoreError, file_sha1


class LocalStore(Store):
    """A folder on this machine: the embedded default."""

    def __init__(self, root: str | Path, uri: str | None = None):
        self.root = Path(root)
        self.uri = uri or f"file://{self.root}"

    def _path(self, key: str) -> Path:
        if self.root.is_file():  # say so, rather than "not a directory" for a path below it
            raise ConfigError(f"store {self.uri}: {self.root} is a file; a local store is a folder")
        path = (self.root / key).resolve()
        if not str(path).startswith(str(self.root.resolve())):
            raise StoreError(f"key {key!r} points outside the store {self.uri}")
        return path

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def read_bytes(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError as exc:
            raise NotFound(f"{self.url(key)} does not exist") from exc

    def write_bytes(self, key: str, data: bytes) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
        try:
            partial.write_bytes(data)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)

    def create(self, key: str, data: bytes) -> bool:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            with open(target, "xb") as handle:  # O_CREAT | O_EXCL: one creator wins
                handle.write(data)
        except FileExistsError:
            return False
        return True

    def fingerprint(self, key: str) -> str:
        try:
            st = self._path(key).stat()
        except FileNotFoundError as exc:
            raise NotFound(f"{self.url(key)} does not exist") from exc
        # ctime too: a byte changed in place with the mtime set back still moves it.
        return f"file:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}"

    def sha1(self, key: str) -> str:
        try:
            return file_sha1(self._path(key))
        except FileNotFoundError as exc:
            raise NotFound(f"{self.url(key)} does not exist") from exc

    def download(self, key: str, path: Path) -> None:
        try:
            shutil.copyfile(self._path(key), path)
        except FileNotFoundError as exc:
            raise NotFound(f"{self.url(key)} does not exist") from exc

    def upload(self, path: Path, key: str, move: bool = False) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        if move:
            try:
                os.replace(path, target)  # atomic within one filesystem
                return
            except OSError:
                pass  # another filesystem: copy instead
        # Copy beside the target, then rename: a rename is atomic within one filesystem.
        partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
        try:
            shutil.copyfile(path, partial)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)

    def scratch_dir(self) -> Path:
        path = self.root / ".scratch"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def list(self, prefix: str) -> Iterator[str]:
        base = self._path(prefix) if prefix else self.root.resolve()
        if base.is_file():
            yield prefix
            return
        if not base.is_dir():
            return
        root = self.root.resolve()
        found = []
        for dirpath, _dirs, files in os.walk(base):
            if Path(dirpath).relative_to(root).parts[:1] == (".scratch",):
                continue
            for name in files:
                if name.startswith(".") and name.endswith(".partial"):
                    continue
                found.append(str((Path(dirpath) / name).relative_to(root)).replace(os.sep, "/"))
        yield from sorted(found)

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)
