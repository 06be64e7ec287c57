"""Data contracts: the schema files, the records they accept and reject, and steps that enforce them."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import jsonschema
import pyarrow.parquet as pq
import pytest
import yaml
from conftest import build, run_cli
from hypothesis import given, settings
from hypothesis import strategies as st

from medallion.core import columns, compiled, contracts, datasets, pipeline, sidecar
from medallion.core.config import CONFIG_DIR
from medallion.core.store import open_store
from medallion.core.timestamps import parse_timestamp

DAY = "2026-11-23"
MOMENT = datetime(2026, 11, 23, 8, tzinfo=UTC)
DOC = {
    "url": "https://a.example/news/story",
    "host": "a.example",
    "timestamp": MOMENT,
    "title": "A story",
    "content": "The content.",
    "description": "",
    "language": "en",
    "encoding": "",
    "text": "a story the content",
    "category": "sports",
    "label_source": "api:labeler:8080",
    "label_confidence": 0.9,
    "annotators": 1,
}
GOOD = {
    "raw": {"url": "https://A.example/x?utm_source=y", "html": "<p>x</p>", "timestamp": "2026-11-23T08:00:00Z", "extra": 1},
    "url-normalization": {
        "url": DOC["url"],
        "source_url": "https://www.a.example/news/story/",
        "host": "a.example",
        "timestamp": MOMENT,
        "copies": 2,
        "html": "<p>x</p>",
    },
    "html-parsing": {k: DOC[k] for k in ("url", "host", "timestamp", "title", "content", "description", "language", "encoding")},
    "text-normalization": {k: DOC[k] for k in ("url", "host", "timestamp", "title", "content", "language", "text")},
    "annotated": {k: v for k, v in DOC.items() if k not in ("description", "encoding")},
    "post-train": {**{k: v for k, v in DOC.items() if k not in ("description", "encoding")}, "original_category": None},
    "train": {"url": DOC["url"], "category": "sports", "predicted": "health", "given_probability": 0.2, "probabilities": [0.2, 0.8]},
    "release": {**{k: v for k, v in DOC.items() if k not in ("description", "encoding")}, "original_category": None, "date": "2026-11-23", "split": "test"},
    "release-model": {"url": DOC["url"], "split": "train", "category": "sports", "predicted": "health", "predicted_probability": 0.6},
    "label-issues": {"url": DOC["url"], "given": "sports", "suggested": "health", "score": 0.1, "suggested_probability": 0.8, "action": "removed"},
    "rejects": {"position": 3, "reason": "invalid-json", "detail": "not JSON", "url": None, "record": "{"},
}  # fmt: skip
BAD = [
    ("raw", {"url": "javascript:alert(1)"}, "contract:url:pattern"),
    ("raw", {"html": ""}, "contract:html:minlength"),
    ("raw", {"timestamp": 1732345678}, "contract:timestamp:type"),
    ("url-normalization", {"copies": 0}, "contract:copies:minimum"),
    ("url-normalization", {"url": "https://a.example/x#frag"}, "contract:url:pattern"),
    ("html-parsing", {"content": " \n "}, "contract:content:pattern"),
    ("html-parsing", {"language": "English"}, "contract:language:pattern"),
    ("html-parsing", {"url": "https://a.example/" + "x" * 9000}, "contract:url:maxlength"),
    ("text-normalization", {"text": ""}, "contract:text:minlength"),
    ("text-normalization", {"unexpected": 1}, "contract:unexpected:additionalproperties"),
    ("annotated", {"label_confidence": 1.5}, "contract:label_confidence:maximum"),
    ("annotated", {"label_source": "somewhere"}, "contract:label_source:pattern"),
    ("annotated", {"annotators": 0}, "contract:annotators:minimum"),
    ("post-train", {"original_category": 3}, "contract:original_category:type"),
    ("train", {"probabilities": [0.5, 1.5]}, "contract:probabilities.1:maximum"),
    ("label-issues", {"action": "deleted"}, "contract:action:enum"),
    ("release", {"split": "holdout"}, "contract:split:enum"),
    ("release", {"date": "2026-1-3"}, "contract:date:pattern"),
    ("release-model", {"predicted_probability": 1.2}, "contract:predicted_probability:maximum"),
    ("rejects", {"reason": "Not A Reason"}, "contract:reason:pattern"),
]


@pytest.mark.parametrize("kind", [*contracts.KINDS, contracts.SHARED])
def test_every_contract_is_valid_json_schema(kind):
    jsonschema.Draft202012Validator.check_schema(contracts.load(kind))


def test_shared_column_definitions_mean_what_the_code_says():
    defs = contracts.load(contracts.SHARED)["$defs"]
    assert set(defs) == set(columns.COLUMNS)
    for name, (_arrow, meaning) in columns.COLUMNS.items():
        assert defs[name]["description"] == meaning, name


def test_every_stage_has_a_contract_matching_its_columns():
    from steps import (
        annotation,
        html_parsing,
        post_train,
        release,
        text_normalization,
        train,
        train_release,
        url_normalization,
    )

    for stage, names in [
        ("url-normalization", url_normalization._schema().names),
        ("html-parsing", html_parsing._schema().names),
        ("text-normalization", text_normalization._schema().names),
        ("annotated", annotation._schema().names),
        ("train", train._schema().names),
        ("post-train", post_train._schemas()[0].names),
        ("label-issues", post_train._schemas()[1].names),
        ("release", release.schema().names),
        ("release-model", train_release._schema().names),
    ]:
        assert list(contracts.load(stage)["properties"]) == list(names), stage
    files = {p.name.removesuffix(".schema.json") for p in contracts.SCHEMA_DIR.glob("*.schema.json")}
    assert set(contracts.KINDS) == files - {contracts.SHARED, "sidecar"}  # every stage and other kind has one


@pytest.mark.parametrize("kind", contracts.KINDS)
def test_good_records_pass(kind):
    assert contracts.contract(kind).violations(GOOD[kind]) == []


@pytest.mark.parametrize("kind,change,reason", BAD, ids=[r for _, _, r in BAD])
def test_bad_records_name_the_field_and_rule(kind, change, reason):
    record = {**GOOD[kind], **change}
    found = contracts.contract(kind).check(record)
    assert found is not None and found.reason() == reason


def test_a_missing_field_and_a_non_object_are_named():
    record = {k: v for k, v in GOOD["html-parsing"].items() if k != "title"}
    assert contracts.contract("html-parsing").check(record).reason() == "contract:title:required"
    assert contracts.contract("raw").check(["x"]).reason() == "contract:(record):type"


def test_a_narrowed_contract_checks_only_the_columns_read():
    narrowed = contracts.contract("url-normalization", ("url", "host", "timestamp"))
    assert narrowed.check({"url": DOC["url"], "host": "a.example", "timestamp": MOMENT}) is None
    assert narrowed.check({"url": "nope", "host": "a.example", "timestamp": MOMENT}).field == "url"
    with pytest.raises(contracts.ContractError, match="no column"):
        contracts.contract("html-parsing", ("url", "html"))
    # a crawler's extra fields are allowed in raw: not checked, and not a new compiled contract each
    assert contracts.contract("raw", ("url", "crawler_id")) is contracts.contract("raw", ("url",))


def test_check_dataset_refuses_another_contract_or_missing_columns():
    meta = {
        "dataset": "d",
        "contract": {"name": "html-parsing"},
        "schema": dict.fromkeys(GOOD["html-parsing"], "string"),
    }
    contracts.check_dataset(meta, "html-parsing")
    with pytest.raises(
        contracts.ContractError, match="written under contract 'html-parsing', not 'annotated'"
    ):
        contracts.check_dataset(meta, "annotated")
    narrow = {**meta, "schema": {"url": "string"}}
    with pytest.raises(contracts.ContractError, match="lacks the column"):
        contracts.check_dataset(narrow, "html-parsing")


# -- steps enforce their contracts -------------------------------------------------------------------------


def _crawl(tmp_path, pages: list[tuple[str, str]]):
    path = tmp_path / "crawl.jsonl"
    with open(path, "w") as out:
        for i, (title, body) in enumerate(pages):
            html = f"<html><head><title>{title}</title></head><body><article>{body}</article></body></html>"
            record = {
                "url": f"https://news.example/a/{i}",
                "html": html,
                "timestamp": f"{DAY}T0{i % 9}:00:00Z",
            }
            out.write(json.dumps(record) + "\n")
    return path


def test_an_output_row_that_breaks_the_contract_is_quarantined_with_field_and_rule(tmp_path):
    """A rule set that leaves no text: the row goes to quarantine as contract:text:..., not into silver."""
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    digits = {"description": "keep no digits", "rules": ["remove_numbers", "remove_punctuation"]}
    (config_dir / "text-normalization.yaml").write_text(yaml.safe_dump({"versions": {"digits": digits}}))
    (config_dir / "quality.yaml").write_text((CONFIG_DIR / "quality.yaml").read_text())
    pages = [("2026", "<p>12 345 678, 910.</p>")] + [
        (f"Story number {w}", f"<p>Words about {w} happen here.</p>") for w in "abcdefghi"
    ]
    store = f"file://{tmp_path / 'store'}"
    env = {"MEDALLION_CONFIG_DIR": str(config_dir)}
    result = run_cli(
        "medallion", "run", "--store", store, "--date", DAY, "--input", str(_crawl(tmp_path, pages)),
        "--until", "text-normalization", "--warn-only", env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    s = open_store(store)
    stage = pipeline.stage("text-normalization")
    meta = datasets.Dataset.open(s, pipeline.dataset_key(stage, DAY, "digits")).meta
    assert meta["statistics"]["rows"] == 9
    assert meta["statistics"]["quarantined"]["by_reason"] == {"contract:text:minlength": 1}
    assert meta["contract"] == contracts.describe("text-normalization")
    assert meta["quality"]["validity"]["schema_pass_rate"] == 0.9
    rejects = list(datasets.Dataset.open(s, pipeline.quarantine_key(stage, DAY, "digits")).records())
    assert rejects[0]["reason"] == "contract:text:minlength"
    assert "schemas/text-normalization.schema.json at text" in rejects[0]["detail"]
    assert rejects[0]["url"] == "https://news.example/a/0"


def _tamper(store, key: str, change) -> None:
    """Rewrite a committed Parquet dataset with ``change`` applied to its rows, and re-seal its sidecar,
    as a buggy writer that still produced a well-formed sidecar would."""
    with datasets.local_copy(store, key) as path:
        table = pq.read_table(path)
        rows = change(table.to_pylist())
        import pyarrow as pa

        pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), path)
        meta = datasets.read_meta(store, key)
        meta["sha1"] = sidecar.file_sha1(path)
        meta["bytes"] = path.stat().st_size
    store.write_bytes(sidecar.sidecar_key(key), sidecar.dumps(meta).encode())


def test_an_input_row_that_breaks_its_contract_is_quarantined_and_validate_finds_it(tmp_path, small_crawl):
    store_uri = f"file://{tmp_path / 'store'}"
    build(store_uri, small_crawl, "html-parsing")
    store = open_store(store_uri)
    key = pipeline.dataset_key(pipeline.stage("html-parsing"), DAY)

    def corrupt(rows):
        rows[2]["language"] = "ENGLISH"
        rows[5]["url"] = "not a url"
        return rows

    _tamper(store, key, corrupt)
    uri = store.url(key)
    result = run_cli("medallion", "validate", uri)
    assert result.returncode == 1
    out = result.stdout.decode()
    assert "INVALID" in out and "2 of" in out
    assert "contract:language:pattern x1" in out and "contract:url:pattern x1" in out
    assert "row 2: language:" in out
    rows = datasets.Dataset.open(store, key).rows
    result = run_cli(
        "-m", "steps.text_normalization", "--store", store_uri, "--date", DAY, "--versions", "v1"
    )
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    meta = datasets.Dataset.open(
        store, pipeline.dataset_key(pipeline.stage("text-normalization"), DAY, "v1")
    ).meta
    assert meta["statistics"]["input_rows"] == rows
    assert meta["statistics"]["quarantined"]["by_reason"] == {
        "input-contract:language:pattern": 1,
        "input-contract:url:pattern": 1,
    }
    assert meta["statistics"]["rows"] == rows - 2


def test_validate_passes_every_dataset_of_a_built_store(tmp_path, small_crawl):
    store_uri = f"file://{tmp_path / 'store'}"
    build(store_uri, small_crawl, "text-normalization")
    store = open_store(store_uri)
    uris = [store.url(k) for k in datasets.find_datasets(store, "html-classification/")]
    assert len(uris) == 10  # five datasets and their five quarantines
    result = run_cli("medallion", "validate", *uris)
    assert result.returncode == 0, result.stdout.decode()
    assert result.stdout.decode().count("ok ") == len(uris)


def test_a_step_refuses_an_input_written_under_another_contract(tmp_path, small_crawl):
    store_uri = f"file://{tmp_path / 'store'}"
    build(store_uri, small_crawl, "url-normalization")
    store = open_store(store_uri)
    key = pipeline.dataset_key(pipeline.stage("url-normalization"), DAY)
    meta = datasets.read_meta(store, key)
    meta["contract"]["name"] = "raw"
    store.write_bytes(sidecar.sidecar_key(key), sidecar.dumps(meta).encode())
    result = run_cli("-m", "steps.html_parsing", "--store", store_uri, "--date", DAY)
    assert result.returncode == 1
    err = result.stderr.decode()
    assert "input url-normalization" in err and "written under contract 'raw'" in err and "--force" in err


# -- the compiled copy agrees with jsonschema ----------------------------------------------------------------
# Where Python's re and the Rust engine differ: its whitespace and digits, and $ before a final newline.
EDGES = "\x1c\x1d\x1e\x1f\x85\ufeff\xa0\u1680\u2028\u3000\u200b\u180e \t\n\r\x0b\x0c٢０𝟎ſKİı"
edgy = st.text(st.sampled_from(EDGES) | st.characters(codec="ascii"), max_size=12)
edge = st.sampled_from(["", *EDGES]) | edgy


def around(cores: list[str]):
    """Strings that pass alone, between two edges."""
    return st.builds(lambda a, core, b: a + core + b, edge, st.sampled_from(cores), edge)


value = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3), st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12), edge,
    around(["https://a.example/x", "a.example", "en", "api:x", "sports", "2026-11-23T08:00:00+00:00", "2026-11-23T08:00:00Z"]),
    st.sampled_from(["https://a.example/x\n", "en\n", "EN", "", "\ufeff", "x\x1f", "removed", "٢٠٢٦-11-23T08:00:00Z"]),
    st.datetimes(timezones=st.none() | st.timezones()),
    st.lists(st.one_of(st.floats(0, 1), st.integers(-1, 2), st.text(max_size=2)), max_size=3),
    st.tuples(st.floats(0, 1)),
)  # fmt: skip


def _nodes(node):
    """Every object and array in a schema."""
    yield node
    for child in node.values() if isinstance(node, dict) else node if isinstance(node, list) else ():
        yield from _nodes(child)


@settings(max_examples=500, deadline=None)
@given(kind=st.sampled_from(contracts.KINDS), changes=st.dictionaries(st.sampled_from(sorted({k for g in GOOD.values() for k in g} | {"x"})), value, max_size=4), drop=st.sets(st.text(max_size=0) | st.sampled_from(["url", "html", "text", "category"]), max_size=2))  # fmt: skip
def test_the_compiled_contract_agrees_with_jsonschema(kind, changes, drop):
    record = {k: v for k, v in {**GOOD[kind], **changes}.items() if k not in drop}
    contract = contracts.contract(kind)
    reference = contract._validator.is_valid(compiled.as_json(record))
    accepted = contract._compiled.accepts(record)
    assert reference or not accepted, record
    # NaN (not JSON) and tuples (arrays to the Rust side) are left to jsonschema by design
    handed_off = any(isinstance(v, tuple) or v != v for v in _nodes(list(record.values())))
    assert accepted == reference or handed_off, record
    assert (contract.check(record) is None) == reference


# -- one contract, checked at the door --------------------------------------------------------------------


def _parses(text) -> bool:
    try:
        parse_timestamp(text)
    except ValueError:
        return False
    return True


@settings(max_examples=400, deadline=None)
@given(
    st.one_of(
        st.text(max_size=40),
        st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,10})?)?(Z|[+-][0-9]{2}:?[0-9]{2})?\Z"),
        st.from_regex(r"\A(Mon|Sun), [0-9]{1,2} (Nov|Feb) [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} (GMT|UTC)\Z"),
        st.datetimes().map(lambda d: d.isoformat()),
        st.sampled_from(["20261123T081502Z", "2026-W48-1", "2026-327", "2026-11-23", " 2026-11-23T08:00:00Z ", "\x1f2026-11-23T08:00:00Z\x85", "\ufeff2026-11-23T08:00:00Z", "2026-11-23T08:00:00Z\n", "٢٠٢٦-11-23T08:00:00Z"]),
        around(["2026-11-23T08:00:00Z", "2026-11-23 08:00", "Mon, 23 Nov 2026 08:15:02 GMT"]),
    )
)  # fmt: skip
def test_the_raw_contract_takes_exactly_the_timestamps_the_parser_does(text):
    """The contract's crawl-timestamp format is the parser: jsonschema and the compiled copy agree with it."""
    record = {**GOOD["raw"], "timestamp": text}
    contract = contracts.contract("raw")
    assert contract._validator.is_valid(record) == _parses(text)
    assert contract._compiled.accepts(record) == _parses(text)
    assert (contract.check(record) is None) == _parses(text)
    assert (contracts.contract("raw", ("url", "timestamp")).check(record) is None) == _parses(text)


