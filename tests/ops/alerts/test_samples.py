"""The window arithmetic the rules rest on: increases, Prometheus's histogram_quantile, thirds."""

from __future__ import annotations

import math

import pytest

from memory_system.core import metrics
from memory_system.ops.alerts.samples import Snapshot, Window, quantile_from_buckets, read_registry

INF = math.inf


def test_the_quantile_interpolates_inside_its_bucket_like_prometheus() -> None:
    # 100 observations: 90 at or under 0.1 s, 10 in (0.1, 0.5]
    buckets = [(0.1, 90.0), (0.5, 100.0), (INF, 100.0)]
    assert quantile_from_buckets(0.5, buckets) == pytest.approx(0.1 * 50 / 90)
    assert quantile_from_buckets(0.95, buckets) == pytest.approx(0.1 + 0.4 * 5 / 10)
    assert quantile_from_buckets(0.95, [(0.1, 0.0), (INF, 0.0)]) is None


def test_a_rank_in_the_inf_bucket_is_the_highest_finite_bound() -> None:
    assert quantile_from_buckets(0.95, [(0.1, 1.0), (5.0, 2.0), (INF, 100.0)]) == 5.0


def _snap(at: float, **values: float) -> Snapshot:
    return Snapshot(at=at, **values)  # type: ignore[arg-type]


def test_increase_uses_the_newest_snapshot_at_least_that_old() -> None:
    window = Window(keep_seconds=100)
    for t, errors in [(0, 0.0), (10, 3.0), (20, 5.0), (30, 12.0)]:
        window.add(_snap(t, sharing_errors=errors))
    assert window.increase(lambda s: s.sharing_errors, 10) == 7
    assert window.increase(lambda s: s.sharing_errors, 15) == 9  # from t=10, the newest >= 15 s old
    assert window.increase(lambda s: s.sharing_errors, 1000) == 12  # all there is


def test_the_window_forgets_what_is_older_than_it_keeps_but_one() -> None:
    window = Window(keep_seconds=10)
    for t in range(0, 100, 5):
        window.add(_snap(t))
    assert [s.at for s in window.snapshots] == [85, 90, 95]


def test_thirds_need_nearly_the_whole_window() -> None:
    window = Window(keep_seconds=300)
    for t in range(0, 200, 10):
        window.add(_snap(t, resident_bytes=float(t)))
    assert window.resident_thirds(300) is None
    for t in range(200, 310, 10):
        window.add(_snap(t, resident_bytes=float(t)))
    thirds = window.resident_thirds(300)
    assert thirds is not None and thirds[0] < thirds[1] < thirds[2]


def test_read_registry_sums_the_injection_histogram_over_its_labels() -> None:
    before = read_registry(0.0, 1)
    metrics.INJECTION_LATENCY.labels(mode="enhanced", cache="miss").observe(0.3)
    metrics.INJECTION_LATENCY.labels(mode="legacy", cache="hit").observe(0.004)
    after = read_registry(1.0, 1)
    added = {le: n - dict(before.injection_buckets).get(le, 0.0) for le, n in after.injection_buckets}
    assert added[0.005] == 1 and added[0.25] == 1 and added[0.5] == 2 and added[INF] == 2
    assert after.memory_limit_bytes == 1 and after.resident_bytes > 10_000_000
