"""Each stage image installs exactly what its code imports (nothing missing, nothing heavy it does not use)
and carries exactly the files its code_version digests, built by one Dockerfile for every stage."""

from __future__ import annotations

import ast
import importlib.metadata as md
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from medallion.core import sidecar
from medallion.core.config import CONFIG_DIR, SOURCE_ROOT
from medallion.core.pipeline import IMAGE_STAGES as STAGES  # every stage with an image of its own

REPO = Path(__file__).resolve().parent.parent
HEAVY = {"cleanlab", "scikit-learn", "mlflow", "pandas", "hera", "torch"}
# Imported only by commands that never run in an image (rendering workflows, the synthetic demo crawl).
NOT_IN_IMAGES = {"workflows", "hera", "yaml_include"}


def requirements(name: str) -> dict[str, str]:
    pins = {}
    for line in (REPO / "images" / "requirements" / f"{name}.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            dist, version = line.split(" ")[0].split("==")
            pins[canonical(dist)] = version
    return pins


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def module_file(name: str) -> Path | None:
    parts = name.split(".")
    if parts[0] not in ("medallion", "steps"):
        return None
    path = REPO.joinpath(*parts)
    if path.with_suffix(".py").is_file():
        return path.with_suffix(".py")
    if (path / "__init__.py").is_file():
        return path / "__init__.py"
    return None


def third_party_imports(module: str, root_lazy: bool = True) -> set[str]:
    """Top-level third-party packages a module imports, following the project's own modules.

    ``root_lazy=False``: the imports inside the functions of the root module and of its submodules are not
    followed (a command line, module or package, whose other commands never run in the image)."""
    seen, found, todo = set(), set(), [module]
    while todo:
        name = todo.pop()
        path = module_file(name)
        if path is None or path in seen:
            continue
        tree = ast.parse(path.read_text())
        eager_only = not root_lazy and (name == module or name.startswith(f"{module}."))
        nodes = tree.body if eager_only else ast.walk(tree)
        seen.add(path)
        for node in nodes:
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            for imported in names:
                top = imported.split(".")[0]
                if top in ("medallion", "steps"):
                    todo.append(imported)
                elif top not in sys.stdlib_module_names and top != "__future__":
                    found.add(top)
    return found - NOT_IN_IMAGES


def distributions_of(packages: set[str], pins: dict | None = None) -> set[str]:
    """The distributions providing ``packages``; where several provide one (mlflow, mlflow-skinny), the one
    pinned when ``pins`` is given."""
    mapping = md.packages_distributions()
    found = set()
    for package in packages:
        candidates = [canonical(d) for d in mapping.get(package, [package])]
        chosen = [c for c in candidates if pins is not None and c in pins]
        found.update(chosen[:1] or candidates[:1])
    return found


def closure_ok(pins: dict[str, str]) -> list[str]:
    """Every runtime dependency of every pinned distribution is pinned too (images install with --no-deps)."""
    missing = []
    for dist in pins:
        for spec in md.requires(dist) or []:
            requirement = Requirement(spec)
            if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
                continue
            if canonical(requirement.name) not in pins:
                missing.append(f"{dist} needs {requirement.name}")
    return missing


@pytest.mark.parametrize("stage", STAGES, ids=lambda s: s.name)
def test_stage_image_covers_its_imports(stage):
    pins = {**requirements("base"), **requirements(stage.name)}
    needed = distributions_of(third_party_imports(stage.module), pins)
    assert needed <= set(pins), f"images/requirements/{stage.name}.txt lacks {sorted(needed - set(pins))}"
    assert closure_ok(pins) == []
    for dist, version in pins.items():
        assert md.version(dist) == version, (
            f"{dist} pinned {version} but the project tests {md.version(dist)}"
        )
    heavy = set(pins) & HEAVY
    assert heavy <= dependency_closure(needed), (
        f"heavy packages the {stage.name} stage does not need: {heavy}"
    )


def dependency_closure(names: set[str]) -> set[str]:
    """The distributions and everything they need at run time."""
    seen, todo = set(), list(names)
    while todo:
        name = canonical(todo.pop())
        if name in seen:
            continue
        seen.add(name)
        for spec in md.requires(name) or []:
            requirement = Requirement(spec)
            if not requirement.marker or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return seen


def test_stage_images_carry_nothing_they_do_not_import():
    base = set(requirements("base"))
    for stage in STAGES:
        pins = {**requirements("base"), **requirements(stage.name)}
        extra = set(requirements(stage.name)) - base
        unused = extra - dependency_closure(distributions_of(third_party_imports(stage.module), pins))
        assert not unused, f"the {stage.name} image installs {unused} it does not import"


def test_image_requirements_are_generated_from_the_lock():
    """Every image's requirement file is what tools/image_requirements.py renders from uv.lock now."""
    sys.path.insert(0, str(REPO / "tools"))
    import image_requirements

    rendered = image_requirements.render()
    assert set(rendered) == {"base", *(stage.name for stage in STAGES)}
    for image, text in rendered.items():
        committed = (REPO / "images" / "requirements" / f"{image}.txt").read_text()
        assert committed == text, f"images/requirements/{image}.txt drifted from uv.lock: run 'make lock'"
    lock = image_requirements.load_lock()
    for image in rendered:
        for dist, version in requirements(image).items():
            assert lock[dist]["version"] == version, f"images/requirements/{image}.txt pins {dist} {version}"
        assert "--hash=sha256:" in rendered[image] or not requirements(image)


def test_image_requirements_check_fails_on_drift(tmp_path):
    """The generator's --check names a file that no longer matches the lock (a hand edit)."""
    import shutil

    copy = tmp_path / "repo"
    shutil.copytree(REPO / "images", copy / "images")
    shutil.copytree(REPO / "tools", copy / "tools", ignore=shutil.ignore_patterns("bin"))
    shutil.copy(REPO / "uv.lock", copy / "uv.lock")
    script = [sys.executable, str(copy / "tools" / "image_requirements.py"), "--check"]
    assert subprocess.run(script, capture_output=True).returncode == 0
    path = copy / "images" / "requirements" / "base.txt"
    path.write_text(path.read_text().replace("boto3==", "boto3==0.0.0 # was ", 1))
    result = subprocess.run(script, capture_output=True, text=True)
    assert result.returncode == 1
    assert "images/requirements/base.txt differ from uv.lock: run 'make lock'" in result.stderr


def test_locked_environment_is_what_runs():
    """The venv holds exactly the lock's versions: no package floats (the lock is the truth)."""
    sys.path.insert(0, str(REPO / "tools"))
    import image_requirements

    lock = image_requirements.load_lock()
    drift = []
    for dist in md.distributions():
        name = canonical(dist.metadata["Name"])
        if name in lock and name != "html-classification" and lock[name]["version"] != dist.version:
            drift.append(f"{name} {dist.version} installed, {lock[name]['version']} locked")
        elif name not in lock:
            drift.append(f"{name} {dist.version} installed but not in uv.lock")
    assert not drift, drift


def test_base_image_is_slim_and_non_root():
    dockerfile = (REPO / "images" / "base" / "Dockerfile").read_text()
    assert "-slim" in dockerfile and "USER 10001" in dockerfile and ":latest" not in dockerfile
    assert closure_ok(requirements("base")) == []
    # The exit handler runs `python -m medallion.cli workflows exit-summary` in the base image.
    exit_handler = distributions_of(
        third_party_imports("medallion.cli", root_lazy=False) | third_party_imports("medallion.tools.argo")
    )
    assert exit_handler <= set(requirements("base")), sorted(exit_handler - set(requirements("base")))


# --- one Dockerfile for every stage, and build contexts that hold exactly what code_version digests --------


def image_context():
    sys.path.insert(0, str(REPO / "tools"))
    import image_context

    return image_context


def copied_sources(dockerfile: Path, stage: str) -> list[str]:
    """The context paths a Dockerfile's COPY instructions read, with ${STAGE} set."""
    sources = []
    for line in dockerfile.read_text().splitlines():
        if line.startswith("COPY "):
            words = [w for w in line.split()[1:] if not w.startswith("--")]
            sources += [w.replace("${STAGE}", stage) for w in words[:-1]]
    return sources


def test_one_dockerfile_builds_every_stage_by_build_argument():
    folders = {path.name for path in (REPO / "images").iterdir() if path.is_dir()} - {"contexts"}
    assert folders == {"base", "stage", "requirements"}, (
        "no per-stage image folders besides the one Dockerfile"
    )
    dockerfile = (REPO / "images" / "stage" / "Dockerfile").read_text()
    assert "ARG STAGE" in dockerfile and "FROM ${RUNTIME}" in dockerfile and "USER 10001" in dockerfile
    assert "medallion/" not in dockerfile.split("FROM", 1)[1].replace(
        "medallion/config", ""
    )  # no tree copies
    assert {path.stem for path in (REPO / "images" / "requirements").glob("*.txt")} == {
        "base",
        *(stage.name for stage in STAGES),
    }
    # `make images` assembles and builds every image of the pipeline table with this one Dockerfile.
    plan = subprocess.run(
        ["make", "-n", "-s", "images", "REGISTRY=r", "TAG=t"], cwd=REPO, capture_output=True, text=True
    )
    assert plan.returncode == 0, plan.stderr
    loops = re.findall(r"for \w in ([^;]*); do (.*)", plan.stdout)

    def looped(command: str) -> list[str]:
        return next(words.split() for words, body in loops if body.startswith(command))

    names = [stage.name for stage in STAGES]
    assert looped(".venv/bin/python tools/image_context.py $i images/contexts/$i") == ["base", *names]
    assert looped("docker build -f images/stage/Dockerfile --build-arg STAGE=$s") == names
    assert (
        "docker build -f images/base/Dockerfile --target runtime -t r/runtime:t images/contexts"
        in plan.stdout
    )


def isolated(context: Path, code: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run ``code`` in this venv's interpreter with only the context's app/ and the third-party packages on
    the path: no repo, no editable-install hook (-S skips site, -I the environment and the cwd)."""
    site = sysconfig.get_paths()["purelib"]
    bootstrap = f"import sys; sys.path[:0] = [{str(context / 'app')!r}]; sys.path.append({site!r})\n"
    return subprocess.run(
        [sys.executable, "-I", "-S", "-c", bootstrap + code],
        cwd=context,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.parametrize("image", ["base", *(stage.name for stage in STAGES)])
def test_image_context_holds_exactly_what_code_version_digests(image, tmp_path):
    tool = image_context()
    module = tool.PROGRAMS[image]
    context = tool.assemble(image, tmp_path / image)

    shipped = {p.relative_to(context / "app").as_posix() for p in (context / "app").rglob("*") if p.is_file()}
    digested = {p.relative_to(SOURCE_ROOT).as_posix() for p in sidecar.program_files(module)}
    configuration = {p.relative_to(SOURCE_ROOT).as_posix() for p in CONFIG_DIR.iterdir() if p.is_file()}
    assert shipped == digested | configuration
    assert not digested & configuration  # the gates and rule sets are compared on their own, by SHA1
    assert "medallion/schemas/sidecar.schema.json" in digested
    for source in copied_sources(
        REPO / "images" / ("base" if image == "base" else "stage") / "Dockerfile", image
    ):
        assert (context.parent / source).exists(), f"the Dockerfile copies {source}, not in the context"
    assert (context / "requirements.txt").read_text() == (
        REPO / "images" / "requirements" / f"{image}.txt"
    ).read_text()
    assert f"exec python -m {module} " in (context / "entrypoint").read_text()

    expected = sidecar.code_version.__wrapped__(module)  # now, uncached: others may be editing the sources
    probe = isolated(
        context,
        "import medallion; from medallion.core.sidecar import code_version\n"
        f"print(medallion.__file__); print(code_version({module!r}))",
    )
    assert probe.returncode == 0, probe.stderr[-2000:]
    where, version = probe.stdout.split()
    assert Path(where).is_relative_to(context), f"imported medallion from {where}, not from the context"
    assert version == expected

    commands = [[]] + ([["workflows", "exit-summary"]] if image == "base" else [])
    for args in commands:
        argv = [module, *args, "--help"]
        run = isolated(
            context, f"import runpy; sys.argv = {argv!r}; runpy.run_module({module!r}, run_name='__main__')"
        )
        assert run.returncode == 0 and "usage:" in run.stdout, run.stderr[-2000:]


def test_image_context_refuses_to_wipe_a_folder_that_is_not_one(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(SystemExit, match="not an image context"):
        image_context().assemble("raw", tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"