def test_a_bad_timestamp_breaks_the_raw_contract_by_its_format():
    found = contracts.contract("raw").check({**GOOD["raw"], "timestamp": "20261123T081502Z"})
    assert found.reason() == "contract:timestamp:format"


def test_every_form_ingest_accepts_passes_every_later_stage(tmp_path):
    """Tricky timestamps and hosts: each is quarantined at ingest, or goes through url-normalization and
    html-parsing without a single quarantine there."""
    from test_ingest import ACCEPTED_TIMESTAMPS, REJECTED_TIMESTAMPS
    from test_urls import TRICKY_HOSTS

    good_urls = [url for url, expected in TRICKY_HOSTS if "://" in expected]
    bad_urls = [url for url, expected in TRICKY_HOSTS if "://" not in expected]
    cases = [(f"https://news.example/t/{i}", ts) for i, ts in enumerate(ACCEPTED_TIMESTAMPS)]
    cases += [(url, "2026-11-23T08:00:00Z") for url in good_urls]
    bad = [(f"https://news.example/bad/{i}", ts) for i, ts in enumerate(REJECTED_TIMESTAMPS)]
    bad += [(url, "2026-11-23T08:00:00Z") for url in bad_urls]
    path = tmp_path / "crawl.jsonl"
    with open(path, "w") as out:
        for i, (url, timestamp) in enumerate(cases + bad):
            html = (
                f"<html><head><title>Story number {i} of the day</title></head><body><article>"
                f"<p>Words about story {i} happen here, at some length.</p></article></body></html>"
            )
            out.write(json.dumps({"url": url, "html": html, "timestamp": timestamp}) + "\n")
    store_uri = f"file://{tmp_path / 'store'}"
    result = run_cli(
        "medallion", "run", "--store", store_uri, "--date", DAY, "--input", str(path),
        "--until", "html-parsing", "--warn-only",  # most lines are meant to be quarantined
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    store = open_store(store_uri)

    def stats(stage):
        return datasets.Dataset.open(store, pipeline.dataset_key(pipeline.stage(stage), DAY)).meta[
            "statistics"
        ]

    raw = stats("raw")
    assert raw["rows"] == len(cases)
    assert raw["quarantined"]["by_reason"] == {
        "invalid-timestamp": len(REJECTED_TIMESTAMPS),
        "invalid-url": len(bad_urls),
    }
    for stage in ("url-normalization", "html-parsing"):
        assert stats(stage)["quarantined"]["total"] == 0, (stage, stats(stage)["quarantined"])
    silver = stats("url-normalization")
    assert silver["rows"] + sum(silver["duplicates_removed"]["by_reason"].values()) == len(cases)
    assert stats("html-parsing")["rows"] == silver["rows"]
