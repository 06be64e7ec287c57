"""What every step shares: arguments, inputs by path convention, counters, rejects, progress, commit.

A step module keeps its pure core and calls this for the rest::

    with StepRun(STAGE, args, params=...) as run:
        if run.up_to_date():
            return 0
        for row in core(run.input("raw").records()):
            run.write(row)          # or run.reject(...), run.deduplicated(...)
        run.commit(process=[...])
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from medallion.core import config, contracts, datasets, pipeline, sidecar
from medallion.core.config import RunContext
from medallion.core.errors import MedallionError
from medallion.core.pipeline import Stage
from medallion.core.store import NotFound, StoreError, open_store
from medallion.runtime import failures, quality

REJECT_RECORD_LIMIT = 1 << 20  # a quarantined record keeps at most 1 MiB per field, with its full size noted

REJECT_SCHEMA = {
    "position": "int64",
    "reason": "string",
    "detail": "string",
    "url": "string",
    "record": "json",
}
REJECT_COLUMNS = {
    "position": "Zero-based position of the record in the stage's input (line number for the crawl file).",
    "reason": "Machine-readable reason the record was rejected; counted in the sidecar.",
    "detail": "Human-readable explanation of what was wrong.",
    "url": "The record's URL when it had one, for tracing.",
    "record": "The rejected record itself (long strings cut at 1 MiB, noting their full length).",
}


LEASE_NAME = "_lease.json"  # beside the dataset while a run builds it


class StepFailed(MedallionError, RuntimeError):
    """The step cannot finish; the message says why and what to do."""


def parse_date(text: str) -> str:
    """A batch date: YYYY-MM-DD, or ``yesterday`` / ``today`` (UTC) as a scheduled run passes it."""
    relative = {"today": 0, "yesterday": 1}
    if text in relative:
        return (datetime.now(UTC).date() - timedelta(days=relative[text])).isoformat()
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"--date must be YYYY-MM-DD, yesterday or today, got {text!r}"
        ) from exc


def step_parser(stage: Stage, description: str | None = None) -> argparse.ArgumentParser:
    parser = failures.ArgumentParser(
        prog=f"python -m {stage.module}", description=description or stage.description
    )
    parser.add_argument(
        "--store", default=config.default_store(), help="store URI: file://PATH or s3://BUCKET[/PREFIX]"
    )
    parser.add_argument("--date", required=True, type=parse_date, help="batch date, YYYY-MM-DD")
    parser.add_argument(
        "--force",
        action="store_true",
        default=config.switch("force"),
        help="rebuild even when the output is up to date, and replace a dataset built from other inputs or "
        "parameters (default: MEDALLION_FORCE)",
    )
    parser.add_argument(
        "--warn-only",
        action="store_true",
        default=config.switch("warn-only"),
        help="report failed quality gates (config/quality.yaml) instead of failing the step "
        "(default: MEDALLION_WARN_ONLY)",
    )
    if stage.shardable:
        from medallion.runtime.shards import parse_shard, positive

        parser.add_argument(
            "--shard", type=parse_shard, metavar="K/N", help="process shard K of N into scratch"
        )
        parser.add_argument("--merge", type=positive, metavar="N", help="merge N shards into the dataset")
    for param in stage.params:  # the stage's parameters, from the pipeline table
        param.add_to(parser)
    parser.add_argument(
        "--output-params",
        metavar="DIR",
        help="write the dataset URI, SHA1 and row count as files in DIR (Argo output parameters)",
    )
    return parser


class Progress:
    """Prints a progress line on stderr every few seconds, and a final one."""

    def __init__(self, label: str, total: int | None = None):
        self.label = label
        self.total = total
        self.count = 0
        self.started = time.monotonic()
        self.interval = config.progress_interval()
        self._next = self.started + self.interval

    def tick(self, n: int = 1) -> None:
        self.count += n
        now = time.monotonic()
        if now >= self._next:
            self._next = now + self.interval
            self._print(now)

    def done(self) -> None:
        self._print(time.monotonic(), final=True)

    def _print(self, now: float, final: bool = False) -> None:
        elapsed = max(now - self.started, 1e-9)
        of = f"/{self.total:,}" if self.total else ""
        state = "done" if final else "..."
        print(
            f"[{self.label}] {self.count:,}{of} rows, {self.count / elapsed:,.0f} rows/s, {elapsed:.1f}s {state}",
            file=sys.stderr,
            flush=True,
        )


def jsonable(value: Any) -> Any:
    """A value as it goes into a reject record (datetimes as ISO text, huge strings cut)."""
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, str) and len(value) > REJECT_RECORD_LIMIT:
        return {"truncated": value[:REJECT_RECORD_LIMIT], "length": len(value)}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    return value


class StepRun:
    """One stage writing one dataset (one version of it) for one date."""

    def __init__(
        self,
        stage: Stage,
        args: argparse.Namespace,
        *,
        schema: Any,
        columns: dict[str, str],
        params: dict[str, Any],
        version: str | None = None,
        input_versions: dict[str, str] | None = None,
        external_sources: list[dict] | None = None,
    ):
        self.stage = stage
        self.date = args.date
        self.force = args.force
        self.warn_only = getattr(args, "warn_only", False)
        self.quality_config = quality.load_config()
        self.contract = contracts.contract(stage.name)
        self.output_params = Path(args.output_params) if args.output_params else None
        self.version = version
        self.params = params
        self.schema = schema
        self.columns = columns
        self.store = open_store(args.store)
        self.context = RunContext.from_env(default_workflow=stage.workflow)
        self.key = pipeline.dataset_key(stage, self.date, version)
        self.quarantine_key = pipeline.quarantine_key(stage, self.date, version)
        self.label = stage.name + (f"/{version}" if version else "")
        self.committed = datasets.read_meta(self.store, self.key)
        recorded = {
            datasets.source_key(source): source for source in (self.committed or {}).get("sources", [])
        }
        self.inputs: dict[str, datasets.Dataset] = {}
        self.sources = list(external_sources or [])
        for name in stage.inputs:
            upstream = pipeline.stage(name)
            in_version = (input_versions or {}).get(name)
            key = pipeline.dataset_key(upstream, self.date, in_version)
            dataset = datasets.Dataset.open(
                self.store, key, hint=f"run stage {name} for {self.date} first (medallion run --until {name})"
            )
            try:
                contracts.check_dataset(dataset.meta, name)
            except contracts.ContractError as exc:
                raise StepFailed(f"[{self.label}] input {name}: {exc}") from exc
            # The SHA1 of the data as it is now (its fingerprint stands in for a re-hash while unchanged),
            # never the number copied from the input's sidecar alone; --force does not bypass this.
            sha1, fingerprint = dataset.checked_sha1(known=recorded.get(key))
            self.inputs[name] = dataset
            self.sources.append(
                {
                    "uri": dataset.uri,
                    "key": key,
                    "kind": "dataset",
                    "sha1": sha1,
                    "fingerprint": fingerprint,
                    "rows": dataset.rows,
                }
            )
        self.input_rows = 0
        self.quarantined: Counter[str] = Counter()
        self.duplicates: Counter[str] = Counter()
        self.extra_stats: dict[str, Any] = {}
        self._workdir: tempfile.TemporaryDirectory | None = None
        self.writer: datasets.DatasetWriter | None = None
        self.rejects: datasets.DatasetWriter | None = None
        self.progress: Progress | None = None
        self.started_at = sidecar.now()
        self._t0 = time.monotonic()
        self._lease: str | None = None

    # -- lifecycle ---------------------------------------------------------------------------------------

    def __enter__(self) -> StepRun:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        # Every exit path (success, an error, a full disk, Ctrl-C) releases the lease and removes the
        # scratch folder; a cleanup that fails too (the disk is still full) never hides the first error,
        # and a second Ctrl-C does not cut it short.
        if isinstance(exc, KeyboardInterrupt):
            failures.shield()
        try:
            if self._lease is not None:
                try:
                    self.store.delete(self._lease)
                except StoreError as error:  # the endpoint is gone: the next run takes the lease over
                    print(
                        f"[{self.label}] warning: could not release the lease: {error}",
                        file=sys.stderr,
                        flush=True,
                    )
                self._lease = None
            extra = [checked.writer for _name, checked, _cols, _text in getattr(self, "extra_outputs", [])]
            for writer in (self.writer, self.rejects, *extra):
                with contextlib.suppress(OSError):
                    if writer is not None:
                        writer.close()
        finally:
            if self._workdir is not None:
                self._workdir.cleanup()
        if isinstance(exc, KeyboardInterrupt) and not isinstance(exc, failures.Interrupted):
            raise failures.Interrupted(self.label) from None

    def up_to_date(self) -> bool:
        """True (and says so) when the committed output was built from the same inputs, parameters and code."""
        if self.force:
            return False
        meta = self.committed
        if meta is None or not self._data_intact(meta):
            return False
        checked = meta.get("quality") or {}
        same_sources = _source_ids(meta.get("sources", [])) == _source_ids(self.sources)
        same_params = meta.get("parameters") == _plain(self.params)
        if not (same_sources and same_params):
            self._refuse_overwrite(meta, same_sources)
            return False
        same = (
            meta.get("code_version") == sidecar.code_version(self.stage.module)
            and (meta.get("contract") or {}).get("sha1") == contracts.fingerprint(self.stage.name)
            and (checked.get("config") or {}).get("sha1") == self.quality_config.sha1
            # A dataset committed past failed gates with --warn-only is rebuilt (and fails) without it.
            and (checked.get("passed", False) or self.warn_only)
        )
        if same:
            print(f"[{self.label}] up to date: {self.store.url(self.key)} (sha1 {meta['sha1']})", flush=True)
            self._write_output_params(meta)
        return same

    def _data_intact(self, meta: dict) -> bool:
        """Whether the committed data (and its rejects) still match their sidecars: False when the data is
        gone (it is rebuilt); a changed file stops the step (``DataMismatch``): it is never up to date."""
        for key, committed in ((self.key, meta), (self.quarantine_key, None)):
            committed = committed or datasets.read_meta(self.store, key)
            if committed is None:
                return False
            try:
                datasets.Dataset(self.store, key, committed).checked_sha1()
            except NotFound:
                print(f"[{self.label}] {self.store.url(key)} is gone: rebuilding it", flush=True)
                return False
        return True

    def _inputs_rebuilt_by_this_run(self, meta: dict) -> bool:
        old = dict(_source_ids(meta.get("sources", [])))
        changed = [name for name, ds in self.inputs.items() if old.get(ds.key) != ds.sha1]
        external = [
            s for s in self.sources if s.get("kind") != "dataset" and old.get(_source_id(s)) != s.get("sha1")
        ]
        return (
            bool(changed)
            and not external
            and all(self.inputs[name].meta["workflow"]["run_id"] == self.context.run_id for name in changed)
        )

    def _refuse_overwrite(self, meta: dict, same_sources: bool) -> None:
        """A committed dataset built from other inputs or parameters is replaced only with --force.

        Inputs that this same run rebuilt (new code upstream, in one ``medallion run``) are expected to
        differ: what they feed follows them."""
        if self.force or (same_sources is False and self._inputs_rebuilt_by_this_run(meta)):
            return
        what = "parameters" if same_sources else "inputs"
        if what == "parameters":
            detail = f"committed {json.dumps(meta.get('parameters'), sort_keys=True)}, now {json.dumps(_plain(self.params), sort_keys=True)}"
        else:
            old = dict(_source_ids(meta.get("sources", [])))
            detail = (
                "; ".join(
                    f"{s['uri']} sha1 {str(old.get(_source_id(s)))[:12]} -> {str(s.get('sha1'))[:12]}"
                    for s in self.sources
                    if old.get(_source_id(s)) != s.get("sha1")
                )
                or "a different set of sources"
            )
        raise StepFailed(
            f"[{self.label}] {meta['dataset']} is committed (sha1 {meta['sha1'][:12]}, created "
            f"{meta['created_at']}) from other {what} ({detail}). Nothing was overwritten: rerun with --force "
            "to replace it (a versioned bucket keeps the replaced version; medallion show lists them)."
        )

    def input(self, name: str) -> datasets.Dataset:
        return self.inputs[name]

    def start(self, total: int | None = None) -> None:
        """Take the dataset's lease, then open the output writers; call after ``up_to_date`` said no."""
        self._take_lease()
        self._workdir = tempfile.TemporaryDirectory(
            prefix=f"medallion-{self.stage.name}-", dir=self.store.scratch_dir()
        )
        work = Path(self._workdir.name)
        (work / "out").mkdir()
        (work / "rejects").mkdir()
        self.writer = datasets.DatasetWriter(self.stage.fmt, self.schema, work / "out")
        self.rejects = datasets.DatasetWriter("jsonl", REJECT_SCHEMA, work / "rejects")
        self.progress = Progress(self.label, total)
        main = self.stage.inputs[0] if self.stage.inputs else None
        upstream_titles = main is not None and "title" in contracts.load(main)["properties"]
        self.profile = quality.Profile(self.stage.name, self.date, titles=upstream_titles)
        self.upstream = {name: quality.Profile(name, self.date, keys_only=True) for name in self.inputs}
        self.extra_outputs: list[tuple[str, CheckedWriter, dict, str]] = []
        self.artifacts: list[tuple[str, Path]] = []

    def _take_lease(self) -> None:
        """One run at a time builds a dataset: a lease object created only if absent (a conditional write).

        The loser exits with who holds it; a lease older than MEDALLION_LEASE_SECONDS (a run that died)
        is taken over.
        """
        key = pipeline.dataset_dir(self.stage, self.date, self.version) + LEASE_NAME
        now = time.time()
        lease = {
            "run_id": self.context.run_id,
            "workflow": self.context.workflow,
            "host": _hostname(),
            "pid": os.getpid(),
            "taken": sidecar.now(),
            "expires_epoch": now + config.lease_seconds(),
        }
        for _attempt in range(2):
            if self.store.create(key, json.dumps(lease).encode()):
                self._lease = key
                return
            try:
                holder = json.loads(self.store.read_bytes(key))
            except (NotFound, ValueError):
                continue  # released (or half written) in between: try again
            stale = _stale(holder, now, self.context.run_id)
            if stale:
                print(
                    f"[{self.label}] taking over the lease of run {holder.get('run_id')}: {stale}", flush=True
                )
                self.store.delete(key)
                continue
            raise StepFailed(
                f"[{self.label}] another run is building this dataset now: run {holder.get('run_id')} "
                f"({holder.get('workflow')}) on {holder.get('host')} since {holder.get('taken')}. "
                f"Wait for it to finish; if it died, its lease {self.store.url(key)} expires by itself "
                f"(MEDALLION_LEASE_SECONDS) or can be deleted."
            )
        raise StepFailed(f"[{self.label}] could not take the lease {self.store.url(key)}: retry the step")

    def add_output(
        self, dataset: str, schema: Any, columns: dict[str, str], description: str
    ) -> CheckedWriter:
        """A second dataset in the same folder (post-train's label issues); committed with the main one.

        Its contract is ``schemas/<file stem>.schema.json``.
        """
        folder = Path(self._workdir.name) / f"extra-{len(self.extra_outputs)}"
        folder.mkdir()
        kind = dataset.split(".", 1)[0]
        writer = CheckedWriter(
            datasets.DatasetWriter(datasets.format_of(dataset), schema, folder),
            kind,
            quality.Profile(kind, self.date),
        )
        self.extra_outputs.append((dataset, writer, columns, description))
        return writer

    def add_artifact(self, name: str, path: Path) -> None:
        """A file that goes beside the dataset (a trained model), listed with its SHA1 in the sidecar."""
        self.artifacts.append((name, path))

    # -- accounting --------------------------------------------------------------------------------------

    def read(self, n: int = 1) -> None:
        """Count ``n`` input rows."""
        self.input_rows += n
        self.progress.tick(n)

    def valid_input(self, name: str, position: int, row: dict) -> bool:
        """Check a row read from input ``name`` against that input's contract (the columns read).

        A row that breaks it is quarantined as ``input-contract:<field>:<rule>`` and False is returned.
        """
        violation = contracts.contract(name, tuple(row)).check(row)
        if violation is not None:
            self.reject(
                position,
                violation.reason("input-contract"),
                f"input {name} breaks schemas/{name}.schema.json at {violation.field}: {violation.message}",
                row,
                url=_url(row),
            )
            return False
        self.upstream[name].add(row)
        return True

    def write(self, row: dict, position: int | None = None) -> None:
        """Write an output row, or quarantine it when it breaks the stage's contract.

        ``position``: the row's position in the input (default: the last row read).
        """
        if self._conforms(row, position):
            self.writer.write(row)
            self.profile.add(row)

    def write_line(self, line: bytes, row: dict, position: int | None = None) -> None:
        if self._conforms(row, position):
            self.writer.write_line(line, row)
            self.profile.add(row)

    def _conforms(self, row: dict, position: int | None) -> bool:
        violation = self.contract.check(row)
        if violation is None:
            return True
        self.reject(
            self.input_rows - 1 if position is None else position,
            violation.reason(),
            f"the output breaks schemas/{self.stage.name}.schema.json at {violation.field}: {violation.message}",
            row,
            url=_url(row),
        )
        return False

    def reject(self, position: int, reason: str, detail: str, record: Any, url: str | None = None) -> None:
        entry = {
            "position": position,
            "reason": reason,
            "detail": detail,
            "url": url,
            "record": jsonable(record),
        }
        violation = contracts.contract("rejects").check(entry)
        if violation is not None:
            raise StepFailed(
                f"[{self.label}] a quarantine record breaks schemas/rejects.schema.json at "
                f"{violation.field}: {violation.message}. This is a bug in the stage: please report it."
            )
        self.quarantined[reason] += 1
        self.rejects.write(entry)

    def deduplicated(self, rule: str, n: int = 1) -> None:
        self.duplicates[rule] += n

    # -- commit ------------------------------------------------------------------------------------------

    def commit(self, process: list[dict], extra_stats: dict[str, Any] | None = None) -> dict:
        """Reconcile the counts, then publish the rejects and the dataset, each with its sidecar."""
        self.progress.done()
        self.writer.close()
        self.rejects.close()
        output_rows = self.writer.stats.rows
        accounted = output_rows + sum(self.quarantined.values()) + sum(self.duplicates.values())
        if accounted != self.input_rows:
            raise StepFailed(
                f"[{self.label}] rows do not reconcile: input {self.input_rows} != output {output_rows} + "
                f"quarantined {sum(self.quarantined.values())} + deduplicated {sum(self.duplicates.values())}; "
                "nothing was committed. This is a bug in the stage: please report it with the input."
            )
        counts = {
            "input_rows": self.input_rows,
            "duplicates_removed": _counts(self.duplicates),
            "quarantined": _counts(self.quarantined),
            "reconciled": True,
        }
        report = self._quality()
        ended = sidecar.now()
        execution = {
            "start": self.started_at,
            "end": ended,
            "duration_seconds": round(time.monotonic() - self._t0, 3),
            "host": _hostname(),
        }
        base = {
            "date": self.date,
            "sources": self.sources,
            "workflow": {
                "name": self.context.workflow,
                "step": self.stage.name,
                "run_id": self.context.run_id,
            },
            "process": process,
            "parameters": _plain(self.params),
            "code_version": sidecar.code_version(self.stage.module),
            "execution": execution,
        }
        stage_meta = {
            "name": self.stage.name,
            "layer": self.stage.layer,
            "path": self.stage.path,
            "version": self.version,
        }
        reject_meta = {
            "dataset": "",
            "kind": "quarantine",
            "description": f"Records the {self.label} stage rejected for {self.date}, each with its reason.",
            "stage": {**stage_meta, "layer": "quarantine"},
            **base,
            "format": "jsonl",
            "schema": REJECT_SCHEMA,
            "columns": REJECT_COLUMNS,
            "contract": contracts.describe("rejects"),
            "statistics": _statistics(self.rejects, counts),
            "sample": self.rejects.stats.sample,
        }
        # The rejects are committed even when a gate stops the dataset: they are what explains it.
        datasets.commit(
            self.store,
            self.quarantine_key,
            self.rejects.path,
            _with_placeholders(reject_meta),
            sha1=self.rejects.sha1,
        )
        self._enforce_gates(report)
        folder = pipeline.dataset_dir(self.stage, self.date, self.version)
        artifacts = []
        for name, path in self.artifacts:  # before the sidecar: the sidecar commits everything
            artifacts.append(
                {
                    "name": name,
                    "uri": self.store.url(folder + name),
                    "sha1": sidecar.file_sha1(path),
                    "bytes": path.stat().st_size,
                }
            )
            self.store.upload(path, folder + name)
        for dataset, checked, columns, description in self.extra_outputs:
            writer = checked.writer
            writer.close()
            extra = {
                "dataset": "",
                "kind": "dataset",
                "description": description,
                "stage": stage_meta,
                **base,
                "format": writer.fmt,
                "schema": writer.schema_summary(),
                "columns": columns,
                "contract": contracts.describe(checked.kind),
                # Its rows are a listing of rows the step flagged, each one input row: nothing dropped.
                "statistics": _statistics(writer, _own_counts(writer)),
                "sample": writer.stats.sample,
                "quality": self._measure(checked.profile, writer, dataset, gates=()),
            }
            datasets.commit(
                self.store, folder + dataset, writer.path, _with_placeholders(extra), sha1=writer.sha1
            )
        meta = {
            "dataset": "",
            "kind": "dataset",
            **({"artifacts": artifacts} if artifacts else {}),
            "description": self.stage.description,
            "stage": stage_meta,
            **base,
            "format": self.stage.fmt,
            "schema": self.writer.schema_summary(),
            "columns": self.columns,
            "contract": contracts.describe(self.stage.name),
            "statistics": {**_statistics(self.writer, counts), **(extra_stats or {})},
            "sample": self.writer.stats.sample,
            "quarantine": self.store.url(self.quarantine_key),
            "quality": report,
        }
        meta = datasets.commit(
            self.store, self.key, self.writer.path, _with_placeholders(meta), sha1=self.writer.sha1
        )
        self.store.delete(quality_report_key(self.key))  # a failed run's report no longer applies
        print(
            f"[{self.label}] wrote {output_rows:,} rows to {meta['dataset']} (sha1 {meta['sha1']}); "
            f"quarantined {sum(self.quarantined.values()):,}, deduplicated {sum(self.duplicates.values()):,}",
            flush=True,
        )
        self._write_output_params(meta)
        return meta

    # -- quality -----------------------------------------------------------------------------------------

    def _quality(self) -> dict:
        """The quality report of the main output, with its gates evaluated."""
        gates = self.quality_config.gates_for(self.stage.name)
        return self._measure(self.profile, self.writer, self.stage.dataset, gates)

    def _measure(
        self, profile: quality.Profile, writer: datasets.DatasetWriter, dataset: str, gates: tuple
    ) -> dict:
        main = self.stage.inputs[0] if self.stage.inputs else None
        gold, why = (None, "")
        if profile.categories:
            gold, why = quality.load_gold(self.store, self.quality_config)
        folder = pipeline.dataset_dir(self.stage, self.date, self.version)
        report = quality.report(
            profile,
            nulls=writer.stats.nulls,
            input_rows=self.input_rows,
            quarantined=dict(self.quarantined) if profile is self.profile else {},
            upstream=self.upstream.get(main) if main else None,
            upstream_name=self.inputs[main].key if main else None,  # relative: the store may move
            quality_config=self.quality_config,
            gold=gold,
            gold_why=why,
            history=quality.earlier_profiles(
                self.store,
                folder[: -len(self.date) - 1],
                dataset,
                self.date,
                int(self.quality_config.drift.get("history", quality.DRIFT_DEFAULTS["history"])),
            ),
        )
        results = quality.evaluate(report, gates)
        return {
            **report,
            "gates": results,
            "passed": not quality.failures(results),
            "warn_only": self.warn_only,
            "config": {
                "path": str(self.quality_config.path.relative_to(config.REPO_ROOT))
                if self.quality_config.path.is_relative_to(config.REPO_ROOT)
                else str(self.quality_config.path),
                "sha1": self.quality_config.sha1,
            },
        }

    def _enforce_gates(self, report: dict) -> None:
        """Print every failed gate; stop the step on an error gate unless --warn-only."""
        errors = quality.failures(report["gates"])
        for result in quality.failures(report["gates"], "warn") + (errors if self.warn_only else []):
            print(f"[{self.label}] quality warning: {quality.describe_failure(result)}", flush=True)
        if not errors or self.warn_only:
            return
        key = quality_report_key(self.key)
        self.store.write_bytes(
            key,
            sidecar.dumps(
                {
                    "dataset": self.store.url(self.key),
                    "committed": False,
                    "stage": self.stage.name,
                    "version": self.version,
                    "date": self.date,
                    "created_at": sidecar.now(),
                    "quarantine": self.store.url(self.quarantine_key),
                    "quality": report,
                }
            ).encode(),
        )
        checks = "; ".join(quality.describe_failure(result) for result in errors)
        raise StepFailed(
            f"[{self.label}] quality gate failed: {checks} (config/quality.yaml). The output was not "
            f"committed. Report: {self.store.url(key)}; rejects: {self.store.url(self.quarantine_key)}. "
            "Fix the input, or rerun with --warn-only to commit it anyway."
        )

    def _write_output_params(self, meta: dict) -> None:
        if self.output_params is None:
            return
        self.output_params.mkdir(parents=True, exist_ok=True)
        (self.output_params / "date").write_text(self.date)
        (self.output_params / "uri").write_text(meta["dataset"])
        (self.output_params / "sha1").write_text(meta["sha1"])
        (self.output_params / "rows").write_text(str(meta["statistics"]["rows"]))
        (self.output_params / "sidecar.yaml").write_text(sidecar.dumps(meta))


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


