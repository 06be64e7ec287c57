"""The up-to-date decision: is the committed dataset what this run would build?

It is when its data (and its rejects) still match their sidecars, and it was built from the same inputs
(by SHA1), parameters, code version, contract and quality gates. A dataset built from other inputs or
parameters is replaced only with ``--force``, except where the inputs that differ were rebuilt by this
same run (new code upstream, in one ``medallion run``): what they feed follows them.
"""

from __future__ import annotations

import json
from typing import Any

from medallion.core import contracts, datasets, sidecar
from medallion.core.errors import StepFailed
from medallion.core.store_interface import NotFound


def up_to_date(run) -> bool:
    """True when ``run``'s committed output was built from the same inputs, parameters and code."""
    meta = run.committed
    if run.force or meta is None or not data_intact(run, meta):
        return False
    checked = meta.get("quality") or {}
    recorded = source_ids(meta.get("sources", []))
    old = dict(recorded)
    same_sources = recorded == source_ids(run.sources)
    same_params = meta.get("parameters") == plain(run.params)
    if not (same_sources and same_params):
        refuse_overwrite(run, meta, old, same_sources)
        return False
    return (
        meta.get("code_version") == sidecar.code_version(run.stage.module)
        and (meta.get("contract") or {}).get("sha1") == contracts.fingerprint(run.stage.kind)
        and (checked.get("config") or {}).get("sha1") == run.quality_config.sha1
        and (run.taxonomy is None or (meta.get("taxonomy") or {}).get("sha1") == run.taxonomy.sha1)
        # A dataset committed past failed gates with --warn-only is rebuilt (and fails) without it.
        and (checked.get("passed", False) or run.warn_only)
    )


def data_intact(run, meta: dict) -> bool:
    """Whether the committed data (and its rejects) still match their sidecars: False when the data is
    gone (it is rebuilt); a changed file stops the step (``DataMismatch``): it is never up to date."""
    for key, committed in ((run.key, meta), (run.quarantine_key, None)):
        committed = committed or datasets.read_meta(run.store, key)
        if committed is None:
            return False
        try:
            datasets.Dataset(run.store, key, committed).checked_sha1()
        except NotFound:
            print(f"[{run.label}] {run.store.url(key)} is gone: rebuilding it", flush=True)
            return False
    return True


def inputs_rebuilt_by_this_run(run, old: dict) -> bool:
    """Whether every input that differs from the record ``old`` (source id -> SHA1) was rebuilt by this run."""
    changed = [name for name, ds in run.inputs.items() if old.get(ds.key) != ds.sha1]
    external = [
        s for s in run.sources if s.get("kind") != "dataset" and old.get(source_id(s)) != s.get("sha1")
    ]
    return (
        bool(changed)
        and not external
        and all(run.inputs[name].meta["workflow"]["run_id"] == run.context.run_id for name in changed)
    )


def refuse_overwrite(run, meta: dict, old: dict, same_sources: bool) -> None:
    """Stop unless --force, or unless the inputs that differ were rebuilt by this same run."""
    if run.force or (not same_sources and inputs_rebuilt_by_this_run(run, old)):
        return
    if same_sources:
        what = "parameters"
        detail = (
            f"committed {json.dumps(meta.get('parameters'), sort_keys=True)}, "
            f"now {json.dumps(plain(run.params), sort_keys=True)}"
        )
    else:
        what = "inputs"
        detail = (
            "; ".join(
                f"{s['uri']} sha1 {str(old.get(source_id(s)))[:12]} -> {str(s.get('sha1'))[:12]}"
                for s in run.sources
                if old.get(source_id(s)) != s.get("sha1")
            )
            or "a different set of sources"
        )
    raise StepFailed(
        f"[{run.label}] {meta['dataset']} is committed (sha1 {meta['sha1'][:12]}, created "
        f"{meta['created_at']}) from other {what} ({detail}). Nothing was overwritten: rerun with --force "
        "to replace it (a versioned bucket keeps the replaced version; medallion show lists them)."
    )


def source_id(source: dict) -> str:
    """What names a source: its key in the store (so a moved store is still up to date), else its URI."""
    return datasets.source_key(source) or source.get("uri")


def source_ids(sources: list[dict]) -> list[tuple]:
    return sorted((source_id(s), s.get("sha1")) for s in sources)


def plain(value: Any) -> Any:
    """Parameters as they round-trip through YAML, so a comparison with a stored sidecar is fair."""
    return json.loads(json.dumps(value, sort_keys=True, default=str))
