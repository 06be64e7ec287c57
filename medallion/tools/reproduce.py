"""Rebuild a dataset from what its sidecar records, into a scratch store, and compare SHA1s.

The recorded inputs are copied into scratch when they are still there with the recorded SHA1. An input
whose data is gone but whose sidecar remains is rebuilt first, the same way (data may be deleted to save
space; sidecars are kept). Each step runs exactly as it did: the same stage code, date and parameters
(text-normalization with the recorded rules, annotation from the store's label cache). The verdict names
the first step whose SHA1 differs from the record.

    medallion reproduce URI [--scratch DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import os
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from medallion.core import config, datasets, pipeline, sidecar
from medallion.core.errors import StepFailed
from medallion.core.store import split_uri
from medallion.core.store_interface import Store
from medallion.core.store_local import LocalStore
from medallion.tools import lineage


@dataclass
class Rebuilt:
    label: str
    recorded: str
    rebuilt: str
    uri: str

    @property
    def identical(self) -> bool:
        return self.recorded == self.rebuilt


@dataclass
class Reproduction:
    steps: list[Rebuilt] = field(default_factory=list)
    copied: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def first_divergence(self) -> Rebuilt | None:
        return next((s for s in self.steps if not s.identical), None)


def replay_args(meta: dict, store: Store, scratch: LocalStore) -> tuple[list[str], dict[str, str]]:
    """The step's command-line arguments (and environment) that repeat the recorded run: the stage's own
    ``replay`` hook, in its step module, which may also bring what it needs into ``scratch``."""
    stage = pipeline.stage(meta["stage"]["name"])
    replay = getattr(importlib.import_module(stage.module), "replay", None)
    if replay is None:
        raise StepFailed(
            f"stage {stage.name} has no replay hook ({stage.module}.replay): it cannot be reproduced"
        )
    return replay(meta, store, scratch)


def recorded_config(meta: dict, scratch_dir: Path) -> Path:
    """A configuration folder like the one in effect, with the taxonomy ``meta`` records."""
    import shutil

    recorded = meta["taxonomy"]
    folder = scratch_dir / f"_config-{recorded['sha1'][:12]}"
    if not folder.exists():
        shutil.copytree(config.config_dir(), folder)
        (folder / "taxonomy.yaml").write_text(
            yaml.safe_dump({"categories": recorded["categories"]}, allow_unicode=True, sort_keys=False)
        )
    return folder


def _copy(source: Store, key: str, meta: dict, target: Store) -> None:
    """Copy an input into scratch, re-hashed on the way: data that no longer matches its sidecar is
    refused (``DataMismatch``), never used to call a rebuild identical."""
    with datasets.Dataset(source, key, meta).local_copy() as path:
        target.upload(path, key)
    target.write_bytes(sidecar.sidecar_key(key), source.read_bytes(sidecar.sidecar_key(key)))


def rebuild(meta: dict, scratch: LocalStore, result: Reproduction) -> Rebuilt:
    """Rebuild ``meta``'s dataset into ``scratch`` (its missing inputs first) and record the outcome."""
    store, key = split_uri(meta["dataset"])
    for source in meta["sources"]:
        if source["kind"] != "dataset":
            continue
        upstream = lineage.read(source["uri"])
        if upstream is None:
            raise StepFailed(
                f"cannot rebuild {meta['dataset']}: its input {source['uri']} is gone, sidecar included"
            )
        in_store, in_key = split_uri(source["uri"])
        if scratch.exists(in_key):
            continue
        if in_store.exists(in_key) and upstream["sha1"] == source["sha1"]:
            _copy(in_store, in_key, upstream, scratch)
            result.copied.append(source["uri"])
        else:
            why = "its data is gone" if not in_store.exists(in_key) else "it was replaced since"
            result.notes.append(f"rebuilding {source['uri']} first: {why}")
            rebuild(upstream, scratch, result)
    stage = pipeline.stage(meta["stage"]["name"])
    argv, env = replay_args(meta, store, scratch)
    if meta.get("taxonomy"):  # labeled under the recorded label set, whatever the configuration says now
        env = {**env, "MEDALLION_CONFIG_DIR": str(recorded_config(meta, Path(scratch.root)))}
    when = ["--date", meta["date"]] if stage.keyed_by == "date" else []  # a release names itself in argv
    argv = ["--store", scratch.uri, *when, "--warn-only", *argv]
    code, output = _run(stage.module, argv, env)
    rebuilt_meta = datasets.read_meta(scratch, key)
    if code != 0 or rebuilt_meta is None:
        raise StepFailed(f"rebuilding {meta['dataset']} failed (exit {code}):\n{output[-2000:]}")
    if rebuilt_meta["parameters"] != meta["parameters"]:
        result.notes.append(
            f"{meta['dataset']}: could not replay its parameters exactly (recorded {meta['parameters']}, "
            f"replayed {rebuilt_meta['parameters']})"
        )
    step = Rebuilt(
        label=lineage.node_from_meta(meta).label,
        recorded=meta["sha1"],
        rebuilt=rebuilt_meta["sha1"],
        uri=meta["dataset"],
    )
    result.steps.append(step)
    return step


