"""The one place that reads the environment.

Every setting a step or the CLI needs from the environment is read here, so a missing or malformed value
fails loudly with the name of the variable to set.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from medallion.core.errors import MedallionError

# The installed package is its own locator: the contracts and the default configuration are package data
# (pyproject [tool.setuptools.package-data]), found the same way in a checkout, a wheel and an image.
PACKAGE_DIR = Path(__file__).resolve().parents[1]  # medallion/
SOURCE_ROOT = PACKAGE_DIR.parent  # the folder holding medallion/ and steps/: the checkout or site-packages
SCHEMA_DIR = PACKAGE_DIR / "schemas"  # the record contracts and the sidecar schema
CONFIG_DIR = PACKAGE_DIR / "config"  # the default rule sets and quality gates
DEFAULT_STORE = "file://./data"
DATASET_ROOT = "html-classification"  # every layer lives below <store>/html-classification/


class ConfigError(MedallionError, RuntimeError):
    """A setting is missing or malformed; the message names the variable or option to fix."""


def default_store() -> str:
    """The store URI used when ``--store`` is not given: ``MEDALLION_STORE`` or the local ``./data`` folder."""
    return os.environ.get("MEDALLION_STORE") or DEFAULT_STORE


def config_dir() -> Path:
    """Folder holding the rule and gate configuration files (``MEDALLION_CONFIG_DIR`` overrides)."""
    return Path(os.environ.get("MEDALLION_CONFIG_DIR") or CONFIG_DIR)


def rule_sets_path() -> Path:
    """The text-normalization rule sets: ``text-normalization.yaml`` in the configuration folder."""
    return config_dir() / "text-normalization.yaml"


@dataclass(frozen=True)
class RunContext:
    """Who is running a step: the workflow name and run id recorded in every sidecar."""

    workflow: str
    run_id: str

    @classmethod
    def from_env(cls, default_workflow: str) -> RunContext:
        # On Argo the controller sets these through the template's env; locally a run id is minted once per
        # `medallion run` and handed to every stage through the environment.
        workflow = os.environ.get("MEDALLION_WORKFLOW") or default_workflow
        run_id = os.environ.get("MEDALLION_RUN_ID") or f"local-{uuid.uuid4().hex[:12]}"
        return cls(workflow=workflow, run_id=run_id)


@dataclass(frozen=True)
class S3Settings:
    endpoint_url: str | None
    region: str
    # At most (5 + 15) s x 3 attempts of waiting by default: a silent endpoint fails a step within a minute.
    connect_timeout: float = 4.0  # 3 attempts x (4 s + 15 s) stay under a minute
    read_timeout: float = 15.0
    max_attempts: int = 3


def _number(name: str, default: float, kind=float):
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a {kind.__name__}, got {raw!r}") from exc
    if value <= 0:
        raise ConfigError(f"{name} must be positive, got {raw!r}")
    return value


def s3_settings() -> S3Settings:
    """S3 endpoint and region from the standard AWS variables (credentials are left to boto3's chain),
    and the bounds on a slow or unreachable endpoint: ``MEDALLION_S3_CONNECT_TIMEOUT`` (seconds, default 4),
    ``MEDALLION_S3_READ_TIMEOUT`` (15) and ``MEDALLION_S3_MAX_ATTEMPTS`` (3, retries included)."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    return S3Settings(
        endpoint_url=endpoint,
        region=region,
        connect_timeout=_number("MEDALLION_S3_CONNECT_TIMEOUT", S3Settings.connect_timeout),
        read_timeout=_number("MEDALLION_S3_READ_TIMEOUT", S3Settings.read_timeout),
        max_attempts=_number("MEDALLION_S3_MAX_ATTEMPTS", S3Settings.max_attempts, int),
    )


def s3_identity() -> str:
    """The name of the S3 identity this process runs as (``MEDALLION_IDENTITY``), for error messages;
    '' when unset. Never the access key: that stays out of logs."""
    return os.environ.get("MEDALLION_IDENTITY", "")


def debug() -> bool:
    """``MEDALLION_DEBUG=1``: an unexpected failure shows its Python traceback instead of one line."""
    return (os.environ.get("MEDALLION_DEBUG") or "").strip().lower() in ("1", "true", "yes")


def lease_seconds() -> float:
    """How long a step's lease on its dataset lasts before another run may take it over
    (``MEDALLION_LEASE_SECONDS``, default 3 hours: longer than a step's deadline)."""
    return _number("MEDALLION_LEASE_SECONDS", 3 * 3600.0)


def progress_interval() -> float:
    """Seconds between progress lines on stderr (``MEDALLION_PROGRESS_SECONDS``, default 2)."""
    raw = os.environ.get("MEDALLION_PROGRESS_SECONDS", "2")
    try:
        return float(raw)
    except ValueError as exc:
        raise ConfigError(f"MEDALLION_PROGRESS_SECONDS must be a number of seconds, got {raw!r}") from exc


# Switches every step takes, as the Argo parameter that sets them and the environment variable it sets:
# the steps' --force and --warn-only default to these, so one workflow parameter reaches every step.
SWITCHES = {
    "force": ("MEDALLION_FORCE", "true: rebuild and replace datasets built from other inputs or parameters"),
    "warn-only": (
        "MEDALLION_WARN_ONLY",
        "true: failed quality gates (medallion/config/quality.yaml) are reported and the datasets committed anyway",
    ),
}


