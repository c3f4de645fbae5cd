"""A postmortem draft for one incident, in markdown: what the database recorded, and the
runbook's questions left for people to answer.

The timeline merges, in time order, the flag changes (of the incident's flags, or every flag
when it names none), alert fires and resolves, rollout steps and database rollbacks from an
hour before the start to the end (now, while open), with the incident's own notes. The
runbook asks for the postmortem within 48 hours, so the draft is due at start + 48 h.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from memory_system.core.clock import format_utc
from memory_system.core.errors import StoreSchemaMissing
from memory_system.ops import incidents as incident_log
from memory_system.ops.incidents import DatabaseHandle, parse_utc
from memory_system.store import incidents as sql
from memory_system.store.connection import Connection

__all__ = ["DUE_AFTER", "LOOKBACK", "build_postmortem", "timeline"]

LOOKBACK = timedelta(hours=1)
DUE_AFTER = timedelta(hours=48)

QUESTIONS = (
    ("What happened?", "In a few sentences, for someone who was not there."),
    ("How was it detected?", "Alert, guard, user report? How long from the start to detection?"),
    ("Why did it happen?", "The root cause and what let it through (five whys)."),
    ("What went well?", ""),
    ("What went badly?", ""),
    ("Where did we get lucky?", ""),
)


def _value(value: object) -> str:
    if value is None:
        return "unset"
    if isinstance(value, float) and value.is_integer():
        return "on" if value == 1 else "off" if value == 0 else f"{value:g}"
    return f"{value:g}" if isinstance(value, float) else str(value)


def timeline(
    conn: Connection, incident: dict[str, Any], now: datetime | None = None
) -> list[tuple[str, str, str]]:
    """``(time, source, what)`` in time order; a table a database lacks adds nothing."""
    start = parse_utc(incident["started_at"])
    end = parse_utc(incident["ended_at"]) if incident.get("ended_at") else (now or datetime.now(UTC))
    since, until = format_utc(start - LOOKBACK), format_utc(max(end, start))
    flags = (
        [f for f in incident["flags"] if isinstance(f, str)] if isinstance(incident["flags"], list) else []
    )
    entries: list[tuple[str, str, str]] = []

    def read(source: str, rows: Any) -> list[dict[str, Any]]:
        try:
            return list(rows())
        except StoreSchemaMissing:
            entries.append((since, source, f"(no {source} events recorded: the table is missing)"))
            return []

    for e in read("flag", lambda: sql.flag_events_between(conn, since, until, flags)):
        entries.append(
            (
                e["created_at"],
                "flag",
                f"{e['flag']}: {_value(e['old_value'])} -> {_value(e['new_value'])} "
                f"(source {e['source']}, by {e['actor']})",
            )
        )
    for e in read("alert", lambda: sql.alert_events_between(conn, since, until)):
        verb = "fired" if e["event"] == "fired" else "resolved"
        measured = (
            "" if e["value"] is None else f" (value {e['value']:g}, threshold {_value(e['threshold'])})"
        )
        entries.append((e["created_at"], "alert", f"{e['severity']} {e['rule']} {verb}{measured}"))
    for e in read("rollout", lambda: sql.rollout_events_between(conn, since, until, flags)):
        reason = f": {e['reason']}" if e["reason"] else ""
        entries.append(
            (
                e["created_at"],
                "rollout",
                f"rollout {e['rollout_id']} of {e['flag']} {e['event']} at step {e['step_index'] + 1} "
                f"({e['value']:g}) by {e['actor']}{reason}",
            )
        )
    for e in read("rollback", lambda: sql.rollback_records_between(conn, since, until)):
        approved = (
            ", ".join(e["approved_by"]) if isinstance(e["approved_by"], list) else str(e["approved_by"])
        )
        entries.append(
            (
                e["created_at"],
                "rollback",
                f"database rollback of migration {e['migration']:03d}"
                + (" (EMERGENCY)" if e["emergency"] else "")
                + f", approved by {approved or '-'}, backup {e['backup_path'] or '-'}",
            )
        )
    entries.append(
        (
            incident["started_at"],
            "incident",
            f"incident {incident['id']} opened by {incident['opened_by'] or '-'}",
        )
    )
    for note in incident.get("notes", []):
        entries.append((note["created_at"], "note", f"{note['author']}: {note['body']}"))
    if incident.get("ended_at"):
        closer = incident["details"].get("closed_by") if isinstance(incident["details"], dict) else None
        closed = f"incident {incident['id']} closed" + (f" by {closer}" if closer else "")
        entries.append((incident["ended_at"], "incident", closed))
    # Stable: at one instant, the order above (cause before the record of it) is kept.
    return sorted(entries, key=lambda entry: entry[0])


def _seconds(value: float | None) -> str:
    if value is None:
        return "not recorded"
    if value < 120:
        return f"{value:g} s"
    return f"{value / 60:.1f} min ({value:g} s)"


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def build_postmortem(db: DatabaseHandle, incident_id: int, now: datetime | None = None) -> str:
    """The markdown draft for incident ``incident_id``."""
    incident = incident_log.get_incident(db, incident_id)
    with incident_log.reading(db) as conn:
        events = timeline(conn, incident, now)
    start = parse_utc(incident["started_at"])
    due = format_utc(start + DUE_AFTER)
    loss = incident["data_loss"]
    flags = incident["flags"] if isinstance(incident["flags"], list) else []
    sessions = incident["sessions_affected"]
    lines = [
        f"# Postmortem: {incident['title'] or incident['incident_type']} (incident {incident['id']})",
        "",
        f"**Due: {due}** (48 h after the start, as the runbook asks). Status: draft.",
        "",
        "## Summary",
        "",
        "| | |",
        "|---|---|",
        f"| severity | {incident['severity']} |",
        f"| type | {_cell(incident['incident_type'])} |",
        f"| status | {incident['status']} |",
        f"| reason | {_cell(incident['reason'] or '-')} |",
        f"| flags | {_cell(', '.join(map(str, flags)) or '-')} |",
        f"| opened by | {_cell(incident['opened_by'] or '-')} |",
        f"| started | {incident['started_at']} |",
        f"| ended | {incident['ended_at'] or 'still open'} |",
        "",
        "## Impact",
        "",
        f"- Duration: {_seconds(incident['duration_seconds'])}"
        + ("" if incident["ended_at"] else " (so far: the incident is open)"),
        f"- Downtime: {_seconds(incident['downtime_seconds'])}",
        f"- Sessions affected: {'not recorded' if sessions is None else sessions}",
        f"- Data lost: {'none recorded' if loss in (None, '', {}, []) else _loss(loss)}",
        f"- Backup: {incident['backup_location'] or 'none recorded'}",
        "",
        "## Timeline (UTC)",
        "",
        "| time | source | what |",
        "|---|---|---|",
        *(f"| {when} | {source} | {_cell(what)} |" for when, source, what in events),
        "",
        "## Checklist results",
        "",
    ]
    checklist = incident["checklist"] if isinstance(incident["checklist"], list) else []
    if checklist:
        for item in checklist:
            mark = "x" if item.get("ok") else " "
            detail = f": {item['detail']}" if item.get("detail") else ""
            lines.append(
                f"- [{mark}] {item.get('check')}{detail}" + ("" if item.get("ok") else " **(FAILED)**")
            )
    else:
        lines.append("No checklist results recorded.")
    lines += ["", "## Questions", ""]
    for question, hint in QUESTIONS:
        lines += [f"### {question}", "", f"_{hint}_" if hint else "_To answer._", ""]
    lines += [
        "### Action items",
        "",
        "| action | owner | due |",
        "|---|---|---|",
        "| _what will prevent this or catch it sooner_ | _name_ | _date_ |",
        "",
    ]
    return "\n".join(lines)


def _loss(loss: object) -> str:
    if isinstance(loss, dict):
        parts = [f"{k}: {v}" for k, v in loss.items()]
        return ", ".join(parts)
    return str(loss)
