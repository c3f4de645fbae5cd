"""The incident log the runbook asks for: one record per rollback, guard flag-off or drill.

An incident is opened by whatever starts one (``rollback a|b|c``, the auto guard, a drill),
filled in as its facts become known (sessions affected, data lost, downtime, the backup, the
checklist results), annotated by people (``incident note``) and closed by one (``incident
close``), which sets its end. Its duration is end minus start, or the time so far while open.

Every function takes the database as a path (the CLI, working on a file the service may be
serving: each call opens a connection of its own and closes it) or as the service's open
``Database`` (its writer and this thread's reader). The tables are base ones (003, 006), so
incidents are kept, and written, in legacy mode too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from memory_system.core.clock import utc_now
from memory_system.core.errors import ServiceError, StoreError, StoreSchemaMissing
from memory_system.core.logging import log_event
from memory_system.core.validation import (
    InvalidValue,
    check_finite,
    check_int64,
    check_json_value,
    check_text,
)
from memory_system.store import database_ops
from memory_system.store import incidents as sql
from memory_system.store import sessions as session_store
from memory_system.store.connection import Connection, Database, open_connection, transaction

__all__ = [
    "MODES",
    "SEVERITIES",
    "DatabaseHandle",
    "IncidentClosed",
    "IncidentNotFound",
    "add_note",
    "close_incident",
    "duration_seconds",
    "get_incident",
    "list_incidents",
    "open_incident",
    "parse_utc",
    "public_incidents",
    "public_status",
    "reading",
    "update_incident",
]

_log = logging.getLogger("memory_system.ops.incidents")

SEVERITIES = ("SEV1", "SEV2", "SEV3")
STATUSES = ("open", "closed")
DatabaseHandle = Path | str | Database
_UPDATE_FIELDS = (
    "sessions_affected",
    "data_loss",
    "downtime_seconds",
    "backup_location",
    "checklist",
    "details",
)
_MAX_TEXT = 4000


class IncidentNotFound(ServiceError, LookupError):
    def __init__(self, incident_id: int) -> None:
        super().__init__(f"no incident {incident_id}; 'memory-system incident list' shows them")
        self.incident_id = incident_id


class IncidentClosed(ServiceError):
    def __init__(self, incident: Mapping[str, Any]) -> None:
        super().__init__(
            f"incident {incident['id']} is already closed (at {incident['ended_at']}); "
            f"add to it with 'memory-system incident note {incident['id']} --by NAME TEXT'"
        )
        self.incident_id = int(incident["id"])


def _open(path: Path) -> Connection:
    database_ops.require_memory_database(path)
    return open_connection(path, create=False)


def _no_tables(db: DatabaseHandle, exc: StoreSchemaMissing) -> StoreError:
    path = db.path if isinstance(db, Database) else db
    return StoreError(
        f"{path} has no incident log of this release ({exc}); "
        f"run 'memory-system db migrate --db {path}' first"
    )


@contextmanager
def reading(db: DatabaseHandle) -> Iterator[Connection]:
    """A read connection on ``db``; a schema without the incident log is a StoreError saying to migrate."""
    try:
        if isinstance(db, Database):
            yield db.reader()
            return
        conn = _open(Path(db))
        try:
            yield conn
        finally:
            conn.close()
    except StoreSchemaMissing as exc:
        raise _no_tables(db, exc) from exc


@contextmanager
def _writing(db: DatabaseHandle) -> Iterator[Connection]:
    try:
        if isinstance(db, Database):
            with db.write() as conn:
                yield conn
            return
        conn = _open(Path(db))
        try:
            with transaction(conn):
                yield conn
        finally:
            conn.close()
    except StoreSchemaMissing as exc:
        raise _no_tables(db, exc) from exc


def _text(value: object, field: str, *, required: bool = True, limit: int = _MAX_TEXT) -> str:
    if not isinstance(value, str):
        raise InvalidValue(field, "must be text")
    value = check_text(value.strip(), field)
    if required and not value:
        raise InvalidValue(field, "must not be empty")
    if len(value) > limit:
        raise InvalidValue(field, f"must be at most {limit} characters")
    return value


def _severity(value: object) -> str:
    text = value.strip().upper() if isinstance(value, str) else value
    if text not in SEVERITIES:
        raise InvalidValue("severity", f"must be one of {', '.join(SEVERITIES)}, not {value!r}")
    return str(text)


def _flags(flags: Iterable[str]) -> list[str]:
    if isinstance(flags, str):
        flags = [flags]
    return [_text(f, "flags", limit=100) for f in flags]


def _checklist(value: object) -> list[dict[str, Any]]:
    """Entries ``{check, ok, detail}``; ``passed`` is taken for ``ok`` (the migration's word)."""
    if not isinstance(value, list | tuple):
        raise InvalidValue("checklist", "must be a list of {check, ok, detail}")
    entries = []
    for n, item in enumerate(value):
        if not isinstance(item, Mapping) or "check" not in item:
            raise InvalidValue(f"checklist[{n}]", "must be a mapping with 'check', 'ok' and 'detail'")
        ok = item.get("ok", item.get("passed"))
        if not isinstance(ok, bool):
            raise InvalidValue(f"checklist[{n}].ok", "must be true or false")
        entries.append(
            {
                "check": _text(item["check"], f"checklist[{n}].check", limit=500),
                "ok": ok,
                "detail": _text(item.get("detail") or "", f"checklist[{n}].detail", required=False),
            }
        )
    return entries


def _details(value: object) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidValue("details", "must be a mapping")
    checked = check_json_value(dict(value), "details")
    assert isinstance(checked, dict)
    return checked


def _update_values(fields: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(fields) - set(_UPDATE_FIELDS)
    if unknown:
        raise InvalidValue(
            ", ".join(sorted(unknown)),
            f"not a field one may update; these are: {', '.join(_UPDATE_FIELDS)}",
        )
    values: dict[str, Any] = {}
    for name, value in fields.items():
        if value is None or name == "data_loss":
            values[name] = None if value is None else check_json_value(value, name)
        elif name == "sessions_affected":
            values[name] = check_int64(value, name, minimum=0)
        elif name == "downtime_seconds":
            if check_finite(value, name) < 0:
                raise InvalidValue(name, "must not be negative")
            values[name] = float(value)
        elif name == "backup_location":
            values[name] = _text(value, name)
        elif name == "checklist":
            values[name] = _checklist(value)
        else:  # details: merged into what is there
            base = current["details"] if isinstance(current["details"], dict) else {}
            values[name] = {**base, **_details(value)}
    return values


def _positive_id(incident_id: object) -> int:
    if isinstance(incident_id, bool) or not isinstance(incident_id, int) or not 1 <= incident_id < 2**63:
        raise InvalidValue("id", "must be a positive integer (an id 'memory-system incident list' shows)")
    return incident_id


def _get(conn: Connection, incident_id: int) -> dict[str, Any]:
    found = sql.incident(conn, incident_id)
    if found is None:
        raise IncidentNotFound(incident_id)
    return found


def open_incident(
    db: DatabaseHandle,
    *,
    incident_type: str,
    severity: str,
    title: str,
    reason: str,
    flags: Iterable[str] = (),
    opened_by: str,
    details: Mapping[str, Any] | None = None,
) -> int:
    """Record a new open incident, started now; its id."""
    values: dict[str, Any] = {
        "incident_type": _text(incident_type, "incident_type", limit=64),
        "severity": _severity(severity),
        "title": _text(title, "title", limit=200),
        "reason": _text(reason, "reason", required=False),
        "flags": _flags(flags),
        "opened_by": _text(opened_by, "opened_by", limit=200),
        "details": _details(details or {}),
    }
    with _writing(db) as conn:
        incident_id = sql.insert_incident(conn, **values)
    log_event(
        _log,
        "incident_opened",
        logging.WARNING,
        incident_id=incident_id,
        incident_type=values["incident_type"],
        severity=values["severity"],
        title=values["title"],
        flags=values["flags"],
    )
    return incident_id


def update_incident(db: DatabaseHandle, incident_id: int, **fields: Any) -> dict[str, Any]:
    """Set what became known (``sessions_affected``, ``data_loss``, ``downtime_seconds``,
    ``backup_location``, ``checklist``: a list of ``{check, ok, detail}``, ``details``: merged
    into the details there); the incident as it is now. A closed incident can still be updated:
    the impact is often counted after the end."""
    incident_id = _positive_id(incident_id)
    with _writing(db) as conn:
        values = _update_values(fields, _get(conn, incident_id))
        sql.update_incident(conn, incident_id, values)
        return _with_notes(conn, incident_id)


def close_incident(
    db: DatabaseHandle, incident_id: int, *, by: str, note: str | None = None
) -> dict[str, Any]:
    """End the incident now; ``note`` (if given) is added under ``by``, and ``details.closed_by``
    says who closed it. A closed one is refused."""
    incident_id = _positive_id(incident_id)
    by = _text(by, "by", limit=200)
    body = None if note is None else _text(note, "note")
    with _writing(db) as conn:
        current = _get(conn, incident_id)
        if current["status"] == "closed":
            raise IncidentClosed(current)
        ended_at = utc_now()
        details = current["details"] if isinstance(current["details"], dict) else {}
        sql.update_incident(
            conn,
            incident_id,
            {"status": "closed", "ended_at": ended_at, "details": {**details, "closed_by": by}},
        )
        if body:
            sql.insert_note(conn, incident_id, by, body)
        closed = _with_notes(conn, incident_id)
    log_event(
        _log, "incident_closed", incident_id=incident_id, by=by, duration_seconds=closed["duration_seconds"]
    )
    return closed


def add_note(db: DatabaseHandle, incident_id: int, *, author: str, body: str) -> int:
    """A timeline note (what was seen, what was done); its id. Closed incidents take notes too."""
    incident_id = _positive_id(incident_id)
    author = _text(author, "author", limit=200)
    body = _text(body, "body")
    with _writing(db) as conn:
        _get(conn, incident_id)
        return sql.insert_note(conn, incident_id, author, body)


def list_incidents(db: DatabaseHandle, status: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """Newest first, each with its ``duration_seconds``; only ``open`` or ``closed`` ones if asked."""
    if status is not None and status not in STATUSES:
        raise InvalidValue("status", f"must be open or closed, not {status!r}")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 10_000:
        raise InvalidValue("limit", "must be an integer from 1 to 10000")
    with reading(db) as conn:
        rows = sql.incidents(conn, status=status, limit=limit)
    return [{**r, "duration_seconds": duration_seconds(r)} for r in rows]


def get_incident(db: DatabaseHandle, incident_id: int) -> dict[str, Any]:
    """One incident with its notes (oldest first) and ``duration_seconds``."""
    incident_id = _positive_id(incident_id)
    with reading(db) as conn:
        return _with_notes(conn, incident_id)


def public_incidents(db: DatabaseHandle) -> list[dict[str, Any]]:
    """The open incidents as the public status page shows them: title, severity, start; nothing
    else (no reason, flags, paths or names)."""
    with reading(db) as conn:
        rows = sql.incidents(conn, status="open", limit=20)
    return [
        {"title": r["title"] or "Service incident", "severity": r["severity"], "started_at": r["started_at"]}
        for r in rows
    ]


MODES = {
    "normal": "All systems operational.",
    "legacy": "Core memory is available; advanced memory features are paused while we recover.",
    "degraded": "Some requests may be slow or fail; we are working on it.",
}


def public_status(
    db: DatabaseHandle, *, legacy: Callable[[], bool], degraded: Callable[[], bool]
) -> dict[str, Any]:
    """What ``/status`` shows: the mode, a sentence for it, the open incidents, when.

    ``legacy`` says Phase 2-4 is rolled back; ``degraded`` reads cheap signals only (a firing
    CRITICAL alert, a configured embedder that did not load), since the page is public and polled.
    A database that cannot be read is itself ``degraded``.
    """
    try:
        incidents = public_incidents(db)
        mode = "legacy" if legacy() else "degraded" if degraded() else "normal"
    except StoreError:
        incidents, mode = [], "degraded"
    return {"mode": mode, "message": MODES[mode], "incidents": incidents, "updated_at": utc_now()}


def _with_notes(conn: Connection, incident_id: int) -> dict[str, Any]:
    found = _get(conn, incident_id)
    return {**found, "duration_seconds": duration_seconds(found), "notes": sql.notes(conn, incident_id)}


def parse_utc(stamp: str) -> datetime:
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def duration_seconds(incident: Mapping[str, Any], now: datetime | None = None) -> float | None:
    """End minus start; while open, the time so far. None for a start that does not parse."""
    try:
        start = parse_utc(str(incident["started_at"]))
        end = parse_utc(str(incident["ended_at"])) if incident.get("ended_at") else (now or datetime.now(UTC))
    except ValueError:
        return None
    return round(max(0.0, (end - start).total_seconds()), 3)


def open_sessions(db: DatabaseHandle, active_since: str) -> int:
    """Sessions not ended and active since ``active_since``: what an incident starting now affects."""
    with reading(db) as conn:
        return session_store.count_open(conn, active_since)
