"""One small storage interface with two implementations: a local folder and S3 (boto3).

Keys are ``/``-separated paths relative to the store's root. Data moves through local temporary files
(``upload`` / ``download``), so memory never grows with the size of an object; S3 uploads above the
multipart threshold go up in parts.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

from medallion.core.config import DATASET_ROOT, ConfigError, s3_identity, s3_settings
from medallion.core.errors import MedallionError

MULTIPART_THRESHOLD = 16 * 1024 * 1024
MULTIPART_CHUNKSIZE = 16 * 1024 * 1024


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


class S3Store(Store):
    """A bucket (and optional prefix) on S3 or any S3-protocol server such as MinIO."""

    def __init__(self, bucket: str, prefix: str = "", client=None):
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.uri = f"s3://{bucket}" + (f"/{self.prefix}" if self.prefix else "")
        self._client = client

    @property
    def client(self):
        if self._client is None:
            self._client = _s3_client()
        return self._client

    def _key(self, key: str) -> str:
        key = key.lstrip("/")
        return f"{self.prefix}/{key}" if self.prefix else key

    def _fail(self, exc: Exception, action: str, key: str) -> StoreError:
        from botocore.exceptions import ClientError, NoCredentialsError

        if isinstance(exc, NoCredentialsError):
            return ConfigError(
                f"no S3 credentials to {action} {self.url(key)}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
                "(and AWS_ENDPOINT_URL for MinIO)"
            )
        if isinstance(exc, ClientError):
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "404", "NotFound"):
                return NotFound(f"{self.url(key)} does not exist")
            if code in ("AccessDenied", "403", "Forbidden", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
                who = s3_identity()
                who = (
                    f"identity {who!r}" if who else "the current credentials (MEDALLION_IDENTITY names them)"
                )
                return AccessDenied(
                    f"access denied: {who} may not {action} {self.url(key)} ({code}). Each stage may write "
                    "only its own prefixes: see its policy (medallion policies render), or run the step "
                    "as the identity that owns this path"
                )
            if code == "NoSuchBucket":
                return StoreError(
                    f"bucket {self.bucket!r} does not exist: create it before running ({action} {key})"
                )
        from botocore.exceptions import ConnectionError as EndpointDown
        from botocore.exceptions import HTTPClientError, ReadTimeoutError

        settings = s3_settings()
        exc = _cause(exc, (ReadTimeoutError, EndpointDown, HTTPClientError)) or exc
        endpoint = settings.endpoint_url or "of AWS"
        bounds = (
            f"Nothing was committed; rerun when it is back (bounds: MEDALLION_S3_CONNECT_TIMEOUT="
            f"{settings.connect_timeout:g}s, MEDALLION_S3_READ_TIMEOUT={settings.read_timeout:g}s, "
            f"MEDALLION_S3_MAX_ATTEMPTS={settings.max_attempts})"
        )
        if isinstance(exc, ReadTimeoutError):
            return StoreError(
                f"could not {action} {self.url(key)}: the S3 endpoint {endpoint} did not answer within "
                f"{settings.read_timeout:g}s ({settings.max_attempts} attempts); it is overloaded or down. "
                + bounds
            )
        if isinstance(exc, EndpointDown | HTTPClientError):
            return StoreError(
                f"could not {action} {self.url(key)}: the S3 endpoint {endpoint} cannot be reached or "
                f"dropped the connection ({settings.max_attempts} attempts: {type(exc).__name__}). " + bounds
            )
        return StoreError(f"could not {action} {self.url(key)}: {exc}")

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise self._fail(exc, "check", key) from exc
        except Exception as exc:
            raise self._fail(exc, "check", key) from exc

    def fingerprint(self, key: str) -> str:
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except Exception as exc:
            raise self._fail(exc, "check", key) from exc
        etag = head["ETag"].strip('"')
        return f"s3:{head['ContentLength']}:{etag}"

    def sha1(self, key: str) -> str:
        digest = hashlib.sha1()
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"]
            for chunk in body.iter_chunks(1 << 20):
                digest.update(chunk)
        except Exception as exc:
            raise self._fail(exc, "read", key) from exc
        return digest.hexdigest()

    def read_bytes(self, key: str) -> bytes:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
        except Exception as exc:
            raise self._fail(exc, "read", key) from exc

    def write_bytes(self, key: str, data: bytes) -> None:
        try:
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)
        except Exception as exc:
            raise self._fail(exc, "write", key) from exc

    def download(self, key: str, path: Path) -> None:
        try:
            self.client.download_file(self.bucket, self._key(key), str(path), Config=_transfer_config())
        except Exception as exc:
            raise self._fail(exc, "read", key) from exc

    def upload(self, path: Path, key: str, move: bool = False) -> None:
        # upload_file switches to a multipart upload above the threshold; S3 makes the object visible only
        # when the last part completes, so readers never see a partial object.
        try:
            self.client.upload_file(str(path), self.bucket, self._key(key), Config=_transfer_config())
        except Exception as exc:
            raise self._fail(exc, "write", key) from exc

    def list(self, prefix: str) -> Iterator[str]:
        full = self._key(prefix)
        strip = len(self.prefix) + 1 if self.prefix else 0
        keys = []
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=full
            ):
                keys.extend(item["Key"][strip:] for item in page.get("Contents", []))
        except Exception as exc:
            raise self._fail(exc, "list", prefix) from exc
        yield from sorted(keys)

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))
        except Exception as exc:
            raise self._fail(exc, "delete", key) from exc

    def create(self, key: str, data: bytes) -> bool:
        from botocore.exceptions import ClientError

        try:
            # A conditional write: S3 and MinIO refuse it when the key exists, so one creator wins.
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data, IfNoneMatch="*")
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in (
                "PreconditionFailed",
                "ConditionalRequestConflict",
                "412",
            ):
                return False
            raise self._fail(exc, "create", key) from exc
        except Exception as exc:
            raise self._fail(exc, "create", key) from exc

    def versions(self, key: str) -> list[dict]:
        full = self._key(key)
        try:
            pages = self.client.get_paginator("list_object_versions").paginate(
                Bucket=self.bucket, Prefix=full
            )
            found = [
                {
                    "version": v["VersionId"],
                    "modified": v["LastModified"].isoformat(),
                    "latest": v["IsLatest"],
                }
                for page in pages
                for v in page.get("Versions", [])
                if v["Key"] == full
            ]
        except Exception as exc:
            raise self._fail(exc, "list versions of", key) from exc
        return sorted(found, key=lambda v: v["modified"], reverse=True)

    def read_version(self, key: str, version: str) -> bytes:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(key), VersionId=version)
            return response["Body"].read()
        except Exception as exc:
            raise self._fail(exc, f"read version {version} of", key) from exc


def file_sha1(path: Path) -> str:
    digest = hashlib.sha1()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _cause(exc: BaseException, kinds: tuple) -> BaseException | None:
    """The first exception of ``kinds`` in ``exc``'s chain (boto3's transfers wrap the network error)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, kinds):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def _transfer_config():
    from boto3.s3.transfer import TransferConfig

    # One attempt at s3transfer's level: botocore already retries each request MEDALLION_S3_MAX_ATTEMPTS
    # times, and s3transfer's own download retries (5 by default) would multiply that bound.
    return TransferConfig(
        multipart_threshold=MULTIPART_THRESHOLD,
        multipart_chunksize=MULTIPART_CHUNKSIZE,
        use_threads=False,
        num_download_attempts=1,
    )


