"""The quality configuration (``medallion/config/quality.yaml``) and its gates: which measures of a report must hold
for a dataset to be committed, each gate's outcome, and the report as a table with those outcomes.

A report is one section per dimension (see ``quality.report``); a section that could not be measured is
``not_measured(why)``, and a gate on it is skipped with that reason rather than failed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import yaml

from medallion.core import config

DIMENSIONS = ("completeness", "uniqueness", "validity", "timeliness", "consistency", "accuracy")


class QualityConfigError(config.ConfigError):
    """``medallion/config/quality.yaml`` is missing or malformed."""


def not_measured(why: str) -> dict:
    return {"measured": False, "why": why}


# -- configuration -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Gate:
    check: str  # <dimension>.<measure>
    op: str  # min or max
    threshold: float
    severity: str = "error"  # error fails the step; warn only reports

    def holds(self, value: float) -> bool:
        return value >= self.threshold if self.op == "min" else value <= self.threshold


@dataclass(frozen=True)
class QualityConfig:
    path: Path
    sha1: str
    gold_sample: str
    min_gold_overlap: int
    drift: dict[str, float]
    gates: dict[str, tuple[Gate, ...]]  # stage name (or "*") -> gates

    def gates_for(self, stage: str) -> tuple[Gate, ...]:
        chosen = {gate.check: gate for gate in self.gates.get("*", ())}
        chosen.update({gate.check: gate for gate in self.gates.get(stage, ())})
        return tuple(chosen.values())


def config_path() -> Path:
    return config.config_dir() / "quality.yaml"


def load_config(path: Path | None = None) -> QualityConfig:
    path = path or config_path()
    try:
        raw = path.read_bytes()
        data = yaml.safe_load(raw)
    except OSError as exc:
        raise QualityConfigError(f"cannot read the quality configuration {path}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise QualityConfigError(f"{path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise QualityConfigError(f"{path} must be a mapping with accuracy, drift and gates")
    if "categories" in data:
        raise QualityConfigError(
            f"{path}: the categories are the taxonomy's now: move them to taxonomy.yaml in the same folder "
            "(name and description each) and remove `categories:` here"
        )
    gates: dict[str, tuple[Gate, ...]] = {}
    for stage, checks in (data.get("gates") or {}).items():
        parsed = []
        for check, rule in (checks or {}).items():
            if check.split(".", 1)[0] not in (*DIMENSIONS, "drift") or "." not in check:
                raise QualityConfigError(
                    f"{path}: gate {check!r} of {stage} must be <dimension>.<measure>, dimension one of "
                    f"{', '.join(DIMENSIONS)}, drift"
                )
            ops = [op for op in ("min", "max") if op in (rule or {})]
            severity = (rule or {}).get("severity", "error")
            if len(ops) != 1 or severity not in ("error", "warn"):
                raise QualityConfigError(
                    f"{path}: gate {stage}.{check} needs exactly one of min/max and severity error or warn"
                )
            parsed.append(Gate(check, ops[0], float(rule[ops[0]]), severity))
        gates[stage] = tuple(parsed)
    accuracy = data.get("accuracy") or {}
    return QualityConfig(
        path=path,
        sha1=hashlib.sha1(raw).hexdigest(),
        gold_sample=accuracy.get("gold_sample") or "",
        min_gold_overlap=int(accuracy.get("min_overlap", 20)),
        drift={k: float(v) for k, v in (data.get("drift") or {}).items()},
        gates=gates,
    )


# -- gates -------------------------------------------------------------------------------------------------


def lookup(report_: dict, check: str) -> tuple[float | None, str]:
    """The measured value of ``<dimension>.<measure>``, or None and why it was not measured."""
    dimension, measure = check.split(".", 1)
    section = report_.get(dimension) or {}
    if section.get("measured") is False:
        return None, section.get("why", "not measured")
    value = section.get(measure)
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None, f"{check} does not apply to this dataset"
    return value, ""


def evaluate(report_: dict, gates: tuple[Gate, ...]) -> list[dict]:
    """Each gate's outcome: passed, failed (with the measured value and threshold), or skipped (with why)."""
    results = []
    for gate in gates:
        value, why = lookup(report_, gate.check)
        result = {"check": gate.check, gate.op: gate.threshold, "severity": gate.severity}
        if value is None:
            results.append({**result, "status": "skipped", "why": why})
        else:
            results.append({**result, "value": value, "status": "passed" if gate.holds(value) else "failed"})
    return results


def failures(results: list[dict], severity: str = "error") -> list[dict]:
    return [r for r in results if r["status"] == "failed" and r["severity"] == severity]


def describe_failure(result: dict) -> str:
    op = "min" if "min" in result else "max"
    word = "below the minimum" if op == "min" else "above the maximum"
    return f"{result['check']} = {result['value']:g} is {word} {result[op]:g}"


# -- reading -----------------------------------------------------------------------------------------------


def table(quality: dict) -> str:
    """The report as a fixed-width table: dimension, measure, value, gate and its outcome."""
    gates = {r["check"]: r for r in quality.get("gates", [])}
    lines = [f"{'dimension':<13}{'measure':<26}{'value':>12}  {'gate':<14}status"]
    notes: list[str] = []
    for dimension in (*DIMENSIONS, "drift"):
        section = quality.get(dimension) or {}
        if section.get("measured") is False:
            lines.append(f"{dimension:<13}{'(not measured)':<26}{'':>12}  {'':<14}{section.get('why', '')}")
            continue
        for measure, value in section.items():
            if isinstance(value, dict | list) or measure in ("measured",):
                continue
            gate = gates.get(f"{dimension}.{measure}")
            bound = ""
            status = ""
            if gate:
                op = "min" if "min" in gate else "max"
                bound = f"{op} {gate[op]:g}"
                status = gate["status"].upper() if gate["status"] == "failed" else gate["status"]
                if gate["status"] == "failed" and gate["severity"] == "warn":
                    status = "WARN"
            if isinstance(value, str):
                notes.append(f"{dimension}.{measure}: {value}")
                continue
            shown = f"{value:.4g}" if isinstance(value, float) else str(value)
            lines.append(f"{dimension:<13}{measure:<26}{shown:>12}  {bound:<14}{status}")
        if dimension == "completeness":
            for column, share in (section.get("non_null") or {}).items():
                lines.append(f"{'':<13}{'non_null.' + column:<26}{share:>12.4g}")
    lines += notes
    for anomaly in (quality.get("drift") or {}).get("anomalies", []):
        lines.append(f"drift anomaly: {anomaly['message']}")
    for gate in quality.get("gates", []):
        if gate["status"] == "skipped":
            lines.append(f"gate {gate['check']} skipped: {gate['why']}")
    verdict = "passed" if quality.get("passed", True) else "FAILED"
    lines.append(f"gates: {verdict}")
    return "\n".join(lines)
