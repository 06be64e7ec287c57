"""Where a step meets dataset quality: profiling rows as they are written, measuring the report that goes
into the sidecar, and enforcing the gates of medallion/config/quality.yaml before anything is committed."""

from __future__ import annotations

from medallion.core import config, contracts, datasets, pipeline, sidecar
from medallion.core.errors import StepFailed
from medallion.runtime import quality, quality_drift, quality_gates


def quality_report_key(data_key: str) -> str:
    """Where a run that failed its quality gates leaves its report (the dataset itself is not committed)."""
    return data_key + ".quality.yaml"


def start_profiles(run) -> None:
    """The profiles a run keeps while it writes: its own output's and, keys only, each input's."""
    main = run.stage.inputs[0] if run.stage.inputs else None
    upstream_titles = main is not None and "title" in contracts.load(main)["properties"]
    run.profile = quality.Profile(run.stage.name, run.date, titles=upstream_titles)
    run.upstream = {name: quality.Profile(name, run.date, keys_only=True) for name in run.inputs}


def measure(
    run, profile: quality.Profile, writer: datasets.DatasetWriter, dataset: str, gates: tuple
) -> dict:
    """The quality report of one output of ``run``, with ``gates`` evaluated."""
    main = run.stage.inputs[0] if run.stage.inputs else None
    gold, why = (None, "")
    if profile.categories:
        gold, why = quality.load_gold(run.store, run.quality_config)
    report = quality.report(
        profile,
        nulls=writer.stats.nulls,
        input_rows=run.input_rows,
        quarantined=dict(run.quarantined) if profile is run.profile else {},
        upstream=run.upstream.get(main) if main else None,
        upstream_name=run.inputs[main].key if main else None,  # relative: the store may move
        quality_config=run.quality_config,
        categories=run.taxonomy.names if run.taxonomy else (),
        gold=gold,
        gold_why=why,
        history=[]  # drift is a daily batch's against the days before it
        if run.stage.keyed_by != "date"
        else quality_drift.earlier_profiles(
            run.store,
            pipeline.stage_root(run.stage, run.version),
            dataset,
            run.partition,
            int(run.quality_config.drift.get("history", quality_drift.DRIFT_DEFAULTS["history"])),
        ),
    )
    results = quality_gates.evaluate(report, gates)
    path = run.quality_config.path
    return {
        **report,
        "gates": results,
        "passed": not quality_gates.failures(results),
        "warn_only": run.warn_only,
        "config": {
            "path": str(path.relative_to(config.SOURCE_ROOT))
            if path.is_relative_to(config.SOURCE_ROOT)
            else str(path),
            "sha1": run.quality_config.sha1,
        },
    }


def enforce_gates(run, report: dict) -> None:
    """Print every failed gate; stop the step on an error gate unless --warn-only, leaving the report."""
    errors = quality_gates.failures(report["gates"])
    for result in quality_gates.failures(report["gates"], "warn") + (errors if run.warn_only else []):
        print(f"[{run.label}] quality warning: {quality_gates.describe_failure(result)}", flush=True)
    if not errors or run.warn_only:
        return
    key = quality_report_key(run.key)
    failed = {
        "dataset": run.store.url(run.key),
        "committed": False,
        "stage": run.stage.name,
        "version": run.version,
        "date": run.date,
        "partition": run.partition,
        "created_at": sidecar.now(),
        "quarantine": run.store.url(run.quarantine_key),
        "quality": report,
    }
    run.store.write_bytes(key, sidecar.dumps(failed).encode())
    checks = "; ".join(quality_gates.describe_failure(result) for result in errors)
    raise StepFailed(
        f"[{run.label}] quality gate failed: {checks} ({run.quality_config.path}). The output was not "
        f"committed. Report: {run.store.url(key)}; rejects: {run.store.url(run.quarantine_key)}. "
        "Fix the input, or rerun with --warn-only to commit it anyway."
    )


class CheckedWriter:
    """An extra output's writer that holds each row to its contract and profiles it for quality."""

    def __init__(self, writer: datasets.DatasetWriter, kind: str, profile: quality.Profile):
        self.writer = writer
        self.kind = kind
        self.profile = profile

    def write(self, row: dict) -> None:
        violation = contracts.contract(self.kind).check(row)
        if violation is not None:
            raise StepFailed(
                f"a {self.kind} row breaks schemas/{self.kind}.schema.json at {violation.field}: "
                f"{violation.message}. This is a bug in the stage: please report it."
            )
        self.writer.write(row)
        self.profile.add(row)
