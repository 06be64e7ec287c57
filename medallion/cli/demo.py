"""``medallion demo``: a synthetic crawl, the whole pipeline run on it against the reference labeling
service, and a summary of what it produced."""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from medallion.cli.run import run_pipeline
from medallion.core import config, datasets, pipeline, sidecar
from medallion.core.config import ConfigError
from medallion.core.store import open_store
from medallion.core.store_interface import Store
from medallion.runtime.args import add_config_dir, parse_date
from medallion.tools.inventory import print_summary


def yesterday() -> str:
    return (datetime.now(UTC).date() - timedelta(days=1)).isoformat()


def cmd_demo(args: argparse.Namespace) -> int:
    from medallion.demo.synthetic import day_specs

    if args.days < 1:
        raise ConfigError(f"--days must be 1 or more, got {args.days}")
    store = open_store(args.store)
    first = (date.fromisoformat(args.date) - timedelta(days=args.days - 1)).isoformat()
    args.until = None
    args.label_source = "api"
    with demo_labeler():
        for spec in day_specs(first, args.days, args.documents, args.seed):
            code = demo_day(store, spec, args)
            if code != 0:
                return code
    print()
    print_summary(store, args.date)
    return 0 if args.days == 1 else demo_release(store, args, first)


def demo_day(store: Store, spec, args: argparse.Namespace) -> int:
    """One synthetic batch: generated into the landing folder, then the whole daily pipeline on it."""
    from medallion.demo.synthetic import write_crawl

    key = pipeline.landing_key(spec.date)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "crawl.jsonl"
        with open(path, "w", encoding="utf-8") as out:
            counts = write_crawl(spec, out)
        if not store.exists(key) or sidecar.file_sha1(path) != _sha1_of(store, key):
            store.upload(path, key)
    across = (
        f", {counts['carried']:,} re-crawls and {counts['syndicated']:,} syndicated copies of earlier days"
        if spec.earlier
        else ""
    )
    print(
        f"generated a synthetic crawl of {counts['lines']:,} lines ({counts['articles']:,} articles, "
        f"{counts['duplicates']:,} duplicates, {counts['recrawls']:,} re-crawls, {counts['junk']:,} junk"
        f"{across}) at {store.url(key)}"
    )
    gold = write_gold_sample(store, spec)
    print(
        f"added {gold:,} documents of this batch to the gold-standard sample the quality report scores labels against"
    )
    args.input = store.url(key)
    args.date = spec.date
    return run_pipeline(args)


def demo_release(store: Store, args: argparse.Namespace, first: str) -> int:
    """A release of the demo's days, and a model trained and registered on it."""
    import importlib

    name = f"demo-{first}-{args.date}"
    common = ["--store", args.store] + ["--force"] * bool(args.force) + ["--warn-only"] * bool(args.warn_only)
    print()
    for stage, argv in (
        ("release", ["--release", name, "--from", first, "--to", args.date]),
        ("release-model", ["--release", name]),
    ):
        code = importlib.import_module(pipeline.stage(stage).module).main(common + argv)
        if code != 0:
            return code
    release = datasets.read_meta(store, pipeline.dataset_key(pipeline.stage("release"), name))
    model = datasets.read_meta(store, pipeline.dataset_key(pipeline.stage("release-model"), name))
    stats, metrics = release["statistics"], model["statistics"]["metrics"]
    removed = stats["duplicates_removed"]["by_reason"]
    print(
        f"\nrelease {name}: {stats['rows']:,} documents from {len(stats['batches'])} days "
        f"({stats['input_rows']:,} rows in; removed as the same canonical URL {removed.get('canonical-url', 0):,}, "
        f"as near-duplicate text {removed.get('near-duplicate', 0):,}); splits "
        + ", ".join(f"{split} {n:,}" for split, n in stats["splits"].items())
    )
    mlflow = model["statistics"]["mlflow"]
    print(
        f"model: test accuracy {metrics['test_accuracy']:.3f}, macro-F1 {metrics['test_macro_f1']:.3f}; "
        f"registered {mlflow['model_name']} version {mlflow['model_version']} ({mlflow['tracking']})"
    )
    return 0


def write_gold_sample(store: Store, spec, every: int = 5) -> int:
    """Add every ``every``-th article of the synthetic batch, with its true category, to the store's
    gold-standard sample (as reviewers would: the sample grows batch by batch). Returns how many."""
    import json

    from medallion.core.store_interface import NotFound
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


def add_parser(sub, store_help: str) -> None:
    demo = sub.add_parser("demo", help="generate a synthetic crawl, run the whole pipeline, show the results")
    demo.add_argument("--store", default=config.default_store(), help=store_help)
    add_config_dir(demo)
    demo.add_argument("--date", type=parse_date, default=yesterday(), help="batch date (default: yesterday)")
    demo.add_argument("--documents", type=int, default=1000, help="articles in the synthetic crawl")
    demo.add_argument("--seed", type=int, default=7, help="random seed of the synthetic crawl")
    demo.add_argument(
        "--days",
        type=int,
        default=1,
        help="batches to generate, ending at --date, with re-crawls and syndicated copies across days; "
        "more than one: a release of them all, and a model trained and registered on it",
    )
    pipeline.add_stage_params(demo, names=("versions", "annotate-version"))
    demo.add_argument("--force", action="store_true", help="rebuild datasets even when up to date")
    demo.add_argument("--isolate", action="store_true", help="run each stage in its own process")
    demo.add_argument(
        "--warn-only", action="store_true", help="report failed quality gates instead of stopping"
    )
    demo.set_defaults(func=cmd_demo)
