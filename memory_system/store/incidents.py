"""The SQL of the incident log: ``incidents`` (003, grown by 006), ``incident_notes`` (006),
and the event tables a postmortem's timeline is read from.

Every table here is a base (operational) one, so all of it reads and writes in legacy mode.
JSON columns (flags, checklist, details) are written and read here; a hand-edited value that
does not parse is shown as its text rather than hiding the incident.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from memory_system.store.connection import Connection

__all__ = [
    "UPDATABLE",
    "alert_events_between",
    "flag_events_between",
    "incident",
    "incidents",
    "insert_incident",
    "insert_note",
    "notes",
    "rollback_records_between",
    "rollout_events_between",
    "update_incident",
]

_NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
_COLUMNS = (
    "id, incident_type, severity, title, status, reason, flags, opened_by, started_at, ended_at, "
    "sessions_affected, data_loss, downtime_seconds, backup_location, checklist, details, created_at"
)
_JSON: dict[str, Any] = {"flags": [], "checklist": [], "details": {}}
# Columns a caller may set after opening; JSON ones are encoded here.
UPDATABLE = frozenset(
    {
        "sessions_affected",
        "data_loss",
        "downtime_seconds",
        "backup_location",
        "checklist",
        "details",
        "status",
        "ended_at",
        "severity",
        "title",
    }
)


def _decode(text: str | None, empty: Any) -> Any:
    if text is None or text == "":
        return empty
    try:
        return json.loads(text)
    except ValueError:
        return text


def _encode(name: str, value: Any) -> Any:
    if name in _JSON or (name == "data_loss" and value is not None):
        return json.dumps(value)
    return value


def _incident(row: Any) -> dict[str, Any]:
    found = {key: row[key] for key in row.keys()}
    for key, empty in _JSON.items():
        found[key] = _decode(found[key], empty)
    found["data_loss"] = _decode(found["data_loss"], None)
    return found


def insert_incident(
    conn: Connection,
    *,
    incident_type: str,
    severity: str,
    title: str,
    reason: str,
    flags: Iterable[str],
    opened_by: str,
    details: Mapping[str, Any],
    started_at: str | None = None,
) -> int:
    cursor = conn.execute(
        "INSERT INTO incidents (incident_type, severity, title, status, reason, flags, opened_by, details, "
        f"started_at) VALUES (?, ?, ?, 'open', ?, ?, ?, ?, COALESCE(?, {_NOW}))",
        (
            incident_type,
            severity,
            title,
            reason,
            json.dumps(list(flags)),
            opened_by,
            json.dumps(dict(details)),
            started_at,
        ),
    )
    return int(cursor.lastrowid)


def update_incident(conn: Connection, incident_id: int, fields: Mapping[str, Any]) -> bool:
    """Set ``fields`` (names from ``UPDATABLE``); False when there is no such incident."""
    unknown = set(fields) - UPDATABLE
    if unknown:
        raise ValueError(f"not an incident column one may set: {', '.join(sorted(unknown))}")
    if not fields:
        return incident(conn, incident_id) is not None
    names = sorted(fields)
    values = [_encode(n, fields[n]) for n in names]
    assignments = ", ".join(f"{n} = ?" for n in names)  # names come from UPDATABLE only
    cursor = conn.execute(f"UPDATE incidents SET {assignments} WHERE id = ?", (*values, incident_id))
    return cursor.rowcount > 0


def incident(conn: Connection, incident_id: int) -> dict[str, Any] | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM incidents WHERE id = ?", (incident_id,)).fetchone()
    return None if row is None else _incident(row)


def incidents(conn: Connection, *, status: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """Newest first; only ``status`` ones if given."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM incidents WHERE (? IS NULL OR status = ?) ORDER BY started_at DESC, id DESC "
        "LIMIT ?",
        (status, status, limit),
    ).fetchall()
    return [_incident(r) for r in rows]


def insert_note(conn: Connection, incident_id: int, author: str, body: str) -> int:
    cursor = conn.execute(
        "INSERT INTO incident_notes (incident_id, author, body) VALUES (?, ?, ?)", (incident_id, author, body)
    )
    return int(cursor.lastrowid)


def notes(conn: Connection, incident_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT id, author, body, created_at FROM incident_notes WHERE incident_id = ? "
        "ORDER BY created_at, id",
        (incident_id,),
    ).fetchall()
    return [{key: r[key] for key in r.keys()} for r in rows]


def flag_events_between(
    conn: Connection, since: str, until: str, flags: Iterable[str] = ()
) -> list[dict[str, Any]]:
    """Flag changes in [since, until], oldest first; only those of ``flags`` if any are named."""
    wanted = list(flags)
    marks = ", ".join("?" for _ in wanted)
    where = f" AND flag IN ({marks})" if wanted else ""
    rows = conn.execute(
        "SELECT id, flag, old_value, new_value, source, actor, created_at FROM feature_flag_events "
        f"WHERE created_at BETWEEN ? AND ?{where} ORDER BY created_at, id",
        (since, until, *wanted),
    ).fetchall()
    return [{key: r[key] for key in r.keys()} for r in rows]


def alert_events_between(conn: Connection, since: str, until: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT id, rule, severity, event, value, threshold, flags, message, created_at FROM alert_events "
        "WHERE created_at BETWEEN ? AND ? ORDER BY created_at, id",
        (since, until),
    ).fetchall()
    found = []
    for r in rows:
        event = {key: r[key] for key in r.keys()}
        event["flags"] = _decode(event["flags"], [])
        found.append(event)
    return found


def rollout_events_between(
    conn: Connection, since: str, until: str, flags: Iterable[str] = ()
) -> list[dict[str, Any]]:
    wanted = list(flags)
    marks = ", ".join("?" for _ in wanted)
    where = f" AND r.flag IN ({marks})" if wanted else ""
    rows = conn.execute(
        "SELECT e.id, e.rollout_id, r.flag, e.event, e.step_index, e.value, e.actor, e.reason, e.created_at "
        "FROM rollout_events e JOIN rollouts r ON r.id = e.rollout_id "
        f"WHERE e.created_at BETWEEN ? AND ?{where} ORDER BY e.created_at, e.id",
        (since, until, *wanted),
    ).fetchall()
    return [{key: r[key] for key in r.keys()} for r in rows]


def rollback_records_between(conn: Connection, since: str, until: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT id, migration, backup_path, approved_by, emergency, created_at FROM rollback_records "
        "WHERE created_at BETWEEN ? AND ? ORDER BY created_at, id",
        (since, until),
    ).fetchall()
    found = []
    for r in rows:
        record = {key: r[key] for key in r.keys()}
        record["approved_by"] = _decode(record["approved_by"], [])
        record["emergency"] = bool(record["emergency"])
        found.append(record)
    return found