def _run(module: str, argv: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run a step in this process with extra environment; returns its exit code and what it printed."""
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    os.environ.setdefault("MEDALLION_RUN_ID", f"reproduce-{uuid.uuid4().hex[:12]}")
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            code = importlib.import_module(module).main(argv)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return code, out.getvalue()


def reproduce(uri: str, scratch_dir: Path) -> tuple[Reproduction, Rebuilt]:
    from medallion.tools.inventory import resolve_dataset

    store, key = resolve_dataset(uri)
    meta = datasets.Dataset.open(store, key).meta
    scratch = LocalStore(scratch_dir)
    result = Reproduction()
    running = sidecar.code_version(pipeline.stage(meta["stage"]["name"]).module)
    if meta["code_version"] != running:
        result.notes.append(
            f"recorded code {meta['code_version']}, running {running}: a difference may come "
            "from the code (check out the recorded version to rule that out)"
        )
    target = rebuild(meta, scratch, result)
    return result, target


def cmd_reproduce(args: argparse.Namespace) -> int:
    import shutil

    # A folder named with --scratch is kept; the default temporary one only with --keep-scratch.
    keep = bool(args.scratch) or args.keep_scratch
    scratch_dir = (
        Path(args.scratch) if args.scratch else Path(tempfile.mkdtemp(prefix="medallion-reproduce-"))
    )
    try:
        scratch_dir.mkdir(parents=True, exist_ok=True)
        os.environ.setdefault("MEDALLION_WORKFLOW", "reproduce")
        result, target = reproduce(args.uri, scratch_dir)
        for note in result.notes:
            print(f"note: {note}")
        for uri in result.copied:
            print(f"input  {uri} (recorded SHA1, copied)")
        for step in result.steps:
            state = "identical" if step.identical else "DIVERGED"
            print(f"{state:<10} {step.label:<40} recorded {step.recorded[:12]}  rebuilt {step.rebuilt[:12]}")
        print(f"scratch: file://{scratch_dir}" if keep else "scratch: removed (--keep-scratch keeps it)")
        first = result.first_divergence
        if first is None:
            print(f"identical: {target.uri} rebuilt with SHA1 {target.rebuilt}")
            return 0
        print(
            f"diverged: first at {first.label} ({first.uri}): recorded {first.recorded}, rebuilt {first.rebuilt}"
        )
        return 1
    finally:
        if not keep:
            shutil.rmtree(scratch_dir, ignore_errors=True)


def add_parser(sub) -> None:
    again = sub.add_parser("reproduce", help="rebuild a dataset from its sidecar and compare SHA1s")
    again.add_argument("uri", help="dataset URI: its date folder or its data file")
    again.add_argument(
        "--scratch", help="folder to rebuild into, kept afterwards (default: a temporary one, removed)"
    )
    again.add_argument(
        "--keep-scratch", action="store_true", help="keep the default temporary scratch folder to inspect it"
    )
    again.set_defaults(func=cmd_reproduce)
