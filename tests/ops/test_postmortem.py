"""``build_postmortem``: the timeline merged in time order from the flag, alert, rollout and
rollback tables and the notes, the impact, the checklist and the due date, on a real file."""

from __future__ import annotations

import re
from pathlib import Path

from memory_system.ops import incidents
from memory_system.ops.postmortem import build_postmortem
from memory_system.store.connection import open_connection

START, END = "2026-01-01T10:00:00.000Z", "2026-01-01T10:30:00.000Z"


def _history(db: Path) -> int:
    """An incident from 10:00 to 10:30 and events around it, written out of time order."""
    incident_id = incidents.open_incident(
        db,
        incident_type="rollback_c",
        severity="SEV1",
        title="Database rolled back",
        reason="corrupt index",
        flags=["USE_ENHANCED_INJECTION"],
        opened_by="oncall",
    )
    incidents.update_incident(
        db,
        incident_id,
        sessions_affected=4,
        downtime_seconds=95.0,
        data_loss={"memories": 12},
        backup_location="/backups/pre-c.db",
        checklist=[
            {"check": "db check", "ok": True, "detail": "integrity ok"},
            {"check": "p95", "ok": False},
        ],
    )
    incidents.add_note(db, incident_id, author="ann", body="restarted in legacy mode")
    conn = open_connection(db)
    run = conn.execute
    run(
        "UPDATE incidents SET started_at = ?, ended_at = ?, status = 'closed' WHERE id = ?",
        (START, END, incident_id),
    )
    run("UPDATE incident_notes SET created_at = '2026-01-01T10:20:00.000Z'")
    flag_sql = (
        "INSERT INTO feature_flag_events (flag, old_value, new_value, source, actor, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?)"
    )
    run(
        flag_sql, ("USE_ENHANCED_INJECTION", 1.0, 0.0, "auto_guard", "auto_guard", "2026-01-01T10:01:00.000Z")
    )
    run(
        flag_sql, ("USE_ENHANCED_INJECTION", 0.0, 0.1, "database", "bob", "2026-01-01T08:00:00.000Z")
    )  # too early
    run(
        flag_sql, ("USE_CROSS_AGENT_SHARING", 1.0, 0.0, "database", "bob", "2026-01-01T10:02:00.000Z")
    )  # other flag
    run(
        flag_sql, ("USE_ENHANCED_INJECTION", 0.1, 1.0, "database", "bob", "2026-01-01T11:00:00.000Z")
    )  # after end
    run(
        "INSERT INTO alert_events (rule, severity, event, value, threshold, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        ("injection_latency_p95", "CRITICAL", "fired", 740.0, 500.0, "2026-01-01T09:30:00.000Z"),
    )
    run(
        "INSERT INTO rollouts (id, flag, steps, hold_seconds, state, started_by) "
        "VALUES (1, ?, '[0.01, 1]', 60, 'aborted', 'bob')",
        ("USE_ENHANCED_INJECTION",),
    )
    run(
        "INSERT INTO rollout_events (rollout_id, event, step_index, value, actor, reason, created_at) "
        "VALUES (1, 'aborted', 0, 0.01, 'auto_guard', 'p95 over 500 ms', '2026-01-01T09:45:00.000Z')"
    )
    run(
        "INSERT INTO rollback_records (migration, backup_path, approved_by, emergency, created_at) "
        "VALUES (4, '/backups/pre-c.db', '[\"em\", \"dba\"]', 0, '2026-01-01T10:10:00.000Z')"
    )
    conn.close()
    return incident_id


def _timeline(draft: str) -> list[tuple[str, str, str]]:
    section = draft.split("## Timeline (UTC)", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| (\d{4}-\S+Z) \| (\w+) \| (.+) \|$", section, re.MULTILINE)


def test_the_timeline_holds_the_real_events_in_time_order(migrated_db: Path) -> None:
    incident_id = _history(migrated_db)
    draft = build_postmortem(migrated_db, incident_id)
    rows = _timeline(draft)
    assert [(when, source) for when, source, _ in rows] == [
        ("2026-01-01T09:30:00.000Z", "alert"),
        ("2026-01-01T09:45:00.000Z", "rollout"),
        (START, "incident"),
        ("2026-01-01T10:01:00.000Z", "flag"),
        ("2026-01-01T10:10:00.000Z", "rollback"),
        ("2026-01-01T10:20:00.000Z", "note"),
        (END, "incident"),
    ]
    what = [w for _, _, w in rows]
    assert "CRITICAL injection_latency_p95 fired (value 740, threshold 500)" in what[0]
    assert "aborted" in what[1] and "p95 over 500 ms" in what[1]
    assert what[3] == "USE_ENHANCED_INJECTION: on -> off (source auto_guard, by auto_guard)"
    assert "migration 004" in what[4] and "em, dba" in what[4]
    assert what[5] == "ann: restarted in legacy mode"
    assert "USE_CROSS_AGENT_SHARING" not in draft  # not one of the incident's flags


def test_the_draft_has_impact_checklist_questions_and_due_date(migrated_db: Path) -> None:
    draft = build_postmortem(migrated_db, _history(migrated_db))
    assert draft.startswith("# Postmortem: Database rolled back")
    assert "Due: 2026-01-03T10:00:00.000Z" in draft  # start + 48 h
    assert "| severity | SEV1 |" in draft
    assert "- Duration: 30.0 min (1800 s)" in draft and "- Downtime: 95 s" in draft
    assert "- Sessions affected: 4" in draft and "- Data lost: memories: 12" in draft
    assert "- Backup: /backups/pre-c.db" in draft
    assert "- [x] db check: integrity ok" in draft and "- [ ] p95 **(FAILED)**" in draft
    for question in ("What happened?", "How was it detected?", "Why did it happen?", "What went well?"):
        assert f"### {question}" in draft
    assert "### Action items" in draft and "| action | owner | due |" in draft


def test_an_incident_without_flags_takes_every_flag_change(migrated_db: Path) -> None:
    incident_id = incidents.open_incident(
        migrated_db, incident_type="drill", severity="SEV3", title="drill", reason="", opened_by="ci"
    )
    conn = open_connection(migrated_db)
    started = conn.execute("SELECT started_at FROM incidents WHERE id = ?", (incident_id,)).fetchone()[0]
    conn.execute(
        "INSERT INTO feature_flag_events (flag, old_value, new_value, source, actor, created_at) "
        "VALUES ('USE_CROSS_AGENT_SHARING', 1, 0, 'database', 'ci', ?)",
        (started,),
    )
    conn.close()
    draft = build_postmortem(migrated_db, incident_id)
    assert "USE_CROSS_AGENT_SHARING: on -> off" in draft
    assert "(so far: the incident is open)" in draft and "| ended | still open |" in draft
