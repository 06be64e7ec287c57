"""The S3 store: a bucket (and optional prefix) on AWS S3 or any S3-protocol server such as MinIO, by boto3.

Uploads above the multipart threshold go up in parts. Every botocore error becomes a ``StoreError`` that
says what failed, where, and what to do (``S3Store._fail``); the timeouts and attempts come from
``config.s3_settings`` and bound the whole command, not each request.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

from medallion.core.config import ConfigError, s3_identity, s3_settings
from medallion.core.store_interface import AccessDenied, NotFound, Store, StoreError

MULTIPART_THRESHOLD = 16 * 1024 * 1024
MULTIPART_CHUNKSIZE = 16 * 1024 * 1024


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
