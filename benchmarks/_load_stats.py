"""Turning the generator's records into the figures the reports print: per operation, per step,
per minute, and the generator's own health.

Percentiles are of the latency from the planned send time, over the requests that answered as
expected; the others are errors (their share is the error rate), whatever the reason: a
status the operation does not answer on success, no answer, a timeout, or a request the
generator dropped at its in-flight cap.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from _load_run import EXPECTED, Record

__all__ = ["ROWS", "generator_health", "median", "per_minute", "summarize"]

# Rows of the per-operation tables: the label, and which records it covers.
ROWS = ("inject", "inject-repeat", "inject-fresh", "write", "search", "session_open", "session_end")


def _covers(row: str, rec: Record) -> bool:
    if row == "inject-repeat":
        return rec[0] == "inject" and rec[6]
    if row == "inject-fresh":
        return rec[0] == "inject" and not rec[6]
    return rec[0] == row


def _ok(rec: Record) -> bool:
    return rec[4] in EXPECTED[rec[0]]


def _pcts(values: Sequence[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "p99": None}
    arr = np.asarray(values, dtype=np.float64)
    return {f"p{q}": round(float(np.percentile(arr, q)), 2) for q in (50, 95, 99)}


def summarize(records: Iterable[Record]) -> dict[str, dict[str, Any]]:
    """Per row of ``ROWS`` (rows with no requests left out): requests, errors, error rate,
    p50/p95/p99 ms, the statuses of the errors, and for injections the cache-hit share."""
    recs = list(records)
    out: dict[str, dict[str, Any]] = {}
    for row in ROWS:
        mine = [r for r in recs if _covers(row, r)]
        if not mine:
            continue
        good = [r[3] for r in mine if _ok(r)]
        bad = Counter(str(r[4]) for r in mine if not _ok(r))
        entry: dict[str, Any] = {
            "requests": len(mine),
            "errors": len(mine) - len(good),
            "error_rate": round((len(mine) - len(good)) / len(mine), 4),
            "error_statuses": dict(bad),
            **_pcts(good),
        }
        if row.startswith("inject"):
            answered = [r for r in mine if _ok(r)]
            hits = sum(1 for r in answered if r[5] == "hit")
            entry["cache_hit_share"] = round(hits / len(answered), 3) if answered else None
        out[row] = entry
    return out


def generator_health(records: Sequence[Record], seconds: float, max_lag_ms: float) -> dict[str, Any]:
    """How well the generator kept to its schedule: lag percentiles, the rate it planned, and
    ``on_schedule`` (lag p99 within ``max_lag_ms``)."""
    lags = [r[2] for r in records]
    if not lags:
        return {"lag_p50": None, "lag_p99": None, "lag_max": None, "planned_rate": 0.0, "on_schedule": True}
    arr = np.asarray(lags, dtype=np.float64)
    p99 = round(float(np.percentile(arr, 99)), 2)
    mix = sum(1 for r in records if r[0] in ("inject", "write", "search"))
    return {
        "lag_p50": round(float(np.percentile(arr, 50)), 2),
        "lag_p99": p99,
        "lag_max": round(float(arr.max()), 2),
        "planned_rate": round(mix / seconds, 2) if seconds > 0 else 0.0,
        "dropped": sum(1 for r in records if r[4] == -2),
        "on_schedule": p99 <= max_lag_ms,
    }


def per_minute(records: Sequence[Record], bucket_s: float = 60.0) -> list[dict[str, Any]]:
    """p95 per operation and error count per ``bucket_s`` of planned send time."""
    buckets: dict[int, list[Record]] = {}
    for r in records:
        buckets.setdefault(int(r[1] // bucket_s), []).append(r)
    out = []
    for index in sorted(buckets):
        recs = buckets[index]
        row: dict[str, Any] = {
            "minute": index,
            "requests": len(recs),
            "errors": sum(not _ok(r) for r in recs),
        }
        for op in ("inject", "write", "search"):
            good = [r[3] for r in recs if r[0] == op and _ok(r)]
            row[f"{op}_p95"] = round(float(np.percentile(good, 95)), 2) if good else None
        out.append(row)
    return out


def median(values: Sequence[float]) -> float:
    return float(np.median(np.asarray(values, dtype=np.float64)))
