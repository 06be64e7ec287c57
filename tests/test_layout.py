"""The rooms of the code base and the rules between them: import-linter's contracts (pyproject.toml) hold,
a forbidden import breaks them, and no module grows past 400 lines."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
LINT = Path(sys.executable).with_name("lint-imports")
PACKAGES = ("medallion", "steps", "workflows")
MAX_LINES = 400


def lint(root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT), "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_no_module_is_longer_than_400_lines():
    long = {
        str(path.relative_to(REPO)): n
        for package in PACKAGES
        for path in sorted((REPO / package).rglob("*.py"))
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_the_import_contracts_hold():
    result = lint(REPO)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "broken" not in result.stdout.split("Contracts:")[-1].split("\n")[0].replace("0 broken", "")


@pytest.mark.parametrize(
    "module,line,contract",
    [
        ("steps/train.py", "from medallion import cli", "steps run on the runtime"),
        ("medallion/core/datasets.py", "from medallion.runtime import step", "medallion is layered"),
        ("medallion/transforms/urls.py", "from medallion.core import config", "medallion is layered"),
        ("workflows/stages.py", "from medallion.runtime import step", "workflows are generated"),
        ("medallion/core/store_interface.py", "from medallion.core import store_local", "no import cycles"),
    ],
)
def test_a_forbidden_import_breaks_its_contract(tmp_path, module, line, contract):
    for package in PACKAGES:
        shutil.copytree(REPO / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    with open(tmp_path / module, "a") as source:
        source.write(f"\n{line}  # noqa\n")
    result = lint(tmp_path)
    assert result.returncode != 0, result.stdout[-2000:]
    broken = result.stdout.split("Broken contracts")[-1]
    assert contract in broken, result.stdout[-3000:]
