"""The incident log's service: open, update, note, close, list, show, on a real SQLite file,
through a path (the CLI's way) and through the service's ``Database``."""

from __future__ import annotations

from pathlib import Path

import pytest

from memory_system.core.errors import StoreError
from memory_system.core.validation import InvalidValue
from memory_system.ops import incidents
from memory_system.ops.incidents import IncidentClosed, IncidentNotFound
from memory_system.store.connection import Database, open_connection


def _open(db: Path | Database, **overrides: object) -> int:
    fields: dict[str, object] = {
        "incident_type": "rollback_a",
        "severity": "SEV1",
        "title": "Injection latency over 500 ms",
        "reason": "p95 at 740 ms",
        "flags": ["USE_ENHANCED_INJECTION"],
        "opened_by": "oncall",
        **overrides,
    }
    return incidents.open_incident(db, **fields)  # type: ignore[arg-type]


def test_open_update_note_close_show(migrated_db: Path) -> None:
    incident_id = _open(migrated_db, details={"option": "a"})
    opened = incidents.get_incident(migrated_db, incident_id)
    assert opened["status"] == "open" and opened["ended_at"] is None
    assert opened["severity"] == "SEV1" and opened["flags"] == ["USE_ENHANCED_INJECTION"]
    assert opened["duration_seconds"] is not None and opened["duration_seconds"] >= 0  # so far

    updated = incidents.update_incident(
        migrated_db,
        incident_id,
        sessions_affected=12,
        downtime_seconds=0.0,
        data_loss={"memories": 3},
        backup_location="/backups/m.db",
        checklist=[
            {"check": "flags off", "ok": True, "detail": "all three"},
            {"check": "p95", "passed": False},
        ],
        details={"rollback_record": 7},
    )
    assert updated["sessions_affected"] == 12 and updated["data_loss"] == {"memories": 3}
    assert updated["details"] == {"option": "a", "rollback_record": 7}  # merged
    assert updated["checklist"] == [
        {"check": "flags off", "ok": True, "detail": "all three"},
        {"check": "p95", "ok": False, "detail": ""},
    ]

    note_id = incidents.add_note(migrated_db, incident_id, author="ann", body="guard turned injection off")
    closed = incidents.close_incident(migrated_db, incident_id, by="ann", note="back to normal")
    assert closed["status"] == "closed" and closed["ended_at"] >= closed["started_at"]
    assert closed["details"]["closed_by"] == "ann"
    assert [n["body"] for n in closed["notes"]] == ["guard turned injection off", "back to normal"]
    assert closed["notes"][0]["id"] == note_id

    with pytest.raises(IncidentClosed, match="already closed"):
        incidents.close_incident(migrated_db, incident_id, by="bob")
    assert incidents.get_incident(migrated_db, incident_id)["ended_at"] == closed["ended_at"]  # unchanged


def test_duration_is_end_minus_start(migrated_db: Path) -> None:
    incident_id = _open(migrated_db)
    conn = open_connection(migrated_db)
    conn.execute(
        "UPDATE incidents SET started_at = '2026-01-01T10:00:00.000Z', "
        "ended_at = '2026-01-01T10:42:30.500Z', status = 'closed' WHERE id = ?",
        (incident_id,),
    )
    conn.close()
    assert incidents.get_incident(migrated_db, incident_id)["duration_seconds"] == 2550.5


def test_list_filters_by_status_newest_first(migrated_db: Path) -> None:
    first, second = _open(migrated_db, title="first"), _open(migrated_db, title="second")
    incidents.close_incident(migrated_db, first, by="ann")
    assert [i["id"] for i in incidents.list_incidents(migrated_db)] == [second, first]
    assert [i["id"] for i in incidents.list_incidents(migrated_db, status="open")] == [second]
    assert [i["id"] for i in incidents.list_incidents(migrated_db, status="closed")] == [first]
    with pytest.raises(InvalidValue, match="open or closed"):
        incidents.list_incidents(migrated_db, status="gone")


def test_the_service_database_handle_works_too(db: Database) -> None:
    incident_id = _open(db, severity="sev2")
    incidents.add_note(db, incident_id, author="ann", body="looking")
    shown = incidents.get_incident(db, incident_id)
    assert shown["severity"] == "SEV2" and [n["body"] for n in shown["notes"]] == ["looking"]
    assert incidents.public_incidents(db) == [
        {"title": "Injection latency over 500 ms", "severity": "SEV2", "started_at": shown["started_at"]}
    ]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"severity": "SEV4"}, "severity"),
        ({"title": "  "}, "title"),
        ({"opened_by": ""}, "opened_by"),
        ({"incident_type": ""}, "incident_type"),
        ({"details": {"x": float("nan")}}, "details"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(
    migrated_db: Path, overrides: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidValue) as refused:
        _open(migrated_db, **overrides)
    assert refused.value.field.startswith(field)
    assert incidents.list_incidents(migrated_db) == []


def test_unknown_ids_and_fields_are_refused(migrated_db: Path) -> None:
    incident_id = _open(migrated_db)
    with pytest.raises(IncidentNotFound, match="no incident 99"):
        incidents.get_incident(migrated_db, 99)
    with pytest.raises(IncidentNotFound):
        incidents.add_note(migrated_db, 99, author="ann", body="x")
    with pytest.raises(InvalidValue, match="not a field"):
        incidents.update_incident(migrated_db, incident_id, status="closed")
    with pytest.raises(InvalidValue, match="must not be negative"):
        incidents.update_incident(migrated_db, incident_id, downtime_seconds=-1)
    with pytest.raises(InvalidValue, match="checklist"):
        incidents.update_incident(migrated_db, incident_id, checklist=[{"check": "x", "ok": "yes"}])
    with pytest.raises(InvalidValue):
        incidents.get_incident(migrated_db, 0)
    assert incidents.get_incident(migrated_db, incident_id)["checklist"] == []


def test_a_file_that_is_not_a_memory_database_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        incidents.list_incidents(tmp_path / "missing.db")


def test_public_status_modes(db: Database) -> None:
    never = lambda: False  # noqa: E731
    status = incidents.public_status(db, legacy=never, degraded=never)
    assert status["mode"] == "normal" and status["incidents"] == []
    assert incidents.public_status(db, legacy=lambda: True, degraded=never)["mode"] == "legacy"
    assert incidents.public_status(db, legacy=never, degraded=lambda: True)["mode"] == "degraded"

    def unreadable() -> bool:
        raise StoreError("database is closed")

    assert incidents.public_status(db, legacy=unreadable, degraded=never)["mode"] == "degraded"
