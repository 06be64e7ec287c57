"""What every step shares: inputs by path convention, counters, rejects, progress, commit.

A step module keeps its pure core and calls this for the rest::

    with StepRun(STAGE, args, params=...) as run:
        if run.up_to_date():
            return 0
        run.start(total=run.input("raw").rows)
        for position, row in run.rows("raw"):   # counted, and checked against the input's contract
            run.write(core(row))                 # or run.reject(...), run.deduplicated(...)
        run.commit(process=[...])

A shardable stage iterates ``run.results(name, compute)`` instead, which handles ``--shard`` and
``--merge`` for it. The up-to-date decision is in freshness.py, the lease in leases.py, the quality hooks
in quality_hooks.py and the sidecars in commit.py.
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from medallion.core import contracts, datasets, pipeline, sidecar, taxonomy
from medallion.core.config import RunContext
from medallion.core.errors import StepFailed
from medallion.core.pipeline import Stage
from medallion.core.store import open_store
from medallion.runtime import (
    failures,
    freshness,
    leases,
    lineage,
    publish,
    quality,
    quality_gates,
    quality_hooks,
    shards,
)
from medallion.runtime.progress import Progress
from medallion.runtime.quality_hooks import CheckedWriter
from medallion.runtime.rejects import REJECT_SCHEMA, reject_entry, url_of

Compute = Callable[[Path, "list[int] | None"], Iterator[tuple[int, dict, Any]]]


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
        batches: dict[str, tuple[str, str]] | None = None,
    ):
        """``batches``: for a stage built across days (a release), its inputs, ``name -> (stage, key)``,
        instead of the stage's inputs for ``args.date``."""
        self.stage = stage
        self.date = args.date
        # The folder below the stage's path: the batch date, or the release name.
        self.partition = args.release if stage.keyed_by == "release" else args.date
        self.force = args.force
        self.warn_only = getattr(args, "warn_only", False)
        self.quality_config = quality_gates.load_config()
        self.taxonomy = taxonomy.load() if stage.labeled else None  # what its categories may be
        self.contract = contracts.contract(stage.kind)
        self.output_params = Path(args.output_params) if args.output_params else None
        self.version = version
        self.params = params
        self.schema = schema
        self.columns = columns
        self.store = open_store(args.store)
        self.context = RunContext.from_env(default_workflow=stage.workflow)
        self.key = pipeline.dataset_key(stage, self.partition, version)
        self.quarantine_key = pipeline.quarantine_key(stage, self.partition, version)
        self.label = stage.name + (f"/{version}" if version else "")
        if stage.keyed_by == "release":
            self.label += f" {self.partition}"
        self.committed = datasets.read_meta(self.store, self.key)
        recorded = {
            datasets.source_key(source): source for source in (self.committed or {}).get("sources", [])
        }
        self.inputs: dict[str, datasets.Dataset] = {}
        self.sources = list(external_sources or [])
        if batches is None:
            batches = {
                name: (name, self._input_key(pipeline.stage(name), (input_versions or {}).get(name)))
                for name in stage.inputs
            }
        self.input_kinds = {name: pipeline.stage(kind).kind for name, (kind, _key) in batches.items()}
        for name, (kind, key) in batches.items():
            dataset = datasets.Dataset.open(
                self.store, key, hint=f"run stage {kind} for {self.date} first (medallion run --until {kind})"
            )
            try:
                contracts.check_dataset(dataset.meta, self.input_kinds[name])
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
        self.described: dict[str, Any] = {}  # sections the stage adds to its sidecar (a release: its window)
        self._workdir: tempfile.TemporaryDirectory | None = None
        self.writer: datasets.DatasetWriter | None = None
        self.rejects: datasets.DatasetWriter | None = None
        self.progress: Progress | None = None
        self.started_at = sidecar.now()
        self.t0 = time.monotonic()
        self._lease: str | None = None
        self.shard = getattr(args, "shard", None)
        self.merge = getattr(args, "merge", None)
        self._merged: list[str] = []
        self.extra_outputs: list[tuple[str, CheckedWriter, dict, str]] = []
        self.artifacts: list[tuple[str, Path]] = []
        self.lineage_run_id = lineage.run_uuid(self.context.run_id, self.label, self.partition, self.shard)
        self.lineage = lineage.Emitter.for_run(self)  # None unless an OpenLineage backend is configured

    def _input_key(self, upstream: Stage, version: str | None) -> str:
        """An input of the same batch date, or of the same release."""
        partition = self.partition if upstream.keyed_by == self.stage.keyed_by else self.date
        return pipeline.dataset_key(upstream, partition, version)

    # -- lifecycle ---------------------------------------------------------------------------------------

    def __enter__(self) -> StepRun:
        lineage.started(self)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        lineage.ended(self, None, exc)  # first: FAIL says why nothing was committed (a no-op after COMPLETE)
        # Every exit path (success, an error, a full disk, Ctrl-C) releases the lease and removes the
        # scratch folder; a cleanup that fails too (the disk is still full) never hides the first error,
        # and a second Ctrl-C does not cut it short.
        if isinstance(exc, KeyboardInterrupt):
            failures.shield()
        try:
            if self._lease is not None:
                leases.release(self.store, self._lease, self.label)
                self._lease = None
            extra = [checked.writer for _name, checked, _cols, _text in self.extra_outputs]
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
        """True (and says so) when the committed output was built from the same inputs, parameters and code;
        a dataset committed from other inputs or parameters stops the step unless --force."""
        if not freshness.up_to_date(self):
            return False
        meta = self.committed
        print(f"[{self.label}] up to date: {self.store.url(self.key)} (sha1 {meta['sha1']})", flush=True)
        lineage.ended(self, meta)
        self._write_output_params(meta)
        return True

    def identify(self, params: dict[str, Any], external_sources: list[dict] | None = None) -> None:
        """Settle the run's parameters and outside sources once it holds the committed sidecar
        (``committed``), before ``up_to_date``: for a step whose identity depends on what is committed
        (the labeling API's labeler name)."""
        self.params = params
        self.sources[:0] = list(external_sources or [])

    def input(self, name: str) -> datasets.Dataset:
        return self.inputs[name]

    def start(self, total: int | None = None) -> None:
        """Take the dataset's lease, then open the output writers; call after ``up_to_date`` said no."""
        self._lease = leases.take(
            self.store,
            pipeline.dataset_dir(self.stage, self.partition, self.version),
            self.context,
            self.label,
        )
        self._workdir = tempfile.TemporaryDirectory(
            prefix=f"medallion-{self.stage.name}-", dir=self.store.scratch_dir()
        )
        work = Path(self._workdir.name)
        (work / "out").mkdir()
        (work / "rejects").mkdir()
        self.writer = datasets.DatasetWriter(self.stage.fmt, self.schema, work / "out")
        self.rejects = datasets.DatasetWriter("jsonl", REJECT_SCHEMA, work / "rejects")
        self.progress = Progress(self.label, total)
        quality_hooks.start_profiles(self)

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

    # -- reading -----------------------------------------------------------------------------------------

    def rows(
        self, name: str, columns: list[str] | None = None, records: Iterable[dict] | None = None
    ) -> Iterator[tuple[int, dict]]:
        """``(position, row)`` of input ``name`` (only ``columns``), each row counted and checked against
        that input's contract; a row that breaks it is quarantined and skipped. ``records``: the input's
        rows as the step already reads them (from a local copy it keeps open), instead of a new read."""
        records = self.inputs[name].records(columns=columns) if records is None else records
        for position, row in enumerate(records):
            self.read()
            if self.valid_input(name, position, row):
                yield position, row

    def results(self, name: str, compute: Compute) -> Iterator[tuple[int, dict, Any]] | None:
        """``(position, row, result)`` of a shardable stage: ``compute(path, groups)`` over input ``name``
        (a local, verified copy; ``groups`` None means every row group), each row counted and checked.

        With ``--shard K/N`` this process computes its row groups into scratch and None is returned:
        nothing is committed. With ``--merge N`` the N shards are read back in input order, and deleted
        once the dataset is committed, so the dataset and its SHA1 are the same whatever N is."""
        source = self.inputs[name]
        if self.shard:
            shards.run_shard(self, source, self.shard, compute)
            return None
        self.start(total=source.rows)
        self._merged = shards.merge_keys(self, self.merge)
        return self._checked(name, self._computed(source, compute))

    def _computed(self, source: datasets.Dataset, compute: Compute) -> Iterator[tuple[int, dict, Any]]:
        with source.local_copy() as path:
            yield from shards.read_shards(self.store, self._merged) if self._merged else compute(path, None)

    def _checked(self, name: str, items) -> Iterator[tuple[int, dict, Any]]:
        for position, row, result in items:
            self.read()
            if self.valid_input(name, position, row):
                yield position, row, result

    def read(self, n: int = 1) -> None:
        """Count ``n`` input rows."""
        self.input_rows += n
        self.progress.tick(n)

    def valid_input(self, name: str, position: int, row: dict) -> bool:
        """Check a row read from input ``name`` against that input's contract (the columns read).

        A row that breaks it is quarantined as ``input-contract:<field>:<rule>`` and False is returned.
        """
        kind = self.input_kinds[name]
        violation = contracts.contract(kind, tuple(row)).check(row)
        if violation is not None:
            self.reject(
                position,
                violation.reason("input-contract"),
                f"input {name} breaks schemas/{kind}.schema.json at {violation.field}: {violation.message}",
                row,
                url=url_of(row),
            )
            return False
        self.upstream[name].add(row)
        return True

    # -- writing -----------------------------------------------------------------------------------------

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
            f"the output breaks schemas/{self.stage.kind}.schema.json at {violation.field}: {violation.message}",
            row,
            url=url_of(row),
        )
        return False

    def reject(self, position: int, reason: str, detail: str, record: Any, url: str | None = None) -> None:
        entry = reject_entry(position, reason, detail, record, url)
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

    def commit(self, process: list[dict], extra_stats: dict[str, Any] | None = None) -> dict:
        """Reconcile the counts, then publish the rejects and the dataset, each with its sidecar."""
        meta = publish.commit(self, process, extra_stats)
        for key in self._merged:  # the shards merged into it are scratch no more
            self.store.delete(key)
        lineage.ended(self, meta)
        self._write_output_params(meta)
        return meta

    def _write_output_params(self, meta: dict) -> None:
        if self.output_params is None:
            return
        self.output_params.mkdir(parents=True, exist_ok=True)
        (self.output_params / "date").write_text(self.date)
        if self.stage.keyed_by == "release":
            (self.output_params / "release").write_text(self.partition)
        (self.output_params / "uri").write_text(meta["dataset"])
        (self.output_params / "sha1").write_text(meta["sha1"])
        (self.output_params / "rows").write_text(str(meta["statistics"]["rows"]))
        (self.output_params / "sidecar.yaml").write_text(sidecar.dumps(meta))


def guarded(body: Callable[[], int]) -> int:
    """Run a step body; every failure is one clear line (no traceback): see medallion/runtime/failures.py."""
    stage = body.__globals__.get("STAGE")  # the step module's own stage: what an early Ctrl-C names
    return failures.run(body, stage=stage.name if isinstance(stage, Stage) else "")
