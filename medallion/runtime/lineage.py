"""OpenLineage run events from every step: START when it begins, then COMPLETE with what it wrote, or FAIL
(ABORT when interrupted) with why.

Events go through the openlineage-python client with its standard configuration: ``OPENLINEAGE_URL`` (and
``OPENLINEAGE_API_KEY``), a YAML file named by ``OPENLINEAGE_CONFIG`` (or ``openlineage.yml`` in the working
folder or ``~/.openlineage``), or ``OPENLINEAGE__TRANSPORT__*`` variables; ``OPENLINEAGE_DISABLED=true``
turns it off. Nothing is sent unless one of those is set. A backend that cannot be reached is one warning
line: the step goes on, and sends no more events.

What an event carries:

- the job: namespace ``OPENLINEAGE_NAMESPACE`` (default ``html-classification``) and the step's name;
- the run: ``lineage_run_id`` (``run_uuid``), which the dataset's sidecar records beside the workflow's run
  id; the workflow run is the parent run, the batch date the nominal time;
- inputs and outputs: namespace = the store, name = the dataset's path in it, with the schema, the SHA1 as
  the dataset version and, for outputs, data-quality metrics (rows, bytes, nulls per column) from the
  sidecar's quality report.
"""

from __future__ import annotations

import logging
import os
import sys
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from medallion import __version__
from medallion.core import datasets, sidecar

PRODUCER = f"urn:html-classification:medallion:{__version__}"
DEFAULT_NAMESPACE = "html-classification"
RUN_NAMESPACE = uuid.UUID("6f1b2c1e-58a4-4f4e-9a55-2b0c8f6a9d11")  # names run ids: uuid5(this, ...)


def configured() -> bool:
    """Whether the client's standard configuration names a backend (and lineage is not disabled)."""
    env = os.environ
    if env.get("OPENLINEAGE_DISABLED", "").strip().lower() == "true":
        return False
    if env.get("OPENLINEAGE_URL") or env.get("OPENLINEAGE_CONFIG"):
        return True
    if any(name.startswith("OPENLINEAGE__") and value for name, value in env.items()):
        return True
    return any(
        path.is_file()
        for path in (Path.cwd() / "openlineage.yml", Path.home() / ".openlineage" / "openlineage.yml")
    )


def namespace() -> str:
    return os.environ.get("OPENLINEAGE_NAMESPACE") or DEFAULT_NAMESPACE


def run_uuid(workflow_run_id: str, job: str, partition: str, shard: tuple | None = None) -> str:
    """The OpenLineage run id of one step of one workflow run (of one shard of it: ``(index, count)``): the
    same inputs give the same id, so the sidecar's workflow run id and the step name find its events."""
    part = "/".join(map(str, shard)) if shard else ""
    return str(uuid.uuid5(RUN_NAMESPACE, "\0".join((workflow_run_id, job, partition, part))))


def workflow_uuid(workflow_run_id: str) -> str:
    return str(uuid.uuid5(RUN_NAMESPACE, workflow_run_id))


def _where(transport) -> str:
    """Where the events go, for a warning (an HTTP URL without any user name or password in it)."""
    url = getattr(transport, "url", None)
    if not isinstance(url, str):
        return f"the {getattr(transport, 'kind', 'configured')} transport"
    parts = urlsplit(url)
    host = f"{parts.hostname}:{parts.port}" if parts.port else parts.hostname or ""
    return urlunsplit(parts._replace(netloc=host)) if parts.netloc else url


