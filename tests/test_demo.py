"""`medallion demo` on a small store: it runs twice, and its labels are known by the labeler's name."""

from __future__ import annotations

import pytest
from conftest import run_cli

from medallion.core import datasets, pipeline
from medallion.core.store import open_store

pytestmark = [pytest.mark.xdist_group("demo"), pytest.mark.slow]
DAY = "2026-11-23"
STAGES = [
    "raw",
    "url-normalization",
    "html-parsing",
    "text-normalization/v1",
    "text-normalization/v2",
    "annotated",
    "train",
    "post-train",
]
# No labeling API set: the demo starts its own, and nothing else may need one.
NO_LABELER = {"LABELER_URL": "", "LABELER_TOKEN": "", "LABELER_NAME": ""}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A store the demo built once: (store URI, environment, the first run's output)."""
    root = tmp_path_factory.mktemp("demo")
    env = {**NO_LABELER, "MLFLOW_TRACKING_URI": f"sqlite:///{root / 'mlflow.db'}"}
    store = f"file://{root / 'data'}"
    first = run_cli(
        "medallion", "demo", "--store", store, "--date", DAY, "--documents", "120", env=env, cwd=root
    )
    assert first.returncode == 0, first.stderr.decode()[-2000:]
    return store, env, root


def up_to_date(output: bytes) -> list[str]:
    return [line.split("]")[0][1:] for line in output.decode().splitlines() if "] up to date: " in line]


def annotated_uri(store: str) -> str:
    return f"{store}/{pipeline.dataset_key(pipeline.stage('annotated'), DAY)}"


def test_the_demo_runs_twice_and_the_second_run_is_up_to_date(demo):
    store, env, root = demo
    second = run_cli(
        "medallion", "demo", "--store", store, "--date", DAY, "--documents", "120", env=env, cwd=root
    )
    assert second.returncode == 0, second.stderr.decode()[-2000:]
    assert up_to_date(second.stdout) == STAGES
    assert b"wrote " not in second.stdout and b"paid for" not in second.stdout
    # The labeler's port changed; its name did not, and only the name is the labels' identity.
    meta = datasets.read_meta(open_store(store), pipeline.dataset_key(pipeline.stage("annotated"), DAY))
    assert meta["parameters"]["labeler"] == "reference-labeler"
    (api,) = [s for s in meta["sources"] if s["kind"] == "api"]
    assert api["uri"] == "labeler:reference-labeler" and api["url"].startswith("http://127.0.0.1:")


def test_medallion_run_after_the_demo_needs_no_labeler_settings(demo):
    store, env, root = demo
    crawl = f"{store}/{pipeline.landing_key(DAY)}"
    rerun = run_cli("medallion", "run", "--store", store, "--date", DAY, "--input", crawl, env=env, cwd=root)
    assert rerun.returncode == 0, rerun.stderr.decode()[-2000:]
    assert up_to_date(rerun.stdout) == STAGES
    # Rebuilding does need the API: the committed labeler is only assumed for the up-to-date check.
    forced = run_cli("-m", "steps.annotation", "--store", store, "--date", DAY, "--force", env=env)
    err = forced.stderr.decode()
    assert forced.returncode == 1 and "LABELER_URL is not set" in err and "Traceback" not in err


def test_another_labeler_name_is_refused_and_reproduce_stays_identical(demo, tmp_path):
    store, env, root = demo
    meta = datasets.read_meta(open_store(store), pipeline.dataset_key(pipeline.stage("annotated"), DAY))
    other = {**env, "LABELER_NAME": "other-labeler"}
    refused = run_cli("-m", "steps.annotation", "--store", store, "--date", DAY, env=other)
    err = refused.stderr.decode()
    assert refused.returncode == 1 and "Traceback" not in err
    assert "'reference-labeler'" in err and "'other-labeler'" in err and "--force" in err
    # With --force it is another labeler indeed: none of its labels are cached, so the API is needed.
    forced = run_cli("-m", "steps.annotation", "--store", store, "--date", DAY, "--force", env=other)
    assert forced.returncode == 1 and b"LABELER_URL is not set" in forced.stderr
    after = datasets.read_meta(open_store(store), pipeline.dataset_key(pipeline.stage("annotated"), DAY))
    assert after["sha1"] == meta["sha1"] and after["created_at"] == meta["created_at"]
    reproduced = run_cli(
        "medallion", "reproduce", annotated_uri(store), "--scratch", str(tmp_path / "s"), env=env
    )
    out = reproduced.stdout.decode()
    assert reproduced.returncode == 0 and "identical: " in out, out[-2000:] + reproduced.stderr.decode()


def test_reproduce_replays_every_stage_param_from_the_sidecar(demo, tmp_path):
    """Each stage's own replay hook turns its recorded sidecar back into its options: every Stage.param
    of the pipeline table comes back with the value the run recorded."""
    from medallion.core.store_local import LocalStore
    from medallion.tools.reproduce import replay_args

    store_uri, _env, _root = demo
    store = open_store(store_uri)
    recorded = {"raw": None, "url-normalization": "canonical-url,title", "text-normalization": "v2"}
    recorded |= {"annotated": None, "post-train": "remove"}
    for stage in pipeline.STAGES:
        meta = datasets.read_meta(store, pipeline.dataset_key(stage, DAY, "v2" if stage.versioned else None))
        argv, _ = replay_args(meta, store, LocalStore(tmp_path))
        for param in stage.params:
            if param.name in others_params(meta):  # another label source's (--llm-model of llm)
                continue
            assert param.option in argv, f"{stage.name}: the replay lacks {param.option}: {argv}"
            value = argv[argv.index(param.option) + 1]
            assert value, f"{stage.name}: {param.option} replays empty"
        if recorded.get(stage.name) and stage.params:
            assert argv[argv.index(stage.params[0].option) + 1] == recorded[stage.name]
    annotated = datasets.read_meta(store, pipeline.dataset_key(pipeline.stage("annotated"), DAY))
    argv, env = replay_args(annotated, store, LocalStore(tmp_path))
    assert argv[argv.index("--version") + 1] == "v2" and argv[argv.index("--label-source") + 1] == "api"
    assert env == {"LABELER_NAME": "reference-labeler", "LABELER_URL": ""}
    assert any(LocalStore(tmp_path).list(pipeline.LABEL_CACHE_ROOT + "/")), "the label cache was not brought"


def others_params(meta: dict) -> set[str]:
    """The Params only the label sources other than the one ``meta`` records take."""
    import steps.annotation  # noqa: F401 -- registers every label source
    from medallion.labeling import sources

    used = (meta.get("parameters") or {}).get("label_source")
    return {p for kind, cls in sources.SOURCES.items() if kind != used for p in cls.params}


def test_reproduce_labels_under_the_recorded_taxonomy(demo, tmp_path):
    """The sidecar holds the whole label set: a reproduction uses it, whatever the configuration says now."""
    import shutil

    import yaml

    from medallion.core.config import CONFIG_DIR

    store, env, _root = demo
    own = tmp_path / "own"
    shutil.copytree(CONFIG_DIR, own)
    labels = [{"name": name, "description": f"about {name}"} for name in ("billing", "shipping")]
    (own / "taxonomy.yaml").write_text(yaml.safe_dump({"categories": labels}))
    meta = datasets.read_meta(open_store(store), pipeline.dataset_key(pipeline.stage("annotated"), DAY))
    assert [c["name"] for c in meta["taxonomy"]["categories"]][:2] == ["business", "health"]
    reproduced = run_cli(
        "medallion", "reproduce", annotated_uri(store), "--scratch", str(tmp_path / "s"),
        env={**env, "MEDALLION_CONFIG_DIR": str(own)},
    )  # fmt: skip
    out = reproduced.stdout.decode()
    assert reproduced.returncode == 0 and "identical: " in out, out[-2000:] + reproduced.stderr.decode()
