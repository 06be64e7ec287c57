"""One small storage interface with two implementations: a local folder and S3 (boto3).

``open_store`` picks the implementation by URI and ``split_uri`` finds the store of a dataset URI. The rest
is defined in its own module:

- ``store_interface``: ``Store`` (keys are ``/``-separated paths below the store's root; data moves through
  local temporary files, so memory never grows with the size of an object) and the errors it raises
- ``store_local``: ``LocalStore``, a folder on this machine
- ``store_s3``: ``S3Store``, a bucket on S3 or MinIO; uploads above the multipart threshold go up in parts
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from medallion.core.config import DATASET_ROOT, ConfigError
from medallion.core.store_interface import Store
from medallion.core.store_local import LocalStore
from medallion.core.store_s3 import S3Store


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