class Emitter:
    """One step's events (its label is the job's name); ``None`` from ``for_run`` when lineage is not
    configured."""

    def __init__(self, client, label: str, run_id: str, parent: tuple[str, str], date: str):
        self.client = client
        self.label = label
        self.run_id = run_id
        self.parent = parent  # (workflow name, workflow run id)
        self.date = date
        self.broken = False
        self.ended = False

    @classmethod
    def for_run(cls, run) -> Emitter | None:
        """The emitter of a step's run (``runtime.step.StepRun``), or None when lineage is not configured."""
        if not configured():
            return None
        logger = logging.getLogger("openlineage")  # failures are reported here, in one line, not as logs
        if not logger.handlers:  # once per process: medallion run opens many steps
            logger.addHandler(logging.NullHandler())
        logger.propagate = False
        from openlineage.client import OpenLineageClient

        try:
            client = OpenLineageClient()
        except Exception as exc:  # a configuration the client cannot read
            print(
                f"[{run.label}] warning: lineage is not sent: the OpenLineage configuration is unusable ({exc})",
                file=sys.stderr,
                flush=True,
            )
            return None
        parent = (run.context.workflow, run.context.run_id)
        return cls(client, run.label, run.lineage_run_id, parent, run.partition)

    # -- the three events ---------------------------------------------------------------------------------

    def start(self, inputs: list[dict], outputs: list[dict]) -> None:
        self._emit("START", inputs, outputs)

    def complete(self, inputs: list[dict], outputs: list[dict]) -> None:
        self.ended = True
        self._emit("COMPLETE", inputs, outputs)

    def fail(self, inputs: list[dict], outputs: list[dict], error: BaseException) -> None:
        self.ended = True
        aborted = isinstance(error, KeyboardInterrupt)
        self._emit("ABORT" if aborted else "FAIL", inputs, outputs, error=str(error) or type(error).__name__)

    def _emit(self, state: str, inputs: list[dict], outputs: list[dict], error: str | None = None) -> None:
        if self.broken:
            return
        try:
            self.client.emit(self.event(state, inputs, outputs, error))
        except Exception as exc:  # an unreachable or refusing backend never fails the step
            self.broken = True
            print(
                f"[{self.label}] warning: could not send the OpenLineage {state} event to "
                f"{_where(self.client.transport)} ({type(exc).__name__}: {exc}); the step goes on without lineage",
                file=sys.stderr,
                flush=True,
            )

    def event(self, state: str, inputs: list[dict], outputs: list[dict], error: str | None = None):
        from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
        from openlineage.client.facet_v2 import error_message_run, nominal_time_run, parent_run

        workflow, workflow_run = self.parent
        facets: dict[str, Any] = {
            "parent": parent_run.ParentRunFacet(
                run=parent_run.Run(runId=workflow_uuid(workflow_run)),
                job=parent_run.Job(namespace=namespace(), name=workflow),
            ),
        }
        if len(self.date) == 10:  # a batch date (a release is keyed by its name)
            facets["nominalTime"] = nominal_time_run.NominalTimeRunFacet(
                nominalStartTime=f"{self.date}T00:00:00Z"
            )
        if error is not None:
            facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
                message=error, programmingLanguage="python"
            )
        return RunEvent(
            eventType=getattr(RunState, state),
            eventTime=sidecar.now(),
            run=Run(runId=self.run_id, facets=facets),
            job=Job(namespace=namespace(), name=self.label),
            inputs=[
                InputDataset(d["namespace"], d["name"], facets=dataset_facets(d), inputFacets=input_facets(d))
                for d in inputs
            ],
            outputs=[
                OutputDataset(
                    d["namespace"], d["name"], facets=dataset_facets(d), outputFacets=output_facets(d)
                )
                for d in outputs
            ],
            producer=PRODUCER,
        )


# -- a step's run and its datasets ---------------------------------------------------------------------------


def started(run) -> None:
    """START, with what the run reads and the dataset it is to write."""
    if run.lineage is not None:
        run.lineage.start(inputs_of(run), [dataset(run.store.uri, run.key)])


def ended(run, meta: dict | None, exc: BaseException | None = None) -> None:
    """COMPLETE with the committed dataset (``meta``: its sidecar) and its rejects, or FAIL with ``exc``;
    nothing when the run has ended already. A run that ends without committing (a shard into scratch) is
    complete with no outputs."""
    emitter = run.lineage
    if emitter is None or emitter.ended:
        return
    if exc is not None:
        emitter.fail(inputs_of(run), [dataset(run.store.uri, run.key)], exc)
        return
    outputs = []
    if meta is not None:
        outputs.append(dataset(run.store.uri, run.key, meta))
        rejects = datasets.read_meta(run.store, run.quarantine_key)
        if rejects is not None:
            outputs.append(dataset(run.store.uri, run.quarantine_key, rejects))
    emitter.complete(inputs_of(run), outputs)


