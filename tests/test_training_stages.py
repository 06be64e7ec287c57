"""train and post-train through their real CLIs: MLflow records the inputs, cleanlab cleans, lineage holds."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import free_port, run_cli, wait_for_port

from medallion.core import datasets, pipeline
from medallion.core.store import open_store

DAY = "2026-11-23"
pytestmark = [pytest.mark.xdist_group("s3"), pytest.mark.slow]


@pytest.fixture(scope="module")
def gold(tmp_path_factory, labeler_service):
    """A store built through the gold layer once, with 8% label noise from the reference labeler."""
    from medallion.demo.synthetic import CrawlSpec, write_crawl

    root = tmp_path_factory.mktemp("gold")
    crawl = root / "crawl.jsonl"
    with open(crawl, "w") as out:
        write_crawl(CrawlSpec(date=DAY, documents=400, seed=21), out)
    store = f"file://{root / 'store'}"
    env = {"LABELER_URL": labeler_service.url, "LABELER_TOKEN": labeler_service.token}
    result = run_cli(
        "medallion",
        "run",
        "--store",
        store,
        "--date",
        DAY,
        "--input",
        str(crawl),
        "--until",
        "annotated",
        env=env,
    )
    assert result.returncode == 0, result.stderr.decode()
    return root / "store"


@pytest.fixture
def store(gold, tmp_path):
    import shutil

    shutil.copytree(gold, tmp_path / "store")
    return f"file://{tmp_path / 'store'}"


def meta(store: str, stage: str, name: str | None = None) -> dict:
    st = pipeline.stage(stage)
    key = pipeline.dataset_dir(st, DAY) + (name or st.dataset)
    return datasets.Dataset.open(open_store(store), key).meta


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("mlflow")
    port = free_port()
    exe = Path(sys.executable).parent / "mlflow"
    proc = subprocess.Popen(
        [
            str(exe),
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--backend-store-uri",
            f"sqlite:///{root / 'mlflow.db'}",
            "--artifacts-destination",
            str(root / "artifacts"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ},
    )
    try:
        wait_for_port(port, timeout=60)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_train_logs_its_inputs_to_a_real_mlflow_server(store, mlflow_server):
    result = run_cli(
        "-m", "steps.train", "--store", store, "--date", DAY, env={"MLFLOW_TRACKING_URI": mlflow_server}
    )
    assert result.returncode == 0, result.stderr.decode()[-3000:]
    trained = meta(store, "train")
    gold = meta(store, "annotated")
    assert trained["statistics"]["metrics"]["cv_accuracy"] > 0.7
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=mlflow_server)
    run = client.get_run(trained["statistics"]["mlflow_run_id"])
    assert run.data.params["annotated.sha1"] == gold["sha1"]
    assert run.data.params["text_normalization_version"] == "v2"
    assert "cv_macro_f1" in run.data.metrics and "label_issues" in run.data.metrics
    (dataset_input,) = run.inputs.dataset_inputs
    assert dataset_input.dataset.digest == gold["sha1"][:36]
    assert f'"{store}/html-classification/annotated/{DAY}/documents.parquet"' in dataset_input.dataset.source
    assert {t.key: t.value for t in dataset_input.tags}["sha1"] == gold["sha1"]
    artifacts = [a.path for a in client.list_artifacts(run.info.run_id, "sidecars")]
    assert artifacts == ["sidecars/annotated.meta.yaml"]


def test_post_train_removes_or_relabels_flagged_rows(store):
    assert run_cli("-m", "steps.train", "--store", store, "--date", DAY).returncode == 0
    removed = run_cli("-m", "steps.post_train", "--store", store, "--date", DAY)
    assert removed.returncode == 0, removed.stderr.decode()[-3000:]
    post = meta(store, "post-train")
    issues = meta(store, "post-train", "label-issues.parquet")
    stats = post["statistics"]
    assert (
        stats["label_issues"]
        == issues["statistics"]["rows"]
        == stats["quarantined"]["by_reason"]["label-issue"]
    )
    assert sum(stats["issues_per_class"].values()) == stats["label_issues"]
    relabel = run_cli(
        "-m", "steps.post_train", "--store", store, "--date", DAY, "--mode", "relabel", "--force"
    )
    assert relabel.returncode == 0, relabel.stderr.decode()[-3000:]
    post = meta(store, "post-train")
    assert post["statistics"]["actions"]["relabeled"] == post["statistics"]["label_issues"]
    rows = list(
        datasets.Dataset.open(
            open_store(store), pipeline.dataset_key(pipeline.stage("post-train"), DAY)
        ).records()
    )
    relabeled = [r for r in rows if r["original_category"]]
    assert len(relabeled) == post["statistics"]["label_issues"] and all(
        r["label_source"] == "cleanlab" for r in relabeled
    )


def test_post_train_lineage_chains_back_to_raw(store):
    assert run_cli("-m", "steps.train", "--store", store, "--date", DAY).returncode == 0
    assert run_cli("-m", "steps.post_train", "--store", store, "--date", DAY).returncode == 0
    stages_seen, todo = set(), [meta(store, "post-train")]
    while todo:
        current = todo.pop()
        stages_seen.add(current["stage"]["name"])
        for source in current["sources"]:
            if source["kind"] == "dataset":
                st, key = source["uri"], None
                from medallion.core.store import split_uri

                s, key = split_uri(st)
                upstream = datasets.Dataset.open(s, key).meta
                assert upstream["sha1"] == source["sha1"]
                todo.append(upstream)
    assert stages_seen >= {
        "raw",
        "url-normalization",
        "html-parsing",
        "text-normalization",
        "annotated",
        "train",
        "post-train",
    }


def test_two_trainings_creating_one_tracking_database_at_once_both_succeed(gold, tmp_path):
    """Two runs that find no MLflow database yet create it once between them (its migrations would race)."""
    import shutil

    tracking = f"sqlite:///{tmp_path / 'mlflow' / 'mlflow.db'}"
    (tmp_path / "mlflow").mkdir()
    procs = []
    for n in range(2):
        shutil.copytree(gold, tmp_path / f"store-{n}")
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "steps.train", "--store", f"file://{tmp_path / f'store-{n}'}"]
                + ["--date", DAY],
                env={**os.environ, "MLFLOW_TRACKING_URI": tracking},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        )
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()[-3000:]


def test_an_unexpected_failure_is_one_line_and_debug_shows_the_traceback(store, tmp_path):
    """A library's own error (here SQLAlchemy on a tracking database that is no database) is one line that
    says it is a bug; MEDALLION_DEBUG=1 shows the traceback."""
    garbage = tmp_path / "not-a-database.db"
    garbage.write_bytes(b"this is not SQLite\n" * 100)
    env = {"MLFLOW_TRACKING_URI": f"sqlite:///{garbage}"}
    result = run_cli("-m", "steps.train", "--store", store, "--date", DAY, env=env)
    err = result.stderr.decode()
    assert result.returncode == 1 and "Traceback" not in err, err[-3000:]
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: [train] unexpected ") and "MEDALLION_DEBUG=1" in last, last
    debug = run_cli("-m", "steps.train", "--store", store, "--date", DAY, env={**env, "MEDALLION_DEBUG": "1"})
    assert debug.returncode != 0 and "Traceback" in debug.stderr.decode()
