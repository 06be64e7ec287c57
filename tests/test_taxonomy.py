"""The label set is configuration: taxonomy.yaml in the configuration folder, checked when it is read, the one
source of categories outside the demo, and recorded in the sidecars of the stages whose rows carry one."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import run_cli

from medallion.core import taxonomy
from medallion.core.config import CONFIG_DIR
from medallion.runtime.quality_gates import QualityConfigError, load_config

REPO = Path(__file__).resolve().parent.parent


def write(folder: Path, categories) -> Path:
    path = folder / "taxonomy.yaml"
    path.write_text(yaml.safe_dump({"categories": categories}))
    return path


def test_the_default_taxonomy_is_the_demos_six_categories():
    from medallion.demo.vocabulary import CATEGORIES

    default = taxonomy.load(CONFIG_DIR / "taxonomy.yaml")
    assert default.names == CATEGORIES
    assert all(c.description for c in default.categories)
    assert default.describe() == {
        "path": "medallion/config/taxonomy.yaml",
        "sha1": default.sha1,
        "categories": taxonomy.as_entries(default.categories),
    }
    assert [c["name"] for c in default.describe()["categories"]] == list(CATEGORIES)


@pytest.mark.parametrize(
    "categories, message",
    [
        ([{"name": "a", "description": "x"}], "at least two"),
        ([{"name": "a", "description": "x"}, {"name": "a", "description": "y"}], "'a' is listed twice"),
        ([{"name": "a", "description": "x"}, {"name": "b"}], "(b): a description is required"),
        ([{"name": "a", "description": "x"}, {"name": " b", "description": "y"}], "name must be 1 to 64"),
        (
            [{"name": "a", "description": "x"}, {"name": "b", "description": "y", "colour": 1}],
            "category 2 must be",
        ),
        ([{"name": "a", "description": "x"}, {"name": "b", "description": "y", "examples": "z"}], "examples"),
    ],
)
def test_a_malformed_taxonomy_says_which_entry_to_fix(tmp_path, categories, message):
    with pytest.raises(taxonomy.TaxonomyError) as caught:
        taxonomy.load(write(tmp_path, categories))
    assert message in str(caught.value) and "taxonomy.yaml" in str(caught.value)


def test_a_missing_taxonomy_names_the_folder_to_fix(tmp_path):
    with pytest.raises(taxonomy.TaxonomyError, match="must hold taxonomy.yaml"):
        taxonomy.load(tmp_path / "taxonomy.yaml")


def test_categories_left_in_the_quality_configuration_are_pointed_to_the_taxonomy(tmp_path):
    gates = yaml.safe_load((CONFIG_DIR / "quality.yaml").read_text())
    (tmp_path / "quality.yaml").write_text(yaml.safe_dump({**gates, "categories": ["a", "b"]}))
    with pytest.raises(QualityConfigError, match="move them to taxonomy.yaml"):
        load_config(tmp_path / "quality.yaml")


def test_only_the_demo_and_its_command_know_the_demos_categories():
    """No module outside medallion/demo and `medallion demo` imports from the demo generator."""
    allowed = {"medallion/cli/demo.py", "medallion/cli/__init__.py"}  # `medallion demo`, `labeler serve`
    offenders = []
    for package in ("medallion", "steps", "workflows"):
        for path in (REPO / package).rglob("*.py"):
            rel = path.relative_to(REPO).as_posix()
            if rel.startswith("medallion/demo/") or rel in allowed:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
                names += [a.name for a in node.names] if isinstance(node, ast.Import) else []
                offenders += [f"{rel}: {n}" for n in names if n.startswith("medallion.demo")]
    assert not offenders


def test_config_dir_names_the_folder_for_a_step_and_a_run(tmp_path):
    own = tmp_path / "own"
    shutil.copytree(CONFIG_DIR, own)
    (own / "taxonomy.yaml").unlink()
    missing = run_cli(
        "-m",
        "steps.annotation",
        "--store",
        str(tmp_path / "s"),
        "--date",
        "2026-11-23",
        "--config-dir",
        str(own),
    )
    assert missing.returncode == 1
    assert f"cannot read the taxonomy {own / 'taxonomy.yaml'}" in missing.stderr.decode()
    nowhere = run_cli("medallion", "run", "--date", "2026-11-23", "--config-dir", str(tmp_path / "none"))
    assert nowhere.returncode == 2 and "--config-dir" in nowhere.stderr.decode()


def test_a_run_checks_the_taxonomy_before_the_first_stage(tmp_path):
    own = tmp_path / "own"
    shutil.copytree(CONFIG_DIR, own)
    write(own, [{"name": "a", "description": "x"}, {"name": "a", "description": "y"}])
    result = run_cli(
        "medallion", "run", "--store", str(tmp_path / "s"), "--date", "2026-11-23", "--config-dir", str(own)
    )
    assert result.returncode == 2, result.stderr.decode()
    assert "'a' is listed twice" in result.stderr.decode() and b"[raw]" not in result.stdout
