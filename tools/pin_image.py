"""Write an image's requirements.txt: the given distributions and their whole dependency closure, pinned
to the versions the project tests with (this venv), minus what the base image already pins.

    .venv/bin/python tools/pin_image.py train scikit-learn mlflow-skinny joblib
"""

from __future__ import annotations

import importlib.metadata as md
import re
import sys
from pathlib import Path

from packaging.requirements import Requirement

IMAGES = Path(__file__).resolve().parent.parent / "images"


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def closure(names: list[str]) -> dict[str, str]:
    pins, todo = {}, [canonical(n) for n in names]
    while todo:
        name = todo.pop()
        if name in pins:
            continue
        pins[name] = md.version(name)
        for spec in md.requires(name) or []:
            requirement = Requirement(spec)
            if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
                continue
            todo.append(canonical(requirement.name))
    return pins


def base() -> set[str]:
    lines = (IMAGES / "base" / "requirements.txt").read_text().splitlines()
    return {canonical(line.split("==")[0]) for line in lines if line.strip() and not line.startswith("#")}


def main() -> int:
    image, *names = sys.argv[1:]
    pins = {k: v for k, v in closure(names).items() if k not in base()}
    lines = [
        f"# {image}: {', '.join(names)} and their dependencies (tools/pin_image.py), beyond the base image."
    ]
    lines += [f"{name}=={version}" for name, version in sorted(pins.items())]
    (IMAGES / image).mkdir(exist_ok=True)
    (IMAGES / image / "requirements.txt").write_text("\n".join(lines) + "\n")
    print(f"images/{image}/requirements.txt: {len(pins)} pins")
    return 0


if __name__ == "__main__":
    sys.exit(main())
