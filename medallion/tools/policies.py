"""Least privilege: one S3 identity per stage, and the IAM policy (JSON, as MinIO and S3 take it) of each.

A stage reads its inputs' prefixes and writes only its own prefix, its quarantine prefix and, where it
has them, its shard scratch and the label cache. The ``analyst`` reads the silver, gold and post-train
layers and nothing of raw (neither bronze, nor the landing zone, nor quarantine, which holds raw pages).
Listing is granted bucket-wide: key names in this layout carry no data (stage, version, date, file).

    medallion policies render --bucket NAME [--prefix P] --out DIR    # DIR/<identity>.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from medallion.core import pipeline
from medallion.core.config import DATASET_ROOT
from medallion.runtime.quality import GOLD_SAMPLE_KEY

ANALYST = "analyst"
READ = ["s3:GetObject", "s3:GetObjectVersion"]
WRITE = ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]
LIST = ["s3:ListBucket", "s3:ListBucketVersions", "s3:GetBucketLocation", "s3:GetBucketVersioning"]


def _dir(path: str) -> str:
    return f"{DATASET_ROOT}/{path}/"


def access(stage: pipeline.Stage) -> tuple[list[str], list[str]]:
    """The key prefixes a stage reads and the ones it writes (relative to the store's root)."""
    reads = [_dir(pipeline.stage(name).path) for name in (*stage.inputs, *stage.reads)]
    if not stage.inputs and not stage.reads:
        reads.append(f"{pipeline.LANDING_ROOT}/")
    if stage.labeled:
        reads.append(GOLD_SAMPLE_KEY)
    writes = [_dir(stage.path), _dir(f"quarantine/{stage.path}")]
    if stage.shardable:
        writes.append(_dir(f"_shards/{stage.path}"))
    writes += [f"{prefix}/" for prefix in stage.writes]
    return reads, writes


def analyst_reads() -> list[str]:
    layers = {s.path.split("/")[0] for s in pipeline.ALL_STAGES if s.layer != "bronze"}
    return [_dir(layer) for layer in sorted(layers)] + [GOLD_SAMPLE_KEY]


def identities() -> dict[str, tuple[list[str], list[str]]]:
    """Every identity with the prefixes it reads and writes."""
    found: dict[str, tuple[list[str], list[str]]] = {}
    for stage in pipeline.ALL_STAGES:  # stages written by one container share its identity
        reads, writes = found.get(stage.identity, ([], []))
        more_reads, more_writes = access(stage)
        found[stage.identity] = (
            list(dict.fromkeys(reads + more_reads)),
            list(dict.fromkeys(writes + more_writes)),
        )
    found[ANALYST] = (analyst_reads(), [])
    return found


def _arns(bucket: str, prefix: str, paths: list[str]) -> list[str]:
    root = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
    return [f"arn:aws:s3:::{bucket}/{root}{p}" + ("*" if p.endswith("/") else "") for p in paths]


def policy(bucket: str, reads: list[str], writes: list[str], prefix: str = "") -> dict:
    """An IAM policy document: list the bucket, read ``reads``, read and write ``writes``."""
    statements = [
        {"Sid": "ListTheBucket", "Effect": "Allow", "Action": LIST, "Resource": [f"arn:aws:s3:::{bucket}"]},
        {
            "Sid": "ReadInputs",
            "Effect": "Allow",
            "Action": READ,
            "Resource": _arns(bucket, prefix, reads + writes),
        },
    ]
    if writes:
        statements.append(
            {
                "Sid": "WriteOwnPrefixes",
                "Effect": "Allow",
                "Action": WRITE,
                "Resource": _arns(bucket, prefix, writes),
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def render(bucket: str, out: Path, prefix: str = "") -> list[Path]:
    """Write ``out/<identity>.json`` for every identity; returns the files."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, (reads, writes) in identities().items():
        path = out / f"{name}.json"
        path.write_text(json.dumps(policy(bucket, reads, writes, prefix), indent=2) + "\n")
        written.append(path)
    return written


def cmd_render(args: argparse.Namespace) -> int:
    for path in render(args.bucket, Path(args.out), args.prefix):
        print(path)
    return 0


def add_parser(sub) -> None:
    policies = sub.add_parser("policies", help="IAM policies of the per-stage S3 identities")
    commands = policies.add_subparsers(dest="policies_command", required=True, metavar="COMMAND")
    render_ = commands.add_parser("render", help="write one IAM policy JSON per identity into a folder")
    render_.add_argument("--bucket", required=True, help="the bucket holding the datasets")
    render_.add_argument("--prefix", default="", help="the store's prefix inside the bucket, if any")
    render_.add_argument("--out", required=True, help="folder to write <identity>.json into")
    render_.set_defaults(func=cmd_render)
