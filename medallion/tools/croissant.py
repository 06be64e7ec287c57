"""MLCommons Croissant 1.0 metadata (JSON-LD) for a committed dataset, built from its sidecar.

The sidecar already says what a dataset is (schema, column meanings, lineage, digest); Croissant says the
same in the vocabulary ML tooling reads (mlcroissant, Hugging Face, Kaggle, TFDS), so a dataset can be
published or loaded elsewhere without those tools learning the sidecar format. Only the sha256 is new:
Croissant requires it (or md5) and the sidecar records sha1, so the data file is read once more, streamed.

The output is deterministic: the same sidecar and data file always give the same bytes, so the file can
be diffed, versioned and cached.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from medallion.core import datasets, pipeline
from medallion.core.config import DATASET_ROOT
from medallion.core.errors import MedallionError
from medallion.core.store_interface import Store

# Every dataset is published under this license unless the project decides otherwise.
LICENSE = "https://creativecommons.org/licenses/by/4.0/"
# mlcroissant requires a semantic version; a dataset's identity is its stage version and date instead.
VERSION = "1.0.0"
CONFORMS_TO = "http://mlcommons.org/croissant/1.0"
# The standard Croissant 1.0 @context: the one of the spec's example datasets
# (https://github.com/mlcommons/croissant/tree/main/datasets/1.0) plus equivalentProperty and samplingRate,
# which mlcroissant (1.1) counts as standard for 1.0 and warns about when missing.
CONTEXT: dict[str, Any] = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "samplingRate": "cr:samplingRate",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}
ENCODING_FORMATS = {"jsonl": "application/jsonlines", "parquet": "application/x-parquet"}
# Arrow type names (as the sidecar's schema writes them) by prefix; the first match wins, so the more
# specific prefixes come first. Raw JSON Lines write "string (ISO 8601)" for a date kept as the crawler's
# text: it is a sc:Date, which is also what mlcroissant's JSON Lines reader (pandas) makes of it, so sc:Text
# would fail to read. "json" (a quarantined record) is stored as its JSON text.
DATA_TYPES: tuple[tuple[str, str], ...] = (
    ("string (ISO 8601)", "sc:Date"),
    ("large_string", "sc:Text"),
    ("string", "sc:Text"),
    ("json", "sc:Text"),
    ("timestamp", "sc:Date"),
    ("date", "sc:Date"),
    ("bool", "sc:Boolean"),
    ("int", "sc:Integer"),
    ("uint", "sc:Integer"),
    ("float", "sc:Float"),
    ("double", "sc:Float"),
    ("halffloat", "sc:Float"),
)
LIST_TYPE = re.compile(r"^(?:large_)?list<(?:[^:<>]+:\s*)?(?P<item>.+)>$")
CHUNK = 1 << 20


class CroissantError(MedallionError, ValueError):
    """The sidecar cannot be described in Croissant (for example a column type with no Croissant type)."""


def data_type(arrow_type: str, column: str = "") -> tuple[str, bool]:
    """The Croissant dataType of a sidecar type string, and whether the column holds a list of them.

    Raises rather than guessing: a wrong dataType makes mlcroissant cast values wrongly when reading.
    """
    text = arrow_type.strip()
    if match := LIST_TYPE.match(text):
        item, repeated = data_type(match["item"], column)
        if repeated:
            raise CroissantError(
                f"column {column!r}: nested lists ({arrow_type!r}) have no Croissant 1.0 type"
            )
        return item, True
    for prefix, croissant_type in DATA_TYPES:
        if text.startswith(prefix):
            return croissant_type, False
    raise CroissantError(f"column {column!r}: no Croissant dataType for the sidecar type {arrow_type!r}")


def sha256_of(path: Path) -> str:
    """The sha256 of a file, read in chunks so a large dataset does not fill memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def dataset_name(meta: dict, key: str) -> str:
    """``html-classification-<stage>[-<version>]-<date>[-<file>]``: stable, readable and unique per dataset.

    The file stem is added when the file is not the stage's main dataset (quarantined rejects, post-train's
    label issues), so two datasets of one folder never share a name.
    """
    stage = meta["stage"]
    main = {candidate.name: candidate.dataset for candidate in pipeline.STAGES}.get(stage["name"])
    filename = key.rsplit("/", 1)[-1]
    parts = [DATASET_ROOT, stage["name"], stage.get("version"), str(meta["date"])]
    if filename != main:
        parts.append(filename.rsplit(".", 1)[0])
    return "-".join(part for part in parts if part)


