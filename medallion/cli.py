"""``medallion``: run the pipeline on one machine, and look at what it produced.

medallion run --date 2026-11-23 --input crawl.jsonl [--until html-parsing] [--versions v1,v2] [--force]
medallion demo
medallion ls | show URI | verify URI... | validate URI... | quality URI
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import signal
import subprocess
import sys
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from medallion.core import config, datasets, pipeline, sidecar
from medallion.core.config import DATASET_ROOT, ConfigError
from medallion.core.store import Store, StoreError, open_store, split_uri
from medallion.runtime import failures
from medallion.runtime.failures import UsageError
from medallion.runtime.step import parse_date
from medallion.tools.inventory import MAIN_DATASETS, print_summary, resolve_dataset, verify, verify_file

PIPELINE_WORKFLOW = "html-classification"


def yesterday() -> str:
    return (datetime.now(UTC).date() - timedelta(days=1)).isoformat()


# -- run -------------------------------------------------------------------------------------------------


def stage_argv(stage: pipeline.Stage, args: argparse.Namespace) -> list[str]:
    """The command-line arguments a stage's container gets for this run: its parameters from the table."""
    argv = ["--store", args.store, "--date", args.date]
    for param in stage.params:
        value = getattr(args, param.name.replace("-", "_"), None)
        if value:
            argv += [param.option, value]
    if args.force:
        argv.append("--force")
    if getattr(args, "warn_only", False):
        argv.append("--warn-only")
    return argv


def check_options(args: argparse.Namespace, stages: tuple[pipeline.Stage, ...]) -> None:
    """The options and configuration files of the stages about to run, checked before the first one runs
    (a typo costs a second, not the stages before the one that reads it): UsageError, exit 2."""
    from medallion.runtime import quality
    from steps import annotation, text_normalization, url_normalization

    names = {stage.name for stage in stages}
    for param in (param for stage in stages for param in stage.params if param.enum):
        value = getattr(args, param.name.replace("-", "_"), None)
        if value and value not in param.enum:
            raise UsageError(f"--{param.name} must be one of {', '.join(param.enum)}, got {value!r}")
    if "url-normalization" in names and getattr(args, "dedup", None):
        url_normalization.dedup_rules(args.dedup)
    if "text-normalization" in names:
        text_normalization.select_versions(text_normalization.default_config(), args.versions)
    if "annotated" in names:
        text_normalization.select_versions(
            text_normalization.default_config(), args.annotate_version, "--annotate-version"
        )
        annotation.check_label_source(args.label_source)
    try:
        quality.load_config()
    except quality.QualityConfigError as exc:
        raise UsageError(str(exc)) from exc


def run_pipeline(args: argparse.Namespace) -> int:
    """Execute the pipeline table in order, each stage exactly as its container would run it."""
    os.environ.setdefault("MEDALLION_WORKFLOW", PIPELINE_WORKFLOW)
    os.environ.setdefault("MEDALLION_RUN_ID", f"local-{uuid.uuid4().hex[:12]}")
    stages = pipeline.stages_until(args.until)
    check_options(args, stages)
    for stage in stages:
        try:
            code = run_stage(stage, stage_argv(stage, args), args.isolate)
        except KeyboardInterrupt as exc:  # outside the stage's own handling (while it is imported, say)
            raise exc if isinstance(exc, failures.Interrupted) else failures.Interrupted(stage.name) from None
        if code != 0:
            return code  # the stage said why, in one line; the later stages were not run
    return 0


def run_stage(stage: pipeline.Stage, argv: list[str], isolate: bool) -> int:
    if not isolate:
        return importlib.import_module(stage.module).main(argv)
    child = subprocess.Popen([sys.executable, "-m", stage.module, *argv])
    try:
        return child.wait()
    except KeyboardInterrupt:
        failures.shield()
        if child.poll() is None:  # Ctrl-C reaches the child too; `kill -INT` of this process alone does not
            child.send_signal(signal.SIGINT)  # (a second one is harmless: the child shields its cleanup)
        code = child.wait()
        if code == 0:  # it finished first: its dataset is committed, no later stage ran
            raise failures.Interrupted(f"the stages after {stage.name}") from None
        if code < 0:  # killed before it could say so itself
            raise failures.Interrupted(stage.name) from None
        return code


