"""A strict check of rendered manifests against Argo's own model, as Hera publishes it.

The models ignore fields they do not know, so a typo would pass a plain validation: the manifest is
validated, dumped back with aliases, and every field of the original that did not survive is reported.
"""

from __future__ import annotations

from typing import Any

from hera.workflows import models

MODELS = {
    "WorkflowTemplate": models.WorkflowTemplate,
    "ClusterWorkflowTemplate": models.ClusterWorkflowTemplate,
    "CronWorkflow": models.CronWorkflow,
    "Workflow": models.Workflow,
}


def lost_fields(original: Any, dumped: Any, path: str = "") -> list[str]:
    """Paths present in ``original`` but missing (or different) in ``dumped``."""
    if isinstance(original, dict):
        if not isinstance(dumped, dict):
            return [f"{path or '/'}: became {type(dumped).__name__}"]
        problems = []
        for key, value in original.items():
            where = f"{path}/{key}"
            if key not in dumped:
                problems.append(f"{where}: not a field of Argo's model (dropped)")
            else:
                problems += lost_fields(value, dumped[key], where)
        return problems
    if isinstance(original, list):
        if not isinstance(dumped, list) or len(dumped) != len(original):
            return [f"{path}: list changed"]
        return [
            p
            for i, (a, b) in enumerate(zip(original, dumped, strict=True))
            for p in lost_fields(a, b, f"{path}[{i}]")
        ]
    if original != dumped and str(original) != str(dumped):
        return [f"{path}: {original!r} became {dumped!r}"]
    return []


def strict_check(manifest: dict) -> list[str]:
    """Problems with one manifest ([] when Argo's model takes every field as written)."""
    kind = manifest.get("kind")
    if kind not in MODELS:
        return [f"kind {kind!r} is not an Argo Workflows kind this check knows"]
    try:
        model = MODELS[kind].model_validate(manifest)
    except Exception as exc:  # pydantic's ValidationError lists every failing field
        return [f"does not validate as {kind}: {exc}"]
    dumped = model.model_dump(by_alias=True, exclude_none=True, mode="json")
    return lost_fields(manifest, dumped)
