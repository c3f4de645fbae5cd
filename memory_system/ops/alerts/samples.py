"""What the alert rules read: snapshots of the service's own Prometheus registry, kept over
a sliding window so that "errors per minute" or "p95 over 5 minutes" is a difference of two
snapshots, exactly as Prometheus computes ``increase`` and ``histogram_quantile``.

Reading the registry (not hooks in every module) keeps one definition of each quantity: the
in-process alert and the shipped Prometheus rule see the same numbers.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry

from memory_system.core import metrics

__all__ = ["Snapshot", "Window", "read_registry"]

INJECT_ROUTE = "/v1/inject"
# schema_missing is what legacy mode (after option C) reads on every probe: not a failure.
_NOT_FAILURES = ("schema_missing",)


@dataclass(frozen=True)
class Snapshot:
    """Cumulative counters at one moment, plus the gauges sampled then."""

    at: float
    injection_buckets: tuple[tuple[float, float], ...] = ()  # (le, cumulative count), +Inf last
    injection_errors: float = 0.0
    database_failures: float = 0.0
    rag_timeouts: float = 0.0
    cache_hits: float = 0.0
    cache_misses: float = 0.0
    sharing_errors: float = 0.0
    resident_bytes: float = 0.0
    memory_limit_bytes: float = 0.0
    integrity_ok: float = 1.0


def read_registry(
    at: float, memory_limit_bytes: int, registry: CollectorRegistry = metrics.REGISTRY
) -> Snapshot:
    """One snapshot of ``registry`` (process gauges refreshed first: they are sampled lazily)."""
    metrics.refresh_process_gauges()
    buckets: dict[float, float] = {}
    values: dict[str, float] = {}
    for family in registry.collect():
        for sample in family.samples:
            name, labels, value = sample.name, sample.labels, sample.value
            if name == "memory_injection_latency_seconds_bucket":
                le = float(labels["le"])
                buckets[le] = buckets.get(le, 0.0) + value
            elif name == "memory_errors_total" and labels.get("kind") == INJECT_ROUTE:
                values["injection_errors"] = values.get("injection_errors", 0.0) + value
            elif name == "memory_database_errors_total" and labels.get("kind") not in _NOT_FAILURES:
                values["database_failures"] = values.get("database_failures", 0.0) + value
            elif name == "memory_rag_timeouts_total":
                values["rag_timeouts"] = values.get("rag_timeouts", 0.0) + value
            elif name == "memory_injection_cache_hits_total":
                values["cache_hits"] = value
            elif name == "memory_injection_cache_misses_total":
                values["cache_misses"] = value
            elif name == "memory_sharing_errors_total":
                values["sharing_errors"] = value
            elif name == "memory_process_resident_bytes":
                values["resident_bytes"] = value
            elif name == "memory_integrity_ok":
                values["integrity_ok"] = value
    return Snapshot(
        at=at,
        injection_buckets=tuple(sorted(buckets.items())),
        memory_limit_bytes=float(memory_limit_bytes),
        **values,
    )


@dataclass
class Window:
    """The snapshots of the last ``keep_seconds``; the newest is "now"."""

    keep_seconds: float
    snapshots: deque[Snapshot] = field(default_factory=deque)

    def add(self, snapshot: Snapshot) -> None:
        self.snapshots.append(snapshot)
        # Keep one snapshot older than the horizon: it is the base of the longest difference.
        while len(self.snapshots) > 2 and self.snapshots[1].at <= snapshot.at - self.keep_seconds:
            self.snapshots.popleft()

    @property
    def now(self) -> Snapshot:
        return self.snapshots[-1]

    def base(self, seconds: float) -> Snapshot:
        """The newest snapshot at least ``seconds`` old, or the oldest there is."""
        horizon = self.now.at - seconds
        chosen = self.snapshots[0]
        for snapshot in self.snapshots:
            if snapshot.at > horizon:
                break
            chosen = snapshot
        return chosen

    def increase(self, get: Callable[[Snapshot], float], seconds: float) -> float:
        return max(0.0, get(self.now) - get(self.base(seconds)))

    def covered(self, seconds: float) -> float:
        """How much of the last ``seconds`` the window actually spans."""
        return min(seconds, self.now.at - self.snapshots[0].at)

    def injection_quantile(self, q: float, seconds: float) -> float | None:
        """``histogram_quantile(q, increase(..._bucket[seconds]))`` in seconds; None: no injections."""
        base = dict(self.base(seconds).injection_buckets)
        deltas = [(le, count - base.get(le, 0.0)) for le, count in self.now.injection_buckets]
        return quantile_from_buckets(q, deltas)

    def resident_thirds(self, seconds: float) -> tuple[float, float, float] | None:
        """Median resident memory in each third of the last ``seconds``; None: too little history."""
        if self.covered(seconds) < 0.9 * seconds:
            return None
        start = self.now.at - seconds
        thirds: list[list[float]] = [[], [], []]
        for snapshot in self.snapshots:
            if snapshot.at >= start:
                part = min(2, int(3 * (snapshot.at - start) / seconds))
                thirds[part].append(snapshot.resident_bytes)
        if not all(thirds):
            return None
        first, second, third = (statistics.median(part) for part in thirds)
        return first, second, third


def quantile_from_buckets(q: float, buckets: Iterable[tuple[float, float]]) -> float | None:
    """Prometheus's ``histogram_quantile``: linear inside the bucket the rank falls in; the
    highest finite bound when it falls in +Inf."""
    ordered = sorted(buckets)
    if not ordered or ordered[-1][1] <= 0:
        return None
    rank = q * ordered[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for le, count in ordered:
        if count >= rank:
            if math.isinf(le):
                return lower_bound
            if count == lower_count:
                return le
            return lower_bound + (le - lower_bound) * (rank - lower_count) / (count - lower_count)
        lower_bound, lower_count = le, count
    return lower_bound
