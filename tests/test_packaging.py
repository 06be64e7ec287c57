"""A non-editable install runs: the wheel carries the contracts and the default configuration as package
data, so `medallion demo` works from any folder, and code_version is the same installed as in a checkout."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import yaml

from medallion.core.pipeline import STAGES

REPO = Path(__file__).resolve().parent.parent
UV = REPO / "tools" / "bin" / "uv"
# The machine's python3 and uv's warm cache (make venv): nothing is downloaded.
UV_ENV = {"UV_PYTHON": "python3", "UV_PYTHON_DOWNLOADS": "never", "UV_OFFLINE": "1", "UV_NO_PROGRESS": "1"}
SOURCES = ("pyproject.toml", "uv.lock", "README.md", "medallion", "steps", "workflows")
DAY = "2026-11-23"


def run(command: list, timeout: float, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, **kwargs)
    assert result.returncode == 0, f"{command[:3]} failed:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    return result


def code_versions(python: list, bootstrap: str = "", **kwargs) -> dict[str, str]:
    """code_version of every stage as ``python -c`` computes it, after ``bootstrap`` set up its path."""
    probe = (
        bootstrap + "from medallion.core.sidecar import code_version\n"
        f"for module in {[stage.module for stage in STAGES]!r}: print(module, code_version(module))"
    )
    lines = run([*python, "-c", probe], timeout=60, **kwargs).stdout.split("\n")
    return dict(line.split() for line in lines if line.strip())


@pytest.fixture
def uv():
    if not UV.is_file():
        if os.environ.get("CI"):
            pytest.fail("tools/bin/uv is missing: run `make venv` (tools/fetch-tools.sh uv)")
        pytest.skip("tools/bin/uv is missing: run `make venv` to fetch it")
    return str(UV)


@pytest.mark.slow
def test_the_installed_wheel_runs_the_demo_from_an_empty_folder(tmp_path, uv):
    # Build from a copy of what the wheel is made of: nothing else of the checkout can leak in, and the
    # build's folders land outside the repo.
    source = tmp_path / "source"
    source.mkdir()
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(REPO / name, source / name)
    env = {**os.environ, **UV_ENV}
    env.pop("VIRTUAL_ENV", None)
    run([uv, "build", "--wheel", "--out-dir", tmp_path / "dist", source], timeout=180, env=env)
    (wheel,) = (tmp_path / "dist").glob("html_classification-*.whl")

    venv = tmp_path / "venv"
    run([uv, "venv", "--quiet", "--python", "python3", venv], timeout=60, env=env)
    locked = {**env, "UV_PROJECT_ENVIRONMENT": str(venv)}  # the lock's runtime packages, not dev ones
    run(
        [uv, "sync", "--frozen", "--no-dev", "--no-install-project", "--quiet", "--project", source],
        300,
        env=locked,
    )
    run(
        [uv, "pip", "install", "--quiet", "--no-deps", "--python", venv / "bin" / "python", wheel],
        120,
        env=env,
    )

    empty = tmp_path / "elsewhere"
    empty.mkdir()
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("MEDALLION_", "PYTHON", "VIRTUAL_ENV"))}
    store = tmp_path / "store"
    demo = run(
        [
            venv / "bin" / "medallion",
            "demo",
            "--store",
            f"file://{store}",
            "--documents",
            "60",
            "--date",
            DAY,
        ],
        timeout=300,
        cwd=empty,
        env=clean,
    )
    assert "annotated" in demo.stdout
    annotated = next(stage for stage in STAGES if stage.name == "annotated")
    data = store / "html-classification" / annotated.path / DAY / annotated.dataset
    assert data.is_file(), f"no annotated dataset at {data}:\n{demo.stdout[-2000:]}"
    meta = yaml.safe_load(data.with_name(data.name + ".meta.yaml").read_text())
    assert not any(empty.iterdir()), "the demo wrote into the working folder"

    installed = venv / "bin" / "python"
    where = run([installed, "-c", "import medallion; print(medallion.__file__)"], 30, cwd=empty, env=clean)
    assert Path(where.stdout.strip()).is_relative_to(venv), f"medallion came from {where.stdout}"
    # The same digest installed as in the checkout it was built from (paths relative to the package root):
    # the checkout's run by this venv's interpreter with the copy first on the path and without the
    # editable install's hook (-S skips site, -I the environment).
    site = sysconfig.get_paths()["purelib"]
    bootstrap = f"import sys; sys.path[:0] = [{str(source)!r}]; sys.path.append({site!r})\n"
    expected = code_versions([sys.executable, "-I", "-S"], bootstrap, cwd=empty)
    assert code_versions([installed], cwd=empty, env=clean) == expected
    assert meta["code_version"] == expected[annotated.module]
