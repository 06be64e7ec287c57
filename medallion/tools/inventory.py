"""What a store holds, as the commands show it: a dataset URI resolved to its data file, the data checked
against its sidecar, and a batch's summary across the layers.

Shared by the command line, lineage, reproduce, the catalog, the Croissant export and the Argo exit handler
(which runs it in the base image), so none of them imports the command line.
"""

from __future__ import annotations

from pathlib import Path

from medallion.core import datasets, pipeline, sidecar
from medallion.core.config import DATASET_ROOT
from medallion.core.store import split_uri
from medallion.core.store_interface import AccessDenied, Store, StoreError

MAIN_DATASETS = {stage.dataset for stage in pipeline.STAGES} | {"rejects.jsonl"}


def resolve_dataset(uri: str) -> tuple[Store, str]:
    """A dataset URI (its date folder or its data file) to (store, data-file key).

    A folder holding several datasets (post-train's documents and label issues) means its stage's main one.
    """
    store, key = split_uri(uri)
    if key.endswith((".jsonl", ".parquet")):
        return store, key
    folder = key.rstrip("/") + "/"
    found = [k for k in datasets.find_datasets(store, folder) if "/" not in k[len(folder) :]]
    if not found:
        raise StoreError(
            f"no dataset in {uri}: expected a data file with a .meta.yaml sidecar there (medallion ls)"
        )
    main = [k for k in found if k.rsplit("/", 1)[1] in MAIN_DATASETS]
    if len(found) > 1 and len(main) != 1:
        raise StoreError(f"{uri} holds several datasets; name one: {', '.join(found)}")
    return store, (main or found)[0]


def verify(store: Store, key: str) -> list[str]:
    """Problems found re-hashing the data and re-counting its rows against the sidecar ([] when it holds)."""
    dataset = datasets.Dataset.open(store, key)
    problems = []
    with datasets.local_copy(store, key) as path:
        try:
            rows = sum(1 for _ in datasets.iter_file(path, datasets.format_of(key)))
        except Exception as exc:  # a corrupted file: say so instead of failing with the reader's error
            rows = None
            problems.append(f"data cannot be read ({type(exc).__name__}: {exc})")
        return problems + verify_file(dataset, path, rows)


def verify_file(dataset: datasets.Dataset, path: Path, rows: int | None) -> list[str]:
    """Problems of a local copy of ``dataset``'s data file whose ``rows`` were counted (None: unreadable)."""
    problems = []
    actual = sidecar.file_sha1(path)
    size = path.stat().st_size
    if actual != dataset.sha1:
        problems.append(f"sha1 {actual} != recorded {dataset.sha1}")
    if size != dataset.meta["bytes"]:
        problems.append(f"size {size} bytes != recorded {dataset.meta['bytes']}")
    if rows is not None and rows != dataset.rows:
        problems.append(f"{rows} rows != recorded {dataset.rows}")
    return problems


def print_summary(store: Store, day: str) -> None:
    """Per-stage rows, drops by reason, and where each dataset is."""
    rows = []
    hidden: list[str] = []
    for stage in pipeline.STAGES:
        for key in sorted(datasets.find_datasets(store, f"{DATASET_ROOT}/{stage.path}/")):
            if f"/{day}/" not in key:
                continue
            try:
                meta = datasets.read_meta(store, key)
            except AccessDenied:  # the analyst identity reads no raw data
                hidden.append(store.url(key))
                continue
            if meta is None:
                continue
            stats = meta["statistics"]
            drops = {
                **stats["quarantined"]["by_reason"],
                **{f"dup:{k}": v for k, v in stats["duplicates_removed"]["by_reason"].items()},
            }
            label = stage.name + (f" {meta['stage']['version']}" if meta["stage"].get("version") else "")
            if not key.endswith("/" + stage.dataset):
                label += " " + key.rsplit("/", 1)[1].split(".")[0]
            rows.append((label, stats["input_rows"], stats["rows"], drops, meta["dataset"]))
    print(f"{'stage':<24}{'input':>8}{'output':>8}  dropped (by reason)")
    for label, n_in, n_out, drops, _uri in rows:
        detail = ", ".join(f"{k} {v}" for k, v in sorted(drops.items()) if v) or "-"
        print(f"{label:<24}{n_in:>8,}{n_out:>8,}  {detail}")
    print("\ndatasets (each with a .meta.yaml sidecar beside it):")
    for label, *_rest, uri in rows:
        store_, key = resolve_dataset(uri)
        state = "verified" if not verify(store_, key) else "MISMATCH (run medallion verify)"
        print(f"  {label:<22} {uri}  [{state}]")
    for uri in hidden:
        print(f"  (not readable with these credentials: {uri})")
    print(
        "\nnext: medallion ls, medallion show URI, medallion quality URI, medallion lineage URI, "
        "medallion reproduce URI, medallion catalog --out catalog/"
    )
