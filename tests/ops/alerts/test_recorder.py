"""Every fire and resolve as an ``alert_events`` row, read back newest first; a database that
refuses the row is logged and never stops the evaluation; the guard aborts rollouts."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from memory_system.flags.rollout import RolloutService
from memory_system.flags.service import FlagService
from memory_system.ops.alerts.config import AlertConfig
from memory_system.ops.alerts.engine import AlertEngine, AlertTransition
from memory_system.ops.alerts.guard import AutoGuard
from memory_system.ops.alerts.recorder import AlertRecorder, HistoryError
from memory_system.ops.alerts.rules import build_rules
from memory_system.ops.alerts.samples import Snapshot
from memory_system.store.connection import Database
from tests.faults._lock import LockHolder

T0 = 1_800_000_000.0


class Feed:
    """Memory at a chosen share of the limit: the memory rules fire and resolve on demand."""

    def __init__(self) -> None:
        self.now = T0
        self.resident = 100.0

    def sample(self, at: float) -> Snapshot:
        return Snapshot(at=at, resident_bytes=self.resident, memory_limit_bytes=1000.0)

    def clock(self) -> float:
        return self.now


def _engine(feed: Feed, *listeners: object) -> AlertEngine:
    engine = AlertEngine(AlertConfig(), feed.sample, clock=feed.clock)
    for listener in listeners:
        engine.on_transition(listener)  # type: ignore[arg-type]
    return engine


def test_fires_and_resolves_are_rows_with_rule_severity_value_threshold_flags_and_instance(
    db: Database,
) -> None:
    feed = Feed()
    recorder = AlertRecorder(db, instance="box:42")
    engine = _engine(feed, recorder)
    engine.evaluate()
    feed.now, feed.resident = T0 + 10, 950.0
    engine.evaluate()
    feed.now, feed.resident = T0 + 20, 100.0
    engine.evaluate()

    rows = recorder.history()
    assert [(r["rule"], r["event"]) for r in rows] == [  # newest first; one evaluation in rule order
        ("memory_warning", "resolved"),
        ("memory_critical", "resolved"),
        ("memory_warning", "fired"),
        ("memory_critical", "fired"),
    ]
    fired = next(r for r in rows if r["rule"] == "memory_critical" and r["event"] == "fired")
    assert fired["severity"] == "CRITICAL" and fired["value"] == pytest.approx(0.95)
    assert fired["threshold"] == 0.9 and len(fired["flags"]) == 3
    assert fired["instance"] == "box:42" and fired["message"]
    assert fired["created_at"] == "2027-01-15T08:00:10.000Z"
    assert [r["event"] for r in recorder.history(since="2027-01-15T08:00:15Z")] == ["resolved", "resolved"]
    assert len(recorder.history(limit=1)) == 1


def test_a_database_that_refuses_the_row_is_logged_and_evaluation_goes_on(
    migrated_db: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = Database(migrated_db, busy_timeout_ms=50)
    feed = Feed()
    recorder = AlertRecorder(db)
    seen: list[str] = []
    engine = _engine(feed, recorder, lambda change: seen.append(change.rule.name))
    holder = LockHolder(migrated_db)
    try:
        feed.resident = 950.0
        with caplog.at_level(logging.ERROR):
            changes = engine.evaluate()
    finally:
        holder.release()
    assert {c.rule.name for c in changes} == {"memory_critical", "memory_warning"}
    assert sorted(seen) == ["memory_critical", "memory_warning"]  # the next listener still ran
    assert recorder.failed == 2 and recorder.written == 0
    assert [r.msg for r in caplog.records].count("alert_event_record_failed") == 2
    assert "memory_critical" in engine.firing()
    db.close()


def test_history_refuses_a_bad_since_or_limit(db: Database) -> None:
    recorder = AlertRecorder(db)
    with pytest.raises(HistoryError, match="ISO 8601") as bad:
        recorder.history(since="yesterday")
    assert bad.value.field == "since"
    with pytest.raises(HistoryError, match="limit"):
        recorder.history(limit=0)


def test_the_guard_aborts_the_rollout_of_the_flag_it_turns_off_and_no_other(
    db: Database, tmp_path: Path
) -> None:
    flags = FlagService(db, {}, tmp_path / "none.json", cache_s=0)
    rollouts = RolloutService(flags)
    rollouts.start("USE_CROSS_AGENT_SHARING", "0.1,1", "1h", actor="alice")
    rollouts.start("USE_HIERARCHICAL_TIERS", "0.1,1", "1h", actor="alice")
    guard = AutoGuard(flags, rollouts)
    sharing = next(r for r in build_rules(AlertConfig()) if r.name == "sharing_errors")
    guard(AlertTransition(sharing, True, 12.0, T0))  # tied to USE_CROSS_AGENT_SHARING only

    aborted = rollouts.status("USE_CROSS_AGENT_SHARING")[0]
    assert aborted["state"] == "aborted" and "sharing_errors" in aborted["reason"]
    assert aborted["events"][-1]["actor"] == "auto_guard"
    assert flags.value("USE_CROSS_AGENT_SHARING") == 0.0
    assert flags.events(flag="USE_CROSS_AGENT_SHARING")[0]["source"] == "auto_guard"
    assert rollouts.status("USE_HIERARCHICAL_TIERS")[0]["state"] == "running"
