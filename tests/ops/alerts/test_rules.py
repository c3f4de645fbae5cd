"""Each rule of the runbook's matrix against hand-made snapshots: fires at its threshold,
resolves below it, stays silent without data; transitions are logged, exported and passed on."""

from __future__ import annotations

import logging
import math

import pytest

from memory_system.core.metrics import REGISTRY
from memory_system.ops.alerts.config import AlertConfig
from memory_system.ops.alerts.engine import AlertEngine, AlertTransition
from memory_system.ops.alerts.samples import Snapshot

INF = math.inf
SHORT = AlertConfig(
    latency_window_seconds=60,
    rate_window_seconds=60,
    memory_growth_window_seconds=90,
    cache_window_seconds=60,
    cache_min_lookups=10,
)


class Feed:
    """Snapshots handed to the engine one evaluation at a time, on a clock the test moves."""

    def __init__(self) -> None:
        self.now = 1_000_000.0
        self.next = Snapshot(at=self.now, memory_limit_bytes=1000.0, resident_bytes=100.0)

    def sample(self, at: float) -> Snapshot:
        return Snapshot(**{**self.next.__dict__, "at": at})

    def clock(self) -> float:
        return self.now


@pytest.fixture
def feed() -> Feed:
    return Feed()


@pytest.fixture
def engine(feed: Feed) -> AlertEngine:
    return AlertEngine(SHORT, feed.sample, clock=feed.clock)


def step(engine: AlertEngine, feed: Feed, seconds: float, **changes: object) -> list[AlertTransition]:
    feed.now += seconds
    feed.next = Snapshot(**{**feed.next.__dict__, **changes})
    return engine.evaluate()


def states(engine: AlertEngine) -> dict[str, str]:
    return {r["rule"]: r["state"] for r in engine.report()["rules"]}


def test_quiet_service_fires_nothing_and_judges_nothing_it_cannot(engine: AlertEngine, feed: Feed) -> None:
    assert step(engine, feed, 0) == []
    got = states(engine)
    assert set(got.values()) <= {"ok", "no_data"}
    assert got["injection_latency_p95"] == "no_data" and got["cache_hit_rate"] == "no_data"
    assert got["memory_growth"] == "no_data" and got["database_failures"] == "ok"


def test_injection_p95_fires_over_500_ms_and_resolves_when_the_window_passes(
    engine: AlertEngine, feed: Feed
) -> None:
    step(engine, feed, 0, injection_buckets=((0.1, 0.0), (0.5, 0.0), (1.0, 0.0), (INF, 0.0)))
    fast = ((0.1, 100.0), (0.5, 100.0), (1.0, 100.0), (INF, 100.0))
    assert step(engine, feed, 10, injection_buckets=fast) == []
    slow = ((0.1, 100.0), (0.5, 100.0), (1.0, 200.0), (INF, 200.0))  # half of them in (0.5, 1]
    (fired,) = step(engine, feed, 10, injection_buckets=slow)
    assert (fired.rule.name, fired.firing, fired.rule.flags) == (
        "injection_latency_p95",
        True,
        ("USE_ENHANCED_INJECTION",),
    )
    assert fired.value is not None and 500 < fired.value <= 1000
    rows = {r["rule"]: r for r in engine.report()["rules"]}
    assert rows["injection_latency_p95"]["firing_since"] is not None
    assert engine.firing("CRITICAL") == ["injection_latency_p95"]
    # 70 s of fast answers later the slow ones have left the 60 s window
    now_fast = tuple((le, n + 100.0) for le, n in slow)  # cumulative: 100 more under 0.1 s
    (resolved,) = step(engine, feed, 70, injection_buckets=now_fast)
    assert (resolved.rule.name, resolved.firing) == ("injection_latency_p95", False)


@pytest.mark.parametrize(
    ("errors", "expected"),
    [(0.0, set()), (4.0, {"injection_errors"}), (5.0, {"injection_errors_critical"})],
)
def test_injection_errors_warn_under_5_a_minute_and_are_critical_from_5(
    engine: AlertEngine, feed: Feed, errors: float, expected: set[str]
) -> None:
    step(engine, feed, 0)
    step(engine, feed, 30, injection_errors=errors)
    assert set(engine.firing()) == expected


def test_sharing_errors_are_critical_over_10_a_minute_only(engine: AlertEngine, feed: Feed) -> None:
    step(engine, feed, 0)
    step(engine, feed, 30, sharing_errors=10.0)
    assert "sharing_errors" not in engine.firing()
    step(engine, feed, 10, sharing_errors=11.0)
    assert engine.firing("CRITICAL") == ["sharing_errors"]
    assert {r["rule"]: r["flags"] for r in engine.report()["rules"]}["sharing_errors"] == [
        "USE_CROSS_AGENT_SHARING"
    ]