def _s3_client():
    import boto3
    from botocore.config import Config

    settings = s3_settings()
    client = boto3.session.Session().client(
        "s3",
        endpoint_url=settings.endpoint_url,
        region_name=settings.region,
        config=Config(
            # total_max_attempts counts the first try; botocore's max_attempts would add one to it.
            retries={"total_max_attempts": settings.max_attempts, "mode": "standard"},
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
            s3={"addressing_style": "path"},
        ),
    )
    _fail_fast_once_down(client)
    return client


def _fail_fast_once_down(client) -> None:
    """Once a request has spent every attempt on an endpoint that is down or silent, every later request
    of this client (a lease release, the abort of a multipart upload) fails at once with the same error:
    the bounds hold for the whole command, not for each request."""
    from botocore.exceptions import ConnectionError as EndpointDown
    from botocore.exceptions import HTTPClientError

    down: list[Exception] = []

    def remember(exception=None, **_kwargs) -> None:
        if isinstance(exception, EndpointDown | HTTPClientError) and not down:
            down.append(exception)

    def refuse(**_kwargs) -> None:
        if down:
            raise down[0]

    client.meta.events.register("after-call-error.s3", remember)
    client.meta.events.register("before-call.s3", refuse)


def open_store(uri: str) -> Store:
    """Open ``file://PATH``, a plain folder path, or ``s3://BUCKET[/PREFIX]``."""
    if uri.startswith("s3://"):
        parsed = urlparse(uri)
        if not parsed.netloc:
            raise ConfigError(f"store URI {uri!r} has no bucket: use s3://BUCKET[/PREFIX]")
        return S3Store(parsed.netloc, parsed.path)
    if "://" in uri and not uri.startswith("file://"):
        raise ConfigError(f"unsupported store URI {uri!r}: use file://PATH or s3://BUCKET[/PREFIX]")
    # A relative folder is resolved once, here: `data`, `./data`, `/abs/data` and `file://./data` name the
    # same store from the same directory, and what a sidecar records does not depend on where a step ran.
    root = Path(uri.removeprefix("file://") or ".").expanduser().resolve()
    return LocalStore(root, uri=f"file://{root}")


def split_uri(uri: str) -> tuple[Store, str]:
    """Split a dataset URI into its store and the key below it, at the ``html-classification/`` root."""
    marker = f"/{DATASET_ROOT}/"
    probe = uri if uri.endswith("/") else uri + "/"
    at = probe.find(marker)
    if at < 0:
        raise ConfigError(
            f"{uri!r} is not a dataset URI: expected <store>/{DATASET_ROOT}/<stage>/[<version>/]<date>/[<file>]"
        )
    store_uri = probe[:at] or "."
    key = uri[at + 1 :] if len(uri) > at + 1 else ""
    return open_store(store_uri), key