def _stale(holder: dict, now: float, run_id: str) -> str:
    """Why a lease no longer protects a live run ('' when it does)."""
    if holder.get("expires_epoch", 0) < now:
        return "it expired"
    if holder.get("run_id") == run_id:
        return "it is this run's own, left by an attempt that failed (a retry)"
    if holder.get("host") == _hostname() and isinstance(holder.get("pid"), int):
        try:
            os.kill(holder["pid"], 0)
        except ProcessLookupError:
            return "its process on this host has died"
        except PermissionError:
            return ""
    return ""


def quality_report_key(data_key: str) -> str:
    """Where a run that failed its quality gates leaves its report (the dataset itself is not committed)."""
    return data_key + ".quality.yaml"


def _url(row: Any) -> str | None:
    url = row.get("url") if isinstance(row, dict) else None
    return url if isinstance(url, str) else None


def _counts(counter: Counter) -> dict:
    return {"total": sum(counter.values()), "by_reason": dict(sorted(counter.items()))}


def _own_counts(writer: datasets.DatasetWriter) -> dict:
    return {
        "input_rows": writer.stats.rows,
        "duplicates_removed": _counts(Counter()),
        "quarantined": _counts(Counter()),
        "reconciled": True,
    }


def _statistics(writer: datasets.DatasetWriter, counts: dict) -> dict:
    return {
        "rows": writer.stats.rows,
        "columns": len(writer.stats.columns),
        "nulls": writer.stats.nulls,
        **counts,
    }


def _with_placeholders(meta: dict) -> dict:
    # commit() fills these from the file it publishes.
    return {**meta, "sha1": "0" * 40, "bytes": 0, "created_at": sidecar.now()}


def _source_id(source: dict) -> str:
    """What names a source: its key in the store (so a moved store is still up to date), else its URI."""
    return datasets.source_key(source) or source.get("uri")


def _source_ids(sources: list[dict]) -> list[tuple]:
    return sorted((_source_id(s), s.get("sha1")) for s in sources)


def _plain(value: Any) -> Any:
    """Parameters as they round-trip through YAML, so a comparison with a stored sidecar is fair."""
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def _hostname() -> str:
    import socket

    return socket.gethostname()


def guarded(body: Callable[[], int]) -> int:
    """Run a step body; every failure is one clear line (no traceback): see medallion/runtime/failures.py."""
    stage = body.__globals__.get("STAGE")  # the step module's own stage: what an early Ctrl-C names
    return failures.run(body, stage=stage.name if isinstance(stage, Stage) else "")