def test_any_database_failure_in_the_minute_is_critical(engine: AlertEngine, feed: Feed) -> None:
    step(engine, feed, 0)
    step(engine, feed, 5, database_failures=1.0)
    assert engine.firing() == ["database_failures"]
    step(engine, feed, 61)
    assert engine.firing() == []


def test_memory_warns_at_75_percent_and_is_critical_at_90(engine: AlertEngine, feed: Feed) -> None:
    step(engine, feed, 0, resident_bytes=700.0)
    assert engine.firing() == []
    step(engine, feed, 5, resident_bytes=800.0)
    assert engine.firing() == ["memory_warning"]
    step(engine, feed, 5, resident_bytes=950.0)
    assert set(engine.firing()) == {"memory_critical", "memory_warning"}
    rules = {r.name: r for r in engine.rules}
    assert set(rules["memory_critical"].flags) == {
        "USE_HIERARCHICAL_TIERS",
        "USE_CROSS_AGENT_SHARING",
        "USE_ENHANCED_INJECTION",
    }


def test_growth_that_levels_off_is_not_an_alert_and_growth_that_does_not_is(
    engine: AlertEngine, feed: Feed
) -> None:
    for resident in [100.0] * 5 + [140.0] * 10 + [141.0, 140.0] * 5:  # a step, then flat
        step(engine, feed, 5, resident_bytes=resident)
    assert "memory_growth" not in engine.firing()
    for i in range(20):  # rising all the way through the 90 s window
        step(engine, feed, 5, resident_bytes=200.0 + 10 * i)
    assert "memory_growth" in engine.firing()


def test_cache_hit_rate_needs_enough_lookups_before_it_warns(engine: AlertEngine, feed: Feed) -> None:
    step(engine, feed, 0)
    step(engine, feed, 10, cache_hits=1.0, cache_misses=5.0)
    assert states(engine)["cache_hit_rate"] == "no_data"
    step(engine, feed, 10, cache_hits=4.0, cache_misses=8.0)
    assert engine.firing() == ["cache_hit_rate"]
    step(engine, feed, 10, cache_hits=40.0, cache_misses=8.0)
    assert engine.firing() == []


def test_rag_timeouts_warn_and_a_failed_integrity_check_is_critical(engine: AlertEngine, feed: Feed) -> None:
    step(engine, feed, 0)
    step(engine, feed, 5, rag_timeouts=1.0, integrity_ok=0.0)
    assert set(engine.firing()) == {"rag_timeouts", "integrity_check"}
    assert engine.firing("WARNING") == ["rag_timeouts"]


def test_transitions_are_logged_exported_and_reach_every_listener_even_past_a_failing_one(
    engine: AlertEngine, feed: Feed, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[tuple[str, bool]] = []

    def broken(change: AlertTransition) -> None:
        raise RuntimeError("listener bug")

    engine.on_transition(broken)
    engine.on_transition(lambda c: seen.append((c.rule.name, c.firing)))
    step(engine, feed, 0)
    with caplog.at_level(logging.INFO, logger="memory_system.ops.alerts.engine"):
        step(engine, feed, 5, sharing_errors=50.0)
        step(engine, feed, 61)
    assert seen == [("sharing_errors", True), ("sharing_errors", False)]
    events = [(r.getMessage(), r.levelname) for r in caplog.records]
    assert [e for e in events if e[0] != "alert_listener_failed"] == [
        ("alert_fired", "CRITICAL"),
        ("alert_resolved", "INFO"),
    ]
    assert events.count(("alert_listener_failed", "ERROR")) == 2
    gauge = REGISTRY.get_sample_value(
        "memory_alert_firing", {"rule": "sharing_errors", "severity": "CRITICAL"}
    )
    assert gauge == 0


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"latencyWindowSeconds": 0}, "latencyWindowSeconds must be a number > 0"),
        ({"memoryCriticalFraction": 1.5}, "fraction"),
        ({"memoryWarningFraction": 0.95}, "must be below memoryCriticalFraction"),
        ({"cacheMinLookups": 2.5}, "whole number"),
        ({"p95": 1}, "not an alert setting"),
        ([], "JSON object"),
    ],
)
def test_a_bad_alerts_section_is_refused_naming_the_key(section: object, message: str) -> None:
    from memory_system.core.config import ConfigError

    with pytest.raises(ConfigError, match=message):
        AlertConfig.from_mapping(section)


def test_windows_and_thresholds_come_from_the_section() -> None:
    config = AlertConfig.from_mapping({"injectionP95CriticalMs": 250, "cacheMinLookups": 5})
    assert (config.injection_p95_critical_ms, config.cache_min_lookups) == (250.0, 5)
    assert AlertConfig.from_mapping(config.to_config()) == config
