"""SQL of ``alert_events`` (migration 006): every fire and resolve of an alert rule.

The table is operational (006), so it is there in legacy mode too. Rows are written by the
instance that evaluated the rule (``instance`` = host:pid) and read by any: the rollout driver
of one process sees a CRITICAL alert that another process fired.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from memory_system.store.connection import Connection

__all__ = ["AlertEvent", "critical_fired_since", "insert", "list_events"]

_COLS = "id, rule, severity, event, value, threshold, flags, message, instance, created_at"


@dataclass(frozen=True)
class AlertEvent:
    id: int
    rule: str
    severity: str
    event: str  # fired, resolved
    value: float | None
    threshold: float | None
    flags: list[str]
    message: str
    instance: str
    created_at: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _event(row: Any) -> AlertEvent:
    return AlertEvent(
        row["id"],
        row["rule"],
        row["severity"],
        row["event"],
        row["value"],
        row["threshold"],
        list(json.loads(row["flags"] or "[]")),
        row["message"],
        row["instance"],
        row["created_at"],
    )


def insert(
    conn: Connection,
    *,
    rule: str,
    severity: str,
    event: str,
    value: float | None,
    threshold: float | None,
    flags: list[str],
    message: str,
    instance: str,
    now: str,
) -> int:
    cur = conn.execute(
        "INSERT INTO alert_events (rule, severity, event, value, threshold, flags, message, instance,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (rule, severity, event, value, threshold, json.dumps(flags), message, instance, now),
    )
    return int(cur.lastrowid)


def list_events(conn: Connection, *, limit: int, since: str | None = None) -> list[AlertEvent]:
    """Newest first; ``since`` (ISO UTC text, as stored) keeps rows at or after it."""
    where, params = ("WHERE created_at >= ?", [since]) if since else ("", [])
    rows = conn.execute(
        f"SELECT {_COLS} FROM alert_events {where} ORDER BY created_at DESC, id DESC LIMIT ?",
        (*params, limit),
    ).fetchall()
    return [_event(r) for r in rows]


def critical_fired_since(conn: Connection, since: str) -> list[AlertEvent]:
    """CRITICAL fires at or after ``since``, oldest first (what holds a rollout's step back)."""
    rows = conn.execute(
        f"SELECT {_COLS} FROM alert_events WHERE severity = 'CRITICAL' AND event = 'fired'"
        " AND created_at >= ? ORDER BY created_at, id",
        (since,),
    ).fetchall()
    return [_event(r) for r in rows]