def inputs_of(run) -> list[dict]:
    """The datasets a run reads (with their sidecars) and the outside files (the crawl)."""
    found = [dataset(run.store.uri, d.key, d.meta) for d in run.inputs.values()]
    for source in run.sources:
        if source.get("kind") == "file" and source.get("uri"):
            found.append(outside_file(source["uri"], source.get("sha1")))
    return found


def dataset(store_uri: str, key: str, meta: dict | None = None) -> dict:
    """A dataset as the events name it: the store as namespace, its path as name, and its sidecar."""
    return {"namespace": store_uri.rstrip("/"), "name": key, "meta": meta}


def outside_file(uri: str, sha1: str | None) -> dict:
    """A file read from outside the store (the crawl): an S3 object by bucket and key, else a local path."""
    if uri.startswith("s3://"):
        bucket, _, key = uri[len("s3://") :].partition("/")
        return {"namespace": f"s3://{bucket}", "name": key, "meta": {"sha1": sha1} if sha1 else None}
    return {"namespace": "file", "name": uri, "meta": {"sha1": sha1} if sha1 else None}


def dataset_facets(d: dict) -> dict:
    from openlineage.client.facet_v2 import (
        data_quality_metrics_dataset,
        dataset_version_dataset,
        schema_dataset,
    )

    meta = d.get("meta")
    if not meta:
        return {}
    facets: dict[str, Any] = {}
    if isinstance(meta.get("schema"), dict):
        facets["schema"] = schema_dataset.SchemaDatasetFacet(
            fields=[
                schema_dataset.SchemaDatasetFacetFields(name=name, type=str(kind))
                for name, kind in meta["schema"].items()
            ]
        )
    if meta.get("sha1"):
        facets["version"] = dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion=meta["sha1"])
    statistics = meta.get("statistics") or {}
    if isinstance(statistics.get("rows"), int):
        metrics = data_quality_metrics_dataset
        facets["dataQualityMetrics"] = metrics.DataQualityMetricsDatasetFacet(
            rowCount=statistics["rows"],
            bytes=meta.get("bytes"),
            columnMetrics={
                name: metrics.ColumnMetrics(nullCount=count)
                for name, count in (statistics.get("nulls") or {}).items()
                if isinstance(count, int)
            },
        )
    return facets


def input_facets(d: dict) -> dict:
    """The quality gates the input passed when it was committed (its sidecar's quality report), as
    data-quality assertions: each check, whether it held, its severity, threshold and value."""
    from openlineage.client.facet_v2 import data_quality_assertions_dataset as quality

    gates = ((d.get("meta") or {}).get("quality") or {}).get("gates") or []
    assertions = [
        quality.Assertion(
            assertion=gate["check"],
            success=gate["status"] == "passed",
            severity=gate.get("severity"),
            expected=next((f"{bound} {gate[bound]}" for bound in ("min", "max") if bound in gate), None),
            actual=None if gate.get("value") is None else str(gate["value"]),
        )
        for gate in gates
        if gate.get("status") in ("passed", "failed")  # a skipped gate asserted nothing
    ]
    return (
        {"dataQualityAssertions": quality.DataQualityAssertionsDatasetFacet(assertions=assertions)}
        if assertions
        else {}
    )


def output_facets(d: dict) -> dict:
    from openlineage.client.facet_v2 import output_statistics_output_dataset

    meta = d.get("meta") or {}
    rows = (meta.get("statistics") or {}).get("rows")
    if not isinstance(rows, int):
        return {}
    return {
        "outputStatistics": output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
            rowCount=rows, size=meta.get("bytes")
        )
    }
