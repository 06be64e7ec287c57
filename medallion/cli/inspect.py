"""Looking at what a store holds: ``medallion ls``, ``show``, ``verify``, ``validate`` and ``quality``."""

from __future__ import annotations

import argparse

from medallion.core import config, datasets, sidecar
from medallion.core.config import DATASET_ROOT
from medallion.core.store import open_store, split_uri
from medallion.core.store_interface import Store, StoreError
from medallion.tools.inventory import MAIN_DATASETS, resolve_dataset, verify, verify_file


def cmd_ls(args: argparse.Namespace) -> int:
    store = open_store(args.store)
    print(f"{'stage':<22}{'version':<9}{'date':<12}{'rows':>8}  {'sha1':<12}  dataset")
    count = 0
    for key in datasets.find_datasets(store, f"{DATASET_ROOT}/"):
        meta = datasets.read_meta(store, key)
        if meta is None:
            print(f"{'?':<22}{'':<9}{'':<12}{'':>8}  {'invalid':<12}  {store.url(key)}")
            continue
        name = meta["stage"]["name"] + (" (rejects)" if meta.get("kind") == "quarantine" else "")
        print(
            f"{name:<22}{meta['stage'].get('version') or '-':<9}{meta['date']:<12}"
            f"{meta['statistics']['rows']:>8,}  {meta['sha1'][:12]:<12}  {meta['dataset']}"
        )
        count += 1
    if count == 0:
        print(f"(no datasets in {store.uri}; try: medallion demo)")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    store, key = resolve_dataset(args.uri)
    dataset = datasets.Dataset.open(store, key)
    print(sidecar.dumps(dataset.meta), end="")
    versions = store.versions(sidecar.sidecar_key(key))
    if not versions:
        print("# versions: this store keeps none (a versioned S3 or MinIO bucket does)")
        return 0
    print(f"# versions of this dataset ({len(versions)}), newest first:")
    for version in versions:
        try:
            meta = sidecar.loads(store.read_version(sidecar.sidecar_key(key), version["version"]))
            what = f"sha1 {meta['sha1']}  rows {meta['statistics']['rows']:,}  created {meta['created_at']}"
        except (StoreError, sidecar.SidecarError):
            what = "(sidecar version unreadable)"
        mark = "current" if version["latest"] else "earlier"
        print(f"#   {mark:<8} {version['version']}  {version['modified']}  {what}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    failed = 0
    for uri in args.uris:
        store, key = resolve_dataset(uri)
        problems = verify(store, key)
        if problems:
            failed += 1
            print(f"MISMATCH {store.url(key)}: " + "; ".join(problems))
        else:
            print(f"ok {store.url(key)}")
    return 1 if failed else 0


def validate(store: Store, key: str, examples: int = 5) -> tuple[dict, list[str]]:
    """Re-check a committed dataset: every record against its contract, the counts, the SHA1.

    Returns (what was checked, problems found).
    """
    from collections import Counter

    from medallion.core import contracts

    dataset = datasets.Dataset.open(store, key)
    kind = (dataset.meta.get("contract") or {}).get("name")
    problems: list[str] = []
    if kind not in contracts.KINDS:
        return {"kind": kind}, [f"the sidecar names no known contract ({kind!r}): rebuild the dataset"]
    if dataset.meta["contract"]["sha1"] != contracts.fingerprint(kind):
        problems.append(
            f"written under another version of schemas/{kind}.schema.json "
            f"(sha1 {dataset.meta['contract']['sha1'][:12]}); checked against the current one"
        )
    contract = contracts.contract(kind)
    failures: Counter[str] = Counter()
    shown: list[str] = []
    rows = 0
    readable = True
    with datasets.local_copy(store, key) as path:  # one copy: the contract, the counts and the SHA1
        try:
            for index, record in enumerate(datasets.iter_file(path, datasets.format_of(key))):
                rows += 1
                violation = contract.check(record)
                if violation is not None:
                    failures[violation.reason()] += 1
                    if len(shown) < examples:
                        shown.append(f"row {index}: {violation.field}: {violation.message}")
        except Exception as exc:  # a corrupted file: say so rather than fail with the reader's error
            problems.append(f"data cannot be read after {rows} rows ({type(exc).__name__}: {exc})")
            readable = False
        file_problems = verify_file(dataset, path, rows if readable else None)
    if failures:
        summary = ", ".join(f"{reason} x{n}" for reason, n in sorted(failures.items()))
        problems.append(
            f"{sum(failures.values())} of {rows} rows break schemas/{kind}.schema.json: {summary}"
        )
        problems += [f"  {line}" for line in shown]
    stats = dataset.meta["statistics"]
    accounted = stats["rows"] + stats["quarantined"]["total"] + stats["duplicates_removed"]["total"]
    if dataset.meta.get("kind") != "quarantine" and accounted != stats["input_rows"]:
        problems.append(
            f"rows do not reconcile: input {stats['input_rows']} != output {stats['rows']} + quarantined "
            f"{stats['quarantined']['total']} + deduplicated {stats['duplicates_removed']['total']}"
        )
    problems += file_problems
    return {"kind": kind, "rows": rows}, problems


def cmd_validate(args: argparse.Namespace) -> int:
    failed = 0
    for uri in args.uris:
        store, key = resolve_dataset(uri)
        checked, problems = validate(store, key)
        if problems:
            failed += 1
            print(f"INVALID {store.url(key)}")
            for problem in problems:
                print(f"  {problem}")
        else:
            print(
                f"ok {store.url(key)}: {checked['rows']:,} rows match schemas/{checked['kind']}.schema.json; "
                "rows reconcile; sha1 verified"
            )
    return 1 if failed else 0


def cmd_quality(args: argparse.Namespace) -> int:
    from medallion.runtime.quality_hooks import quality_report_key

    store, key = split_uri(args.uri)
    if not key.endswith((".jsonl", ".parquet")):
        folder = key.rstrip("/") + "/"
        found = sorted(
            {
                k.removesuffix(sidecar.SIDECAR_SUFFIX).removesuffix(".quality.yaml")
                for k in store.list(folder)
                if "/" not in k[len(folder) :] and k.endswith((sidecar.SIDECAR_SUFFIX, ".quality.yaml"))
            }
        )
        main = [k for k in found if k.rsplit("/", 1)[1] in MAIN_DATASETS]
        found = main if len(found) > 1 and len(main) == 1 else found
        if len(found) != 1:
            raise StoreError(
                f"{args.uri} holds {'no dataset' if not found else 'several datasets'}; name the data file"
                + (f" ({', '.join(store.url(k) for k in found)})" if found else " (medallion ls)")
            )
        key = found[0]
    meta = datasets.read_meta(store, key)
    failed = None
    if store.exists(quality_report_key(key)):
        failed = sidecar.loads_plain(store.read_bytes(quality_report_key(key)))
    if meta is None and failed is None:
        raise StoreError(f"no dataset and no quality report at {store.url(key)} (medallion ls)")
    shown = 0
    if failed is not None:
        print(
            f"{store.url(key)}: the run of {failed['created_at']} FAILED its quality gates and was not committed"
        )
        print(_as_table(failed["quality"], args.yaml))
        shown += 1
    if meta is not None and meta.get("quality"):
        if shown:
            print(f"\nthe committed dataset (of {meta['created_at']}):")
        else:
            print(
                f"{meta['dataset']} ({meta['stage']['name']}, {meta['date']}, {meta['statistics']['rows']:,} rows)"
            )
        print(_as_table(meta["quality"], args.yaml))
    elif meta is not None:
        print(f"{meta['dataset']} has no quality report (a quarantine dataset): medallion show it instead")
    return 0 if failed is None else 1


def _as_table(report: dict, as_yaml: bool) -> str:
    from medallion.runtime.quality_gates import table

    return sidecar.dumps(report).rstrip() if as_yaml else table(report)


def add_parser(sub, store_help: str) -> None:
    ls = sub.add_parser("ls", help="list datasets in a store")
    ls.add_argument("--store", default=config.default_store(), help=store_help)
    ls.set_defaults(func=cmd_ls)

    show = sub.add_parser("show", help="print a dataset's metadata sidecar")
    show.add_argument("uri", help="dataset URI: its date folder or its data file")
    show.set_defaults(func=cmd_show)

    ver = sub.add_parser(
        "verify", help="re-hash datasets and check them against their sidecars (exit 1 on mismatch)"
    )
    ver.add_argument("uris", nargs="+", metavar="URI", help="dataset URI: its date folder or its data file")
    ver.set_defaults(func=cmd_verify)

    check = sub.add_parser(
        "validate",
        help="check every record of datasets against their contract, their counts and SHA1 (exit 1 if not)",
    )
    check.add_argument("uris", nargs="+", metavar="URI", help="dataset URI: its date folder or its data file")
    check.set_defaults(func=cmd_validate)

    qual = sub.add_parser("quality", help="print a dataset's quality report as a table")
    qual.add_argument("uri", help="dataset URI: its date folder or its data file")
    qual.add_argument("--yaml", action="store_true", help="print the report as YAML instead")
    qual.set_defaults(func=cmd_quality)