def description(meta: dict) -> str:
    """The sidecar's description plus what Croissant has no field for: how the data was produced."""
    workflow = meta.get("workflow") or {}
    if isinstance(workflow, dict):
        made_by = f"workflow {workflow.get('name', '?')}, step {workflow.get('step', meta['stage']['name'])}"
        if workflow.get("run_id"):
            made_by += f", run {workflow['run_id']}"
    else:
        made_by = f"workflow {workflow}"
    steps = ", ".join(step["name"] for step in meta.get("process") or [])
    lines = [
        meta["description"].strip(),
        f"Produced by {made_by}, code version {meta.get('code_version', 'unknown')}.",
        f"Stage {meta['stage']['name']} ({meta['stage']['layer']} layer), date {meta['date']}, "
        f"{meta['statistics']['rows']} rows.",
    ]
    if steps:
        lines.append(f"Processing: {steps}.")
    return "\n".join(lines)


def record_fields(meta: dict, record_set: str, file_id: str) -> list[dict]:
    """One cr:Field per column of the sidecar's schema, in schema order, read from the file's column."""
    meanings = meta.get("columns") or {}
    fields = []
    for column, arrow_type in meta["schema"].items():
        croissant_type, repeated = data_type(str(arrow_type), column)
        field: dict[str, Any] = {
            "@type": "cr:Field",
            "@id": f"{record_set}/{column}",
            "name": column,
            "description": meanings.get(column) or f"Column {column} ({arrow_type}).",
            "dataType": croissant_type,
            "source": {"fileObject": {"@id": file_id}, "extract": {"column": column}},
        }
        if repeated:
            field["repeated"] = True
        fields.append(field)
    return fields


def croissant(store: Store, key: str) -> dict:
    """The Croissant 1.0 JSON-LD of dataset ``key``: one FileObject, one RecordSet, lineage in isBasedOn."""
    ds = datasets.Dataset.open(store, key)
    meta = ds.meta
    fmt = meta.get("format") or datasets.format_of(key)
    if fmt not in ENCODING_FORMATS:
        raise CroissantError(
            f"{ds.uri}: format {fmt!r} has no Croissant encoding (expected jsonl or parquet)"
        )
    if not meta.get("schema"):
        raise CroissantError(f"{ds.uri}: the sidecar has no schema, so there are no fields to describe")
    with datasets.local_copy(store, key) as path:
        sha256 = sha256_of(path)
    filename = key.rsplit("/", 1)[-1]
    record_set = filename.rsplit(".", 1)[0]
    name = dataset_name(meta, key)
    return {
        "@context": CONTEXT,
        "@type": "sc:Dataset",
        "conformsTo": CONFORMS_TO,
        "name": name,
        "description": description(meta),
        "url": ds.uri,
        "datePublished": meta["created_at"],
        "version": VERSION,
        "license": LICENSE,
        "citeAs": f"{name}, {ds.uri}, sha1 {meta['sha1']}",
        "isBasedOn": [source["uri"] for source in meta.get("sources") or []],
        "distribution": [
            {
                "@type": "cr:FileObject",
                "@id": filename,
                "name": filename,
                "description": f"The {fmt} data file of {name}.",
                "contentUrl": ds.uri,
                "contentSize": f"{meta['bytes']} B",
                "encodingFormat": ENCODING_FORMATS[fmt],
                "sha256": sha256,
                # Not a Croissant 1.0 property: mlcroissant keeps it as an extra property, and it is the
                # digest every sidecar and lineage record of this project uses.
                "sha1": meta["sha1"],
            }
        ],
        "recordSet": [
            {
                "@type": "cr:RecordSet",
                "@id": record_set,
                "name": record_set,
                "description": f"One record per row of {filename}.",
                "field": record_fields(meta, record_set, filename),
            }
        ],
    }


def dumps(metadata: dict) -> str:
    """Sorted, indented JSON: equal metadata gives equal bytes."""
    return json.dumps(metadata, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write(store: Store, key: str, out_path: str | Path) -> dict:
    """Write the Croissant JSON-LD of dataset ``key`` to the local file ``out_path``; return it too."""
    metadata = croissant(store, key)
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(dumps(metadata), encoding="utf-8")
    return metadata


def cmd_export(args) -> int:
    from medallion.tools.inventory import resolve_dataset

    store, key = resolve_dataset(args.uri)
    if args.out:
        write(store, key, args.out)
        print(f"wrote Croissant metadata of {store.url(key)} to {args.out}")
    else:
        print(dumps(croissant(store, key)), end="")
    return 0


def add_parser(sub) -> None:
    export = sub.add_parser("export-croissant", help="write a dataset's MLCommons Croissant JSON-LD")
    export.add_argument("uri", help="dataset URI: its date folder or its data file")
    export.add_argument("--out", help="file to write (default: standard output)")
    export.set_defaults(func=cmd_export)
