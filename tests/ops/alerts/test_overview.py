"""``AlertEngine.overview``: the dashboard's numbers from the window the rules judge, so a
chart and an alert agree; quantiles and rates over the rate window, gauges as of now."""

from __future__ import annotations

import math

from memory_system.ops.alerts.config import AlertConfig
from memory_system.ops.alerts.engine import AlertEngine
from memory_system.ops.alerts.samples import Snapshot

INF = math.inf
CONFIG = AlertConfig(latency_window_seconds=60, rate_window_seconds=60, cache_min_lookups=1000)


class Feed:
    def __init__(self) -> None:
        self.now = 1_000_000.0
        self.next = Snapshot(at=self.now, memory_limit_bytes=1000.0, resident_bytes=100.0)

    def sample(self, at: float) -> Snapshot:
        return Snapshot(**{**self.next.__dict__, "at": at})

    def clock(self) -> float:
        return self.now


def test_before_the_first_evaluation_there_is_nothing_to_show() -> None:
    feed = Feed()
    overview = AlertEngine(CONFIG, feed.sample, clock=feed.clock).overview()
    assert overview == {"enabled": True, "evaluated_at": None, "window_seconds": 60.0, "firing": []}


def test_the_numbers_are_the_windows_and_match_what_the_rules_judge() -> None:
    feed = Feed()
    engine = AlertEngine(CONFIG, feed.sample, clock=feed.clock)
    engine.evaluate()
    quiet = engine.overview()
    assert quiet["injection_p95_ms"] is None and quiet["cache_hit_rate"] is None
    assert quiet["injections_per_min"] == 0

    # 30 s later: 10 injections (8 under 0.1 s, 2 under 0.5 s), 3 errors, 1 RAG timeout,
    # 6 hits of 8 lookups, memory at 95% of the limit.
    feed.now += 30
    feed.next = Snapshot(
        at=feed.now,
        injection_buckets=((0.1, 8.0), (0.5, 10.0), (INF, 10.0)),
        injection_errors=3.0,
        rag_timeouts=1.0,
        cache_hits=6.0,
        cache_misses=2.0,
        resident_bytes=950.0,
        memory_limit_bytes=1000.0,
    )
    engine.evaluate()
    overview = engine.overview()
    rules = {r["rule"]: r for r in engine.report()["rules"]}
    assert overview["injection_p95_ms"] == rules["injection_latency_p95"]["value"] == 400.0
    assert overview["injection_p50_ms"] == 62.5
    assert overview["injections_per_min"] == 10.0 and overview["injections_total"] == 10.0
    assert overview["injection_errors_per_min"] == rules["injection_errors"]["value"] == 3.0
    assert overview["rag_timeouts_per_min"] == rules["rag_timeouts"]["value"] == 1.0
    # Under cacheMinLookups the rule judges nothing; the dashboard still shows the rate.
    assert rules["cache_hit_rate"]["value"] is None
    assert (overview["cache_hit_rate"], overview["cache_lookups"]) == (0.75, 8.0)
    assert (overview["resident_bytes"], overview["memory_limit_bytes"]) == (950.0, 1000.0)
    assert {a["rule"] for a in overview["firing"]} == {
        "injection_errors",
        "memory_critical",
        "memory_warning",
        "rag_timeouts",
    }
    assert overview["evaluated_at"] == engine.report()["evaluated_at"]

    # Two minutes of quiet: the injections leave the minute, the counters since start do not.
    for _ in range(4):
        feed.now += 30
        engine.evaluate()
    later = engine.overview()
    assert later["injection_p95_ms"] is None and later["injections_per_min"] == 0
    assert later["injections_total"] == 10.0