def cmd_run(args: argparse.Namespace) -> int:
    return run_pipeline(args)


# -- demo ------------------------------------------------------------------------------------------------


def cmd_demo(args: argparse.Namespace) -> int:
    from medallion.demo.synthetic import CrawlSpec, write_crawl

    store = open_store(args.store)
    key = pipeline.landing_key(args.date)
    spec = CrawlSpec(date=args.date, documents=args.documents, seed=args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "crawl.jsonl"
        with open(path, "w", encoding="utf-8") as out:
            counts = write_crawl(spec, out)
        if not store.exists(key) or sidecar.file_sha1(path) != _sha1_of(store, key):
            store.upload(path, key)
    print(
        f"generated a synthetic crawl of {counts['lines']:,} lines ({counts['articles']:,} articles, "
        f"{counts['duplicates']:,} duplicates, {counts['recrawls']:,} re-crawls, {counts['junk']:,} junk) "
        f"at {store.url(key)}"
    )
    gold = write_gold_sample(store, spec)
    print(
        f"added {gold:,} documents of this batch to the gold-standard sample the quality report scores labels against"
    )
    args.input = store.url(key)
    args.until = None
    args.label_source = "api"
    with demo_labeler():
        code = run_pipeline(args)
    if code == 0:
        print()
        print_summary(store, args.date)
    return code


def write_gold_sample(store: Store, spec, every: int = 5) -> int:
    """Add every ``every``-th article of the synthetic batch, with its true category, to the store's
    gold-standard sample (as reviewers would: the sample grows batch by batch). Returns how many."""
    import json

    from medallion.core.store import NotFound
    from medallion.demo.synthetic import article
    from medallion.runtime.quality import GOLD_SAMPLE_KEY

    try:
        sample = json.loads(store.read_bytes(GOLD_SAMPLE_KEY))
    except NotFound:
        sample = {}
    added = {a.url: a.category for a in (article(spec, i) for i in range(0, spec.documents, every))}
    merged = dict(sorted({**sample, **added}.items()))
    if merged != sample:
        store.write_bytes(GOLD_SAMPLE_KEY, json.dumps(merged, indent=1).encode())
    return len(added)


DEMO_LABELER = "reference-labeler"  # the name the demo's labeling service is known by


@contextlib.contextmanager
def demo_labeler():
    """The reference labeling service on a free loopback port, unless LABELER_URL names a real one."""
    if os.environ.get("LABELER_URL"):
        yield
        return
    import secrets
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    token = secrets.token_urlsafe(24)
    env = {**os.environ, "LABELER_TOKEN": token}
    # A seeded 8% of labels flipped: the post-train stage has real label noise to find.
    proc = subprocess.Popen(
        [sys.executable, "-m", "medallion.cli", "labeler", "serve", "--port", str(port), "--noise", "0.08"],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    try:
        _wait_for(port)
        os.environ["LABELER_URL"], os.environ["LABELER_TOKEN"] = f"http://127.0.0.1:{port}", token
        # Its port changes on every run, its name does not: a second demo finds every stage up to date.
        os.environ["LABELER_NAME"] = DEMO_LABELER
        print(f"started the reference labeling service on http://127.0.0.1:{port} for the demo")
        yield
    finally:
        for variable in ("LABELER_URL", "LABELER_TOKEN", "LABELER_NAME"):
            os.environ.pop(variable, None)
        proc.terminate()
        proc.wait(timeout=10)


def _wait_for(port: int, seconds: float = 15.0) -> None:
    import socket
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise ConfigError(f"the demo labeling service did not start on port {port}")


def _sha1_of(store: Store, key: str) -> str:
    with datasets.local_copy(store, key) as path:
        return sidecar.file_sha1(path)


# -- ls / show / verify ----------------------------------------------------------------------------------


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
    from medallion.runtime.step import quality_report_key

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
    from medallion.runtime import quality

    return sidecar.dumps(report).rstrip() if as_yaml else quality.table(report)


def cmd_export_tasks(args: argparse.Namespace) -> int:
    """Documents of a text-normalization version that the gold layer has no label for yet."""
    import json

    from medallion.demo.synthetic import CATEGORIES
    from medallion.labeling.labelstudio import export_tasks, labeling_config

    store = open_store(args.store)
    source = datasets.Dataset.open(
        store,
        pipeline.dataset_key(pipeline.stage("text-normalization"), args.date, args.version),
        hint="run the pipeline through text-normalization first",
    )
    gold = datasets.read_meta(store, pipeline.dataset_key(pipeline.stage("annotated"), args.date))
    labeled = set()
    if gold is not None:
        annotated = datasets.Dataset.open(store, pipeline.dataset_key(pipeline.stage("annotated"), args.date))
        labeled = {row["url"] for row in annotated.records(columns=["url"])}
    todo = [row for row in source.records(columns=["url", "title", "text"]) if row["url"] not in labeled]
    tasks = export_tasks(todo, CATEGORIES)
    Path(args.out).write_text(json.dumps(tasks, ensure_ascii=False, indent=1))
    config_path = Path(args.out).with_suffix(".labeling-config.xml")
    config_path.write_text(labeling_config(CATEGORIES))
    print(
        f"wrote {len(tasks):,} tasks to {args.out} ({len(labeled):,} documents already labeled); "
        f"labeling interface in {config_path}"
    )
    return 0


# -- parser ----------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = failures.ArgumentParser(prog="medallion", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    store_help = "store URI: file://PATH (default ./data, or MEDALLION_STORE) or s3://BUCKET[/PREFIX]"

    run = sub.add_parser("run", help="run the stages for one daily batch in order")
    run.add_argument("--store", default=config.default_store(), help=store_help)
    run.add_argument("--date", required=True, type=parse_date, help="batch date, YYYY-MM-DD")
    run.add_argument("--until", choices=pipeline.STAGE_NAMES, help="last stage to run (default: all)")
    pipeline.add_stage_params(run)  # every stage parameter Argo exposes, from the pipeline table
    run.add_argument("--force", action="store_true", help="rebuild datasets even when up to date")
    run.add_argument("--isolate", action="store_true", help="run each stage in its own process")
    run.add_argument(
        "--warn-only", action="store_true", help="report failed quality gates instead of stopping"
    )
    run.set_defaults(func=cmd_run)

    demo = sub.add_parser("demo", help="generate a synthetic crawl, run the whole pipeline, show the results")
    demo.add_argument("--store", default=config.default_store(), help=store_help)
    demo.add_argument("--date", type=parse_date, default=yesterday(), help="batch date (default: yesterday)")
    demo.add_argument("--documents", type=int, default=1000, help="articles in the synthetic crawl")
    demo.add_argument("--seed", type=int, default=7, help="random seed of the synthetic crawl")
    pipeline.add_stage_params(demo, names=("versions", "annotate-version"))
    demo.add_argument("--force", action="store_true", help="rebuild datasets even when up to date")
    demo.add_argument("--isolate", action="store_true", help="run each stage in its own process")
    demo.add_argument(
        "--warn-only", action="store_true", help="report failed quality gates instead of stopping"
    )
    demo.set_defaults(func=cmd_demo)

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

    from medallion.demo import labeler
    from medallion.tools import argo, catalog, croissant, lineage, policies, reproduce

    lineage.add_parser(sub)
    catalog.add_parser(sub)
    croissant.add_parser(sub)
    reproduce.add_parser(sub)
    argo.add_parser(sub)
    labeler.add_parser(sub)
    policies.add_parser(sub)

    labels = sub.add_parser("labels", help="human labels: export documents as Label Studio tasks")
    labels_sub = labels.add_subparsers(dest="labels_command", required=True, metavar="COMMAND")
    export = labels_sub.add_parser(
        "export-tasks", help="write unlabeled documents as Label Studio tasks (JSON)"
    )
    export.add_argument("--store", default=config.default_store(), help=store_help)
    export.add_argument("--date", required=True, type=parse_date, help="batch date, YYYY-MM-DD")
    export.add_argument("--version", default="v2", help="text-normalization version to label (default v2)")
    export.add_argument("--out", required=True, help="tasks file to write (import it into Label Studio)")
    export.set_defaults(func=cmd_export_tasks)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return failures.run(lambda: args.func(args))


if __name__ == "__main__":
    sys.exit(main())
