"""code_version per stage: a stage's datasets go out of date only when code it imports changes."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from medallion.core import pipeline, sidecar

REPO = Path(__file__).resolve().parent.parent
DAY = "2026-11-23"


def test_the_digest_covers_the_stage_programs_import_closure():
    files = {path.relative_to(REPO).as_posix() for path in sidecar.import_closure("steps.html_parsing")}
    names = {path.rsplit("/", 1)[-1] for path in files}
    assert {"html_parsing.py", "extract.py", "step.py", "store.py", "contracts.py"} <= names
    assert not names & {"catalog.py", "textnorm.py", "training.py"}
    assert "medallion/runtime/lineage.py" in files  # the steps' OpenLineage events, not the lineage command
    assert "medallion/tools/lineage.py" not in files
    assert not [f for f in files if f.startswith(("medallion/cli/", "medallion/tools/", "medallion/demo/"))]
    versions = {stage.name: sidecar.code_version(stage.module) for stage in pipeline.STAGES}
    assert len(set(versions.values())) == len(versions)  # each stage's program is its own


def test_imports_are_found_in_every_kind_of_nested_statement(tmp_path):
    source = tmp_path / "module.py"
    source.write_text(
        "import a\n"
        "def f():\n"
        "    if x:\n"
        "        import b\n"
        "    else:\n"
        "        from . import c\n"
        "class K:\n"
        "    def g(self):\n"
        "        with y:\n"
        "            for _ in z:\n"
        "                from .. import d\n"
        "try:\n"
        "    import e\n"
        "except ImportError:\n"
        "    import f\n"
        "finally:\n"
        "    import g\n"
        "match v:\n"
        "    case 1:\n"
        "        import h\n"
        "x = [__import__('not_a_statement')]\n"
    )
    names = sidecar._imports(source, "pkg.sub")
    assert set(names) == {"a", "b", "pkg.sub", "pkg.sub.c", "pkg", "pkg.d", "e", "f", "g", "h"}


def run(repo: Path, store: Path, crawl: Path) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "medallion.cli", "run", "--store", f"file://{store}", "--date", DAY]
        + ["--input", str(crawl), "--until", "text-normalization"],
        cwd=repo,  # python -m puts the copy first on the path: its sources are the ones that run
        capture_output=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr.decode()[-3000:]
    return result.stdout.decode()


@pytest.mark.slow
def test_editing_a_module_rebuilds_only_the_stages_that_import_it(tmp_path, small_crawl):
    repo = tmp_path / "repo"
    for folder in ("medallion", "steps"):
        shutil.copytree(REPO / folder, repo / folder, ignore=shutil.ignore_patterns("__pycache__"))
    store = tmp_path / "store"
    first = run(repo, store, small_crawl)
    assert first.count("wrote") == 5

    with open(repo / "medallion" / "tools" / "catalog.py", "a") as module:  # no stage imports the catalog
        module.write("\n# an edit\n")
    assert run(repo, store, small_crawl).count("up to date") == 5

    with open(
        repo / "medallion" / "transforms" / "extract.py", "a"
    ) as module:  # html-parsing's extractor, same output
        module.write("\n# an edit\n")
    again = run(repo, store, small_crawl)
    assert "[raw] up to date" in again and "[url-normalization] up to date" in again
    assert "[html-parsing] wrote" in again  # rebuilt, byte-identical: what it feeds stays up to date
    assert "[text-normalization/v1] up to date" in again and "[text-normalization/v2] up to date" in again

    with open(
        repo / "medallion" / "transforms" / "extract.py", "a"
    ) as module:  # an extractor that extracts otherwise
        module.write(
            "\n_judge = judge\n\n\ndef judge(*args, **kwargs):\n"
            "    return [dataclasses.replace(p, content=p.content + ' (edited)') for p in _judge(*args, **kwargs)]\n"
            "\n\nimport dataclasses  # noqa: E402\n"
        )
    changed = run(repo, store, small_crawl)
    assert "[url-normalization] up to date" in changed and "[html-parsing] wrote" in changed
    assert "[text-normalization/v1] wrote" in changed and "[text-normalization/v2] wrote" in changed
