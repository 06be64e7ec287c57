"""What the manifests share: image names, the S3 connection by Secret reference, resources, retries.

Credentials appear only as Kubernetes Secret references (name and key), never as values.
"""

from __future__ import annotations

from dataclasses import dataclass

from hera.workflows import ConfigMapEnv, Env, SecretEnv
from hera.workflows.models import Backoff, RetryStrategy

from medallion import __version__
from medallion.core.pipeline import Stage

NAMESPACE = "argo"
SERVICE_ACCOUNT = "html-classification-workflow"
CONFIG_MAP = "html-classification"  # keys: s3-endpoint, labeler-*, llm-*, mlflow-tracking-uri, lineage-*
LABELER_SECRET = "html-classification-labeler"  # key: token
LLM_SECRET = "html-classification-llm"  # key: api-key
LINEAGE_SECRET = "html-classification-lineage"  # key: api-key
OUTPUTS_DIR = "/tmp/outputs"  # where a step writes its output parameters (--output-params)


@dataclass(frozen=True)
class Deployment:
    """The knobs `medallion workflows render` exposes; the chart passes the same values."""

    registry: str = "ghcr.io/html-classification"
    tag: str = __version__
    namespace: str = NAMESPACE
    bucket: str = "html-classification"
    timezone: str = "UTC"
    schedule: str = "30 2 * * *"  # 02:30 every day, for the previous day's batch
    release_schedule: str = "0 6 * * 1"  # 06:00 on Mondays, for the week that ended yesterday


def image(deployment: Deployment, name: str) -> str:
    """A stage's own image, pinned to the release tag (never latest)."""
    return f"{deployment.registry}/{name}:{deployment.tag}"


def identity(stage: Stage) -> str:
    """The S3 identity a stage runs as: one Secret per stage, holding only that stage's credentials."""
    return f"html-classification-s3-{stage.identity}"


def s3_env(secret: str) -> list:
    return [
        SecretEnv(name="AWS_ACCESS_KEY_ID", secret_name=secret, secret_key="accessKey"),
        SecretEnv(name="AWS_SECRET_ACCESS_KEY", secret_name=secret, secret_key="secretKey"),
        ConfigMapEnv(
            name="AWS_ENDPOINT_URL", config_map_name=CONFIG_MAP, config_map_key="s3-endpoint", optional=True
        ),
        Env(name="AWS_DEFAULT_REGION", value="us-east-1"),
    ]


def lineage_env() -> list:
    """Every step's OpenLineage backend (medallion/runtime/lineage.py): its URL and the jobs' namespace from
    the ConfigMap, its API key from a Secret; all optional: without a URL no events are sent."""
    return [
        ConfigMapEnv(
            name="OPENLINEAGE_URL", config_map_name=CONFIG_MAP, config_map_key="lineage-url", optional=True
        ),
        ConfigMapEnv(
            name="OPENLINEAGE_NAMESPACE",
            config_map_name=CONFIG_MAP,
            config_map_key="lineage-namespace",
            optional=True,
        ),
        SecretEnv(
            name="OPENLINEAGE_API_KEY", secret_name=LINEAGE_SECRET, secret_key="api-key", optional=True
        ),
    ]


def mlflow_env() -> list:
    """Where the train stage logs its runs: the MLflow server named in the ConfigMap."""
    return [
        ConfigMapEnv(
            name="MLFLOW_TRACKING_URI", config_map_name=CONFIG_MAP, config_map_key="mlflow-tracking-uri"
        )
    ]


def labeler_env() -> list:
    """The labeling API for the annotation stage: its name and URL from the ConfigMap, its token from a
    Secret. The name identifies the service (its labels and their cache); without one, its URL does."""
    return [
        ConfigMapEnv(
            name="LABELER_NAME", config_map_name=CONFIG_MAP, config_map_key="labeler-name", optional=True
        ),
        ConfigMapEnv(name="LABELER_URL", config_map_name=CONFIG_MAP, config_map_key="labeler-url"),
        SecretEnv(name="LABELER_TOKEN", secret_name=LABELER_SECRET, secret_key="token"),
    ]


def retry_strategy() -> RetryStrategy:
    """Transient failures (an S3 hiccup, a node going away) are retried with exponential backoff."""
    return RetryStrategy(
        limit="3",
        retry_policy="Always",
        backoff=Backoff(duration="30s", factor="2", max_duration="15m"),
    )


def llm_env() -> list:
    """An OpenAI-compatible chat endpoint for ``--label-source llm``: its base URL and name from the
    ConfigMap, its key from a Secret; all optional, so the other label sources run without them."""
    return [
        ConfigMapEnv(
            name="OPENAI_BASE_URL", config_map_name=CONFIG_MAP, config_map_key="llm-base-url", optional=True
        ),
        ConfigMapEnv(name="LLM_NAME", config_map_name=CONFIG_MAP, config_map_key="llm-name", optional=True),
        SecretEnv(name="OPENAI_API_KEY", secret_name=LLM_SECRET, secret_key="api-key", optional=True),
    ]


# What each outside service a stage names (Stage.services) brings into its pod.
SERVICE_ENV = {"labeler": labeler_env, "llm": llm_env, "mlflow": mlflow_env}

ACTIVE_DEADLINE_SECONDS = 2 * 3600
