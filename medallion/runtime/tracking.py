"""MLflow: which datasets trained which model.

A training run logs its parameters (input dataset URIs and SHA1s, the text-normalization version),
its metrics, the input datasets' sidecars as artifacts, and each input dataset with ``mlflow.log_input``:
source = the dataset's URI, digest = its SHA1 (MLflow caps a digest at 36 characters, so the first 36;
the full SHA1 is a run parameter and an input tag). The tracking store is ``MLFLOW_TRACKING_URI``, or a
SQLite file under the local data folder.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from medallion.core.store_interface import Store
from medallion.core.store_local import LocalStore

EXPERIMENT = "html-classification"
DIGEST_LIMIT = 36


def tracking_uri(store: Store) -> str:
    if os.environ.get("MLFLOW_TRACKING_URI"):
        return os.environ["MLFLOW_TRACKING_URI"]
    # The local data folder: the store itself when it is local, else ./data (never the store's bucket).
    root = store.root.resolve() if isinstance(store, LocalStore) else Path.cwd() / "data"
    (root / "mlflow").mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{root / 'mlflow' / 'mlflow.db'}"


def shown_uri(uri: str) -> str:
    """A tracking URI as a sidecar may show it: no credentials."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(uri)
    if not (parts.password or parts.username):
        return uri  # as given: a round trip would drop the empty host of sqlite:///PATH
    return urlunsplit(parts._replace(netloc=parts.hostname + (f":{parts.port}" if parts.port else "")))


@contextlib.contextmanager
def _setup_lock(uri: str) -> Iterator[None]:
    """An exclusive lock beside a SQLite tracking database while it is created or migrated."""
    if not uri.startswith("sqlite:///"):
        yield
        return
    import fcntl

    with open(Path(uri[len("sqlite:///") :]).parent / ".setup.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _start(store: Store) -> None:
    """Point MLflow at the tracking store and the experiment, creating them the first time."""
    import mlflow

    uri = tracking_uri(store)
    mlflow.set_tracking_uri(uri)
    with _setup_lock(uri):  # two runs creating one SQLite database at once would race in its migrations
        if uri.startswith("sqlite:///") and mlflow.get_experiment_by_name(EXPERIMENT) is None:
            # A local store keeps its artifacts beside the database, not in ./mlruns of the current folder.
            artifacts = Path(uri[len("sqlite:///") :]).parent / "artifacts"
            mlflow.create_experiment(EXPERIMENT, artifact_location=artifacts.as_uri())
        mlflow.set_experiment(EXPERIMENT)


def _dataset(item: dict):
    from mlflow.data.dataset_source_registry import resolve_dataset_source
    from mlflow.data.meta_dataset import MetaDataset

    return MetaDataset(
        source=resolve_dataset_source(item["uri"]), name=item["name"], digest=item["sha1"][:DIGEST_LIMIT]
    )


def _log_inputs(inputs: list[dict]) -> None:
    import mlflow

    for item in inputs:
        mlflow.log_param(f"input.{item['name']}.sha1", item["sha1"])
        mlflow.log_input(
            _dataset(item),
            context=item.get("context", "training"),
            tags={"sha1": item["sha1"], "rows": str(item.get("rows", ""))},
        )


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """MLflow's UserWarnings off: its guess at which kind of source a file URI is says nothing of ours."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield


@contextlib.contextmanager
def _run(store: Store, run_name: str, params: dict, tags: dict[str, str], inputs: list[dict]):
    """An MLflow run with its tags, parameters and input datasets logged."""
    import mlflow

    _start(store)
    with mlflow.start_run(run_name=run_name) as run:
        mlflow.set_tags(tags)
        mlflow.log_params({k: str(v)[:6000] for k, v in params.items()})
        _log_inputs(inputs)
        yield run


def log_training(
    store: Store,
    run_name: str,
    params: dict,
    metrics: dict[str, float],
    inputs: list[dict],
    sidecars: dict[str, str],
    tags: dict[str, str],
) -> str:
    """Log one training run; ``inputs`` are ``{"name", "uri", "sha1", "rows", "context"}``. Returns the run id."""
    import mlflow

    with _run(store, run_name, params, tags, inputs) as run:
        mlflow.log_metrics(metrics)
        with tempfile.TemporaryDirectory() as tmp:
            for name, text in sidecars.items():
                path = Path(tmp) / name
                path.write_text(text)
                mlflow.log_artifact(str(path), artifact_path="sidecars")
        return run.info.run_id


def log_registered_model(
    store: Store,
    run_name: str,
    params: dict,
    metrics: dict[str, float],
    release: dict,
    model,
    model_name: str,
    requirements: list[str],
    tags: dict[str, str],
) -> dict:
    """Log a model trained on a release with MLflow's sklearn flavour and register it as a new version of
    ``model_name``: the release (``{"name", "uri", "sha1", "rows"}``) is the run's input dataset and the
    metrics are logged on the run and on the model, against that dataset. Returns run id and version."""
    import logging

    import mlflow
    import mlflow.sklearn

    # MLflow's notes on pickles, pip and uv projects say nothing about this run: the requirements are
    # given, and the pickle is one this step wrote.
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    with _quiet(), _run(store, run_name, params, tags, [release]) as run:
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            registered_model_name=model_name,
            pip_requirements=requirements,  # as locked; MLflow would otherwise infer them in a subprocess
            serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE,
        )
        mlflow.log_metrics(metrics)
        mlflow.log_metrics(metrics, model_id=info.model_id, dataset=_dataset(release))
        version = info.registered_model_version
        client = mlflow.MlflowClient()
        for key, value in {
            "release": release["name"],
            "release.uri": release["uri"],
            "release.sha1": release["sha1"],
        }.items():
            client.set_model_version_tag(model_name, str(version), key, value)
        client.update_model_version(
            model_name,
            str(version),
            description=f"Trained on release {release['name']} ({release['uri']}, sha1 {release['sha1']}).",
        )
        return {"run_id": run.info.run_id, "model_name": model_name, "model_version": int(version)}
