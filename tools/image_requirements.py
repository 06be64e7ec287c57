"""Write every image's requirement file, images/requirements/<image>.txt, from uv.lock: the distributions it
needs and their whole dependency closure, at the locked versions with the lock's hashes, minus what the base
image already installs.

    .venv/bin/python tools/image_requirements.py          # rewrite images/requirements/*.txt
    .venv/bin/python tools/image_requirements.py --check  # exit 1 when a committed file differs

Images install them with ``pip install --no-deps --require-hashes``: exactly the lock, nothing resolved.
tools/image_context.py puts a stage's file into the stage's build context.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

from packaging.markers import Marker

REPO = Path(__file__).resolve().parent.parent
LOCK = REPO / "uv.lock"
REQUIREMENTS = REPO / "images" / "requirements"  # <image>.txt

# What each image needs beyond its dependencies' closure; tests/test_images.py checks these against the
# stage's imports (nothing missing, nothing it does not import).
IMAGES: dict[str, tuple[str, ...]] = {
    "base": (
        "boto3",
        "pyarrow",
        "pyyaml",
        "jsonschema",
        "jsonschema-rs",
        "orjson",
        "zstandard",
        "openlineage-python",
    ),
    "raw": (),
    "url-normalization": (),
    "html-parsing": ("lxml", "py3langid", "numpy", "webencodings", "charset-normalizer"),
    "text-normalization": ("simplemma", "lemminflect", "emoji"),
    "annotated": ("openai",),
    "train": ("scikit-learn", "mlflow-skinny", "joblib", "cleanlab", "datasketch"),
    "post-train": ("cleanlab", "scikit-learn"),
    "release": ("datasketch",),
    "release-model": ("scikit-learn", "mlflow-skinny", "joblib", "cleanlab", "datasketch"),
}
# The images' interpreter (images/base/Dockerfile: python:3.11.7-slim on Linux).
IMAGE_ENVIRONMENT = {
    "python_version": "3.11",
    "python_full_version": "3.11.7",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "os_name": "posix",
    "platform_machine": "x86_64",
    "extra": "",
}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def load_lock(path: Path = LOCK) -> dict[str, dict]:
    """The lock's packages by canonical name (the lock holds one version of each: one interpreter line)."""
    packages: dict[str, dict] = {}
    for package in tomllib.loads(path.read_text())["package"]:
        name = canonical(package["name"])
        if name in packages:
            raise SystemExit(f"error: uv.lock holds two versions of {name}; images need one")
        packages[name] = package
    return packages


def closure(lock: dict[str, dict], names: tuple[str, ...]) -> set[str]:
    """The distributions and every dependency they need in the image's environment."""
    seen: set[str] = set()
    todo = [canonical(n) for n in names]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        if name not in lock:
            raise SystemExit(f"error: {name} is not in uv.lock: add it to pyproject.toml and run 'make lock'")
        seen.add(name)
        for dep in lock[name].get("dependencies", []):
            marker = dep.get("marker")
            if marker is None or Marker(marker).evaluate(IMAGE_ENVIRONMENT):
                todo.append(canonical(dep["name"]))
    return seen


def requirement(package: dict) -> str:
    hashes = [wheel["hash"] for wheel in package.get("wheels", [])]
    if "sdist" in package:
        hashes.append(package["sdist"]["hash"])
    lines = [f"{package['name']}=={package['version']}"] + [f"    --hash={h}" for h in sorted(hashes)]
    return " \\\n".join(lines)


def render(lock: dict[str, dict] | None = None) -> dict[str, str]:
    """Each image's requirement file text, by image name."""
    lock = lock or load_lock()
    base = closure(lock, IMAGES["base"])
    files = {}
    for image, names in IMAGES.items():
        pins = base if image == "base" else closure(lock, names) - base
        what = ", ".join(names) if names else "nothing"
        header = (
            f"# {image}: {what} and their dependencies, beyond the base image"
            if image != "base"
            else f"# base (every image): {what} and their dependencies"
        )
        lines = [header + ". Generated from uv.lock by tools/image_requirements.py (make lock)."]
        lines += [requirement(lock[name]) for name in sorted(pins)]
        files[image] = "\n".join(lines) + "\n"
    return files


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for image, text in render().items():
        path = REQUIREMENTS / f"{image}.txt"
        if path.is_file() and path.read_text() == text:
            continue
        if check:
            stale.append(str(path.relative_to(REPO)))
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"{path.relative_to(REPO)}: written")
    if stale:
        print(f"error: {', '.join(stale)} differ from uv.lock: run 'make lock'", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
