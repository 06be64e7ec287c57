"""Drift: a dataset's batch profile (``Profile.summary``) against the same dataset's earlier batches.

Every quality report keeps its batch's profile under ``drift.profile``; the next batch reads those of the
dates before it (``earlier_profiles``) and flags each figure that moved beyond its limit in
``medallion/config/quality.yaml`` (``drift:``, defaults ``DRIFT_DEFAULTS``) as an anomaly.
"""

from __future__ import annotations

from medallion.runtime.quality_gates import not_measured

DRIFT_DEFAULTS = {
    "history": 7,
    "rows_change": 0.5,
    "quarantine_rate_increase": 0.05,
    "text_length_change": 0.3,
    "distribution_distance": 0.15,
}


def _distance(a: dict[str, float], b: dict[str, float]) -> float:
    """Total variation distance between two share distributions (0 same, 1 disjoint)."""
    return round(sum(abs(a.get(k, 0.0) - b.get(k, 0.0)) for k in set(a) | set(b)) / 2, 4)


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def _mean_shares(distributions: list[dict[str, float]]) -> dict[str, float]:
    keys = sorted(set().union(*distributions))
    return {k: round(_mean([d.get(k, 0.0) for d in distributions]), 4) for k in keys}


def drift(current: dict, history: list[tuple[str, dict]], settings: dict[str, float] | None = None) -> dict:
    """This batch's profile against the mean of earlier batches'; each figure beyond its limit is an anomaly."""
    limits = {**DRIFT_DEFAULTS, **(settings or {})}
    history = history[-int(limits["history"]) :]
    if not history:
        return {**not_measured("no earlier batch of this dataset to compare with"), "profile": current}
    past = [profile for _date, profile in history]
    anomalies: list[dict] = []
    metrics: dict[str, dict] = {}

    def relative(name: str, limit: float) -> None:
        values = [p[name] for p in past if p.get(name) is not None]
        if current.get(name) is None or not values:
            return
        base = _mean(values)
        change = round((current[name] - base) / base, 4) if base else (0.0 if not current[name] else 1.0)
        metrics[name] = {"value": current[name], "baseline": round(base, 4), "change": change}
        if abs(change) > limit:
            anomalies.append(
                {"metric": name, "value": current[name], "baseline": round(base, 4), "change": change,
                 "limit": limit, "message": f"{name} changed by {change:+.0%} against the earlier batches "
                 f"(limit ±{limit:.0%})"}
            )  # fmt: skip

    relative("rows", limits["rows_change"])
    relative("mean_text_length", limits["text_length_change"])
    base_rate = _mean([p.get("quarantine_rate", 0.0) for p in past])
    increase = round(current["quarantine_rate"] - base_rate, 4)
    metrics["quarantine_rate"] = {
        "value": current["quarantine_rate"],
        "baseline": round(base_rate, 4),
        "change": increase,
    }
    if increase > limits["quarantine_rate_increase"]:
        anomalies.append(
            {"metric": "quarantine_rate", "value": current["quarantine_rate"], "baseline": round(base_rate, 4),
             "change": increase, "limit": limits["quarantine_rate_increase"],
             "message": f"quarantine rate rose by {increase:.1%} points against the earlier batches"}
        )  # fmt: skip
    for name in ("categories", "languages"):
        earlier = [p[name] for p in past if p.get(name)]
        if not current.get(name) or not earlier:
            continue
        baseline = _mean_shares(earlier)
        distance = _distance(current[name], baseline)
        metrics[name] = {"distance": distance, "baseline": baseline}
        if distance > limits["distribution_distance"]:
            moved = sorted(
                set(current[name]) | set(baseline),
                key=lambda k: -abs(current[name].get(k, 0) - baseline.get(k, 0)),
            )
            anomalies.append(
                {"metric": name, "distance": distance, "limit": limits["distribution_distance"],
                 "message": f"{name} mix moved by {distance:.2f} (total variation) against the earlier "
                 f"batches, most in: {', '.join(moved[:3])}"}
            )  # fmt: skip
    return {
        "baseline_dates": [day for day, _ in history],
        "metrics": metrics,
        "anomalies": anomalies,
        "anomaly_count": len(anomalies),
        "profile": current,
    }


def earlier_profiles(store, folder: str, dataset: str, date: str, n: int) -> list[tuple[str, dict]]:
    """The drift profiles of the ``n`` latest batches before ``date`` of the dataset in ``folder``<date>/."""
    from medallion.core.datasets import read_meta
    from medallion.core.sidecar import SIDECAR_SUFFIX

    days = []
    for key in store.list(folder):
        day, _, name = key[len(folder) :].partition("/")
        if name == dataset + SIDECAR_SUFFIX and len(day) == 10 and day < date:
            days.append(day)
    found = []
    for day in sorted(days)[-n:] if n > 0 else []:
        meta = read_meta(store, f"{folder}{day}/{dataset}") or {}
        profile = ((meta.get("quality") or {}).get("drift") or {}).get("profile")
        if profile:
            found.append((day, profile))
    return found