def switch(name: str) -> bool:
    """A switch from its environment variable (true or false, default false)."""
    variable = SWITCHES[name][0]
    raw = (os.environ.get(variable) or "false").strip().lower()
    if raw not in ("true", "false", "1", "0"):
        raise ConfigError(f"{variable} must be true or false, got {raw!r}")
    return raw in ("true", "1")


def worker_count() -> int:
    """Processes a CPU-bound stage may use (``MEDALLION_WORKERS``, default: every core)."""
    raw = os.environ.get("MEDALLION_WORKERS")
    if not raw:
        return max(
            1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        )
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"MEDALLION_WORKERS must be a whole number, got {raw!r}") from exc
    if value < 1:
        raise ConfigError(f"MEDALLION_WORKERS must be at least 1, got {value}")
    return value


@dataclass(frozen=True)
class ArgoServer:
    url: str
    token: str | None
    namespace: str
    verify: bool


def argo_server() -> ArgoServer:
    """The Argo server `medallion workflows apply|submit|backfill` talk to."""
    url = os.environ.get("ARGO_SERVER")
    if not url:
        raise ConfigError(
            "ARGO_SERVER is not set: export ARGO_SERVER=https://localhost:2746 (and ARGO_TOKEN if needed)"
        )
    if "://" not in url:
        url = f"https://{url}"
    token = os.environ.get("ARGO_TOKEN") or None
    if token and not token.lower().startswith("bearer "):
        token = f"Bearer {token}"
    verify = os.environ.get("ARGO_INSECURE_SKIP_VERIFY", "").lower() not in ("1", "true", "yes")
    return ArgoServer(
        url=url, token=token, namespace=os.environ.get("ARGO_NAMESPACE") or "argo", verify=verify
    )


@dataclass(frozen=True)
class LabelerSettings:
    """The labeling API. ``name`` identifies the service: its labels, its label cache, the annotated
    dataset's parameters. ``url`` only says where it is reached. Any of them may be None when unset;
    ``require()`` fails loudly before the API is called."""

    name: str | None
    url: str | None
    token: str | None = field(default=None, repr=False)

    def require(self) -> LabelerSettings:
        if not self.url:
            raise ConfigError(
                "LABELER_URL is not set: export LABELER_URL=http://host:port of the labeling API"
            )
        if not self.token:
            raise ConfigError(
                "LABELER_TOKEN is not set: export the labeling API's bearer token (from a Secret)"
            )
        return self


def labeler_settings() -> LabelerSettings:
    """The labeling API: ``LABELER_NAME`` names the service, ``LABELER_URL`` is where it is and
    ``LABELER_TOKEN`` its bearer token (a secret: never logged). Without ``LABELER_NAME`` the name is the
    URL without credentials, query or trailing slash: another endpoint is another service, and labels
    cached before names existed are found under the same name."""
    url = (os.environ.get("LABELER_URL") or "").strip().rstrip("/") or None
    name = (os.environ.get("LABELER_NAME") or "").strip() or (url and _endpoint(url))
    if name and any(c.isspace() for c in name):
        raise ConfigError(f"LABELER_NAME must be one word (no spaces), got {name!r}")
    return LabelerSettings(name=name or None, url=url, token=os.environ.get("LABELER_TOKEN") or None)


@dataclass(frozen=True)
class LlmSettings:
    """``OPENAI_BASE_URL`` (http://host:8000/v1) and ``OPENAI_API_KEY`` (a secret: never logged); ``name``
    (``LLM_NAME``, else the base URL's host and port) identifies the provider, its answers and their cache."""

    name: str | None
    base_url: str | None
    api_key: str | None = field(default=None, repr=False)

    def require(self) -> LlmSettings:
        if not self.base_url:
            raise ConfigError(
                "OPENAI_BASE_URL is not set: export OPENAI_BASE_URL=https://host/v1 (the endpoint)"
            )
        if not self.api_key:
            raise ConfigError("OPENAI_API_KEY is not set: export the endpoint's API key (from a Secret)")
        return self


def llm_settings() -> LlmSettings:
    base_url = (os.environ.get("OPENAI_BASE_URL") or "").strip().rstrip("/") or None
    name = (os.environ.get("LLM_NAME") or "").strip() or (base_url and provider_of(base_url))
    if name and any(c.isspace() for c in name):
        raise ConfigError(f"LLM_NAME must be one word (no spaces), got {name!r}")
    return LlmSettings(name=name or None, base_url=base_url, api_key=os.environ.get("OPENAI_API_KEY") or None)


def provider_of(base_url: str) -> str:
    """The provider a base URL names: its host and port (no credentials, path or query)."""
    parts = urlsplit(base_url)
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = None
    if port is None or not parts.hostname:
        raise ConfigError(f"OPENAI_BASE_URL must be a URL like https://host/v1, got {base_url!r}")
    return f"{parts.hostname}{port}"


def _endpoint(url: str) -> str:
    parts = urlsplit(url)
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError as exc:
        raise ConfigError(f"LABELER_URL must be a URL like http://host:port, got {url!r}") from exc
    return f"{parts.scheme}://{parts.hostname or ''}{port}{parts.path.rstrip('/')}"
