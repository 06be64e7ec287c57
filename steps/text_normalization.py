"""text-normalization: named, versioned rule sets turn title and content into the ``text`` column.

Each version (``v1``, ``v2``, ... in ``medallion/config/text-normalization.yaml``) writes its own dataset
``preprocess/text-normalization/<version>/<date>/``; its sidecar lists the rules with their parameters.
Adding a version is a change to the config file, not to code.

    python -m steps.text_normalization --store URI --date 2026-11-23 [--versions v1,v2]
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Iterator
from pathlib import Path

import yaml

from medallion.core import columns, config, datasets, pipeline
from medallion.runtime.args import step_parser
from medallion.runtime.failures import UsageError
from medallion.runtime.parallel import map_parquet, positions
from medallion.runtime.step import StepRun, guarded
from medallion.transforms import textnorm

STAGE = pipeline.stage("text-normalization")

NAMES = ["url", "host", "timestamp", "title", "content", "language", "text"]
COLUMNS = columns.meanings(NAMES)


def _schema():
    return columns.schema(NAMES)


def normalize_record(record: dict, specs: tuple) -> str:
    """The pure core: an html-parsing row's title and content in, the normalized ``text`` out."""
    return _compiled(specs)(f"{record['title']}\n\n{record['content']}")


_COMPILED: dict[tuple, object] = {}


def _compiled(specs: tuple):
    """The compiled rule set, once per worker process."""
    key = tuple(spec.key() for spec in specs)
    if key not in _COMPILED:
        _COMPILED[key] = textnorm.compile_rules(list(specs))
    return _COMPILED[key]


def main(argv: list[str] | None = None) -> int:
    parser = step_parser(STAGE)
    parser.add_argument(
        "--config", default=None, help="rule-set file (default: medallion/config/text-normalization.yaml)"
    )
    parser.add_argument("--workers", type=int, default=None, help="parallel processes (default: all cores)")
    args = parser.parse_args(argv)
    return guarded(lambda: normalize(args))


def select_versions(path: Path, wanted: str, option: str = "--versions") -> dict[str, list]:
    """The rule sets of ``path`` named in ``wanted`` (comma-separated; empty: every one). A bad file or an
    unknown name is a UsageError (exit 2), found before anything runs."""
    try:
        versions = textnorm.load_versions(path)
    except textnorm.RuleConfigError as exc:
        raise UsageError(str(exc)) from exc
    names = [v.strip() for v in wanted.split(",") if v.strip()] or list(versions)
    missing = [v for v in names if v not in versions]
    if missing:
        raise UsageError(
            f"{option}: unknown version(s) {', '.join(missing)} in {path}; configured: {', '.join(versions)}"
        )
    return {name: versions[name] for name in names}


def normalize(args) -> int:
    versions = select_versions(Path(args.config) if args.config else config.rule_sets_path(), args.versions)
    workers = args.workers or config.worker_count()
    for version, specs in versions.items():
        run_version(args, version, specs, workers)
    return 0


def run_version(args, version: str, specs: list, workers: int) -> None:
    rules = textnorm.describe(specs)
    params = {"version": version, "rules": [{"name": r["name"], "params": r["params"]} for r in rules]}
    with StepRun(STAGE, args, schema=_schema(), columns=COLUMNS, params=params, version=version) as run:
        if run.up_to_date():
            return
        results = run.results("html-parsing", lambda path, groups: normalized(path, specs, workers, groups))
        if results is None:  # one shard of the input, into scratch
            return
        for position, row, text in results:
            run.write({**row, "text": text}, position)
        run.commit(process=rules)


def normalized(
    path, specs: list, workers: int, groups: list[int] | None = None
) -> Iterator[tuple[int, dict, str]]:
    """(position, row, text) for the input's rows (only ``groups`` when given), in order."""
    one = functools.partial(normalize_record, specs=tuple(specs))
    columns = ["url", "host", "timestamp", "title", "content", "language"]
    texts = map_parquet(path, ["title", "content"], one, workers, groups=groups)
    rows = datasets.iter_file(path, "parquet", columns=columns, groups=groups)
    yield from zip(positions(path, groups), rows, texts, strict=True)


def check_params(values: dict[str, str]) -> None:
    """The stage's parameters (by Param name), checked before a pipeline run starts: UsageError."""
    select_versions(config.rule_sets_path(), values.get("versions") or "")


def replay(meta: dict, store, scratch) -> tuple[list[str], dict[str, str]]:
    """The arguments that repeat the run ``meta`` records (``medallion reproduce``): its recorded rules,
    written as a one-version rule file into the scratch store's folder."""
    version = meta["parameters"]["version"]
    rules = [{"name": r["name"], "params": r["params"]} for r in meta["parameters"]["rules"]]
    config_file = Path(scratch.root) / f"text-normalization-{version}.yaml"
    config_file.write_text(
        yaml.safe_dump(
            {"versions": {version: {"description": f"rules of {meta['dataset']}", "rules": rules}}}
        )
    )
    return ["--versions", version, "--config", str(config_file)], {}


if __name__ == "__main__":
    sys.exit(main())
