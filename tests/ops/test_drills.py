"""Drill records, reports and freshness: a failing drill is recorded as failed, the history
lists drills newest first, and /health/deep warns (never fails) until each option has a passed
drill within 90 days."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from memory_system.core.clock import format_utc
from memory_system.ops import drills, schema
from memory_system.ops.drill_report import DrillReport, DrillStep, freshness, history, record
from memory_system.store import inventory
from memory_system.store.connection import Database, open_connection


def _migrated(tmp_path: Path) -> Path:
    db = tmp_path / "real" / "memory.db"
    db.parent.mkdir()
    schema.migrate(db)
    return db


def _passed(option: str, started: datetime) -> DrillReport:
    report = DrillReport(option, "db", format_utc(started), format_utc(started + timedelta(seconds=3)), 3.0)
    report.steps.append(DrillStep("step", format_utc(started), 3.0, True))
    return report


def test_a_drill_whose_scratch_service_never_gets_ready_is_recorded_failed(tmp_path: Path) -> None:
    db = _migrated(tmp_path)
    conn = open_connection(db, create=False)
    before = inventory.row_counts(conn)
    conn.close()

    result = drills.run_drill(drills.DrillRequest("a", db, tmp_path / "reports", ready_timeout_s=0.0))

    assert not result.ok and result.report.outcome == "failed"
    assert [s.ok for s in result.report.steps] == [True, False]
    assert result.report.failures[0].startswith("start the scratch service:")
    written = json.loads(result.json_path.read_text()) if result.json_path else {}
    assert written["outcome"] == "failed" and written["failures"] == result.report.failures
    assert result.markdown_path is not None and "FAILED" in result.markdown_path.read_text()
    [row] = history(db)
    assert (row.option, row.outcome, row.report_path) == ("a", "failed", str(result.markdown_path))
    assert row.summary["failures"] == result.report.failures
    conn = open_connection(db, create=False)
    after = inventory.row_counts(conn)
    conn.close()
    assert {**after, "drills": 0} == {**before, "drills": 0} and after["drills"] == 1
    assert not Path(result.report.scratch["dir"]).exists()  # removed without --keep


def test_history_lists_newest_first_and_freshness_names_stale_options(tmp_path: Path) -> None:
    db = _migrated(tmp_path)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    record(db, _passed("a", now - timedelta(days=100)), None)
    record(db, _passed("c", now - timedelta(days=10)), None)
    assert [d.option for d in history(db)] == ["c", "a"]
    with Database(db, create=False) as database:
        seen = freshness(database.reader(), now)
    assert seen["a"] == format_utc(now - timedelta(days=100)) and seen["b"] is None
    assert seen["warning"] == (
        "option a not drilled in 90 days: run 'memory-system drill a'; "
        "option b not drilled in 90 days: run 'memory-system drill b'"
    )


def test_deep_health_warns_for_undrilled_options_without_failing(
    tmp_path: Path, live_server: Callable[..., str]
) -> None:
    db = tmp_path / "server0.db"
    url = live_server()
    body = httpx.get(url + "/health/deep", timeout=10).json()
    assert body["status"] == "pass" and "drills" not in body["checks"]
    assert body["details"]["drills"] == {
        "a": None,
        "b": None,
        "c": None,
        "warning": "; ".join(
            f"option {o} not drilled in 90 days: run 'memory-system drill {o}'" for o in "abc"
        ),
    }
    recent = datetime.now(UTC) - timedelta(days=1)
    for option in "abc":
        record(db, _passed(option, recent), None)
    drilled = httpx.get(url + "/health/deep", timeout=10).json()["details"]["drills"]
    assert drilled == {o: format_utc(recent) for o in "abc"}
