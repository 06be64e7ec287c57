"""A step's commit: reconcile the counts, then publish the rejects, the artifacts, any extra output and
the dataset, each with its sidecar, all built by one function (``sidecar_of``).

The rejects are committed even when a quality gate stops the dataset: they are what explains it. The
dataset's sidecar is written last: it is what makes the dataset exist (``datasets.commit``).
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from medallion.core import contracts, datasets, pipeline, sidecar
from medallion.core.errors import StepFailed
from medallion.runtime import freshness, quality_hooks
from medallion.runtime.leases import hostname
from medallion.runtime.rejects import REJECT_COLUMNS, REJECT_SCHEMA


def commit(run, process: list[dict], extra_stats: dict[str, Any] | None = None) -> dict:
    """Publish everything ``run`` wrote; returns the dataset's sidecar."""
    run.progress.done()
    run.writer.close()
    run.rejects.close()
    counts = reconcile(run)
    report = quality_hooks.measure(
        run, run.profile, run.writer, run.stage.dataset, run.quality_config.gates_for(run.stage.name)
    )
    base = common(run, process)
    rejects = sidecar_of(
        run,
        base,
        run.rejects,
        description=f"Records the {run.label} stage rejected for {run.partition}, each with its reason.",
        kind="quarantine",
        layer="quarantine",
        schema=REJECT_SCHEMA,
        columns=REJECT_COLUMNS,
        contract="rejects",
        statistics=statistics(run.rejects, counts),
    )
    datasets.commit(run.store, run.quarantine_key, run.rejects.path, rejects, sha1=run.rejects.sha1)
    quality_hooks.enforce_gates(run, report)
    folder = pipeline.dataset_dir(run.stage, run.partition, run.version)
    artifacts = []
    for name, path in run.artifacts:  # before the sidecar: the sidecar commits everything
        artifacts.append(
            {
                "name": name,
                "uri": run.store.url(folder + name),
                "sha1": sidecar.file_sha1(path),
                "bytes": path.stat().st_size,
            }
        )
        run.store.upload(path, folder + name)
    for dataset, checked, columns, description in run.extra_outputs:
        writer = checked.writer
        writer.close()
        extra = sidecar_of(
            run,
            base,
            writer,
            description=description,
            columns=columns,
            contract=checked.kind,
            # Its rows are a listing of rows the step flagged, each one input row: nothing dropped.
            statistics=statistics(writer, own_counts(writer)),
            tail={"quality": quality_hooks.measure(run, checked.profile, writer, dataset, gates=())},
        )
        datasets.commit(run.store, folder + dataset, writer.path, extra, sha1=writer.sha1)
    meta = sidecar_of(
        run,
        base,
        run.writer,
        description=run.stage.description,
        columns=run.columns,
        contract=run.stage.kind,
        statistics={**statistics(run.writer, counts), **(extra_stats or {})},
        head={**({"artifacts": artifacts} if artifacts else {}), **run.described},
        tail={"quarantine": run.store.url(run.quarantine_key), "quality": report},
    )
    meta = datasets.commit(run.store, run.key, run.writer.path, meta, sha1=run.writer.sha1)
    run.store.delete(quality_hooks.quality_report_key(run.key))  # a failed run's report no longer applies
    print(
        f"[{run.label}] wrote {run.writer.stats.rows:,} rows to {meta['dataset']} (sha1 {meta['sha1']}); "
        f"quarantined {sum(run.quarantined.values()):,}, deduplicated {sum(run.duplicates.values()):,}",
        flush=True,
    )
    return meta


def reconcile(run) -> dict:
    """``input rows = output + quarantined + deduplicated``, or the step stops with nothing committed."""
    output_rows = run.writer.stats.rows
    quarantined, duplicates = sum(run.quarantined.values()), sum(run.duplicates.values())
    if output_rows + quarantined + duplicates != run.input_rows:
        raise StepFailed(
            f"[{run.label}] rows do not reconcile: input {run.input_rows} != output {output_rows} + "
            f"quarantined {quarantined} + deduplicated {duplicates}; "
            "nothing was committed. This is a bug in the stage: please report it with the input."
        )
    return {
        "input_rows": run.input_rows,
        "duplicates_removed": _counts(run.duplicates),
        "quarantined": _counts(run.quarantined),
        "reconciled": True,
    }


def common(run, process: list[dict]) -> dict:
    """What every sidecar of one run shares: date, sources, workflow, process, parameters, code, execution."""
    return {
        "date": run.date,
        "sources": run.sources,
        "workflow": {
            "name": run.context.workflow,
            "step": run.stage.name,
            "run_id": run.context.run_id,
            "lineage_run_id": run.lineage_run_id,  # the runId of the step's OpenLineage events
        },
        "process": process,
        "parameters": freshness.plain(run.params),
        "code_version": sidecar.code_version(run.stage.module),
        **({"taxonomy": run.taxonomy.describe()} if run.taxonomy else {}),
        "execution": {
            "start": run.started_at,
            "end": sidecar.now(),
            "duration_seconds": round(time.monotonic() - run.t0, 3),
            "host": hostname(),
        },
    }


def sidecar_of(
    run,
    base: dict,
    writer: datasets.DatasetWriter,
    *,
    description: str,
    columns: dict[str, str],
    contract: str,
    statistics: dict,
    kind: str = "dataset",
    layer: str | None = None,
    schema: dict | None = None,
    head: dict | None = None,
    tail: dict | None = None,
) -> dict:
    """The one sidecar builder: every dataset a step commits (its data, its rejects, an extra output).

    ``dataset``, ``sha1``, ``bytes`` and ``created_at`` are placeholders that ``datasets.commit`` fills
    from the file it publishes."""
    stage = {
        "name": run.stage.name,
        "layer": layer or run.stage.layer,
        "path": run.stage.path,
        "version": run.version,
    }
    return {
        "dataset": "",
        "kind": kind,
        **(head or {}),
        "description": description,
        "stage": stage,
        **base,
        "format": writer.fmt,
        "schema": schema or writer.schema_summary(),
        "columns": columns,
        "contract": contracts.describe(contract),
        "statistics": statistics,
        "sample": writer.stats.sample,
        **(tail or {}),
        "sha1": "0" * 40,
        "bytes": 0,
        "created_at": sidecar.now(),
    }


def statistics(writer: datasets.DatasetWriter, counts: dict) -> dict:
    return {
        "rows": writer.stats.rows,
        "columns": len(writer.stats.columns),
        "nulls": writer.stats.nulls,
        **counts,
    }


def own_counts(writer: datasets.DatasetWriter) -> dict:
    """The counts of an output whose every row is one input row: nothing quarantined or deduplicated."""
    return {
        "input_rows": writer.stats.rows,
        "duplicates_removed": _counts(Counter()),
        "quarantined": _counts(Counter()),
        "reconciled": True,
    }


def _counts(counter: Counter) -> dict:
    return {"total": sum(counter.values()), "by_reason": dict(sorted(counter.items()))}
