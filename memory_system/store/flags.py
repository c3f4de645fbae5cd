"""SQL for feature flags: runtime state, the audit trail, and the sessions the stats count.

Tables come from migrations 002 (``sessions``) and 003 (``feature_flag_state``,
``feature_flag_events``); both survive every rollback, so flags keep working in legacy mode.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from memory_system.store.connection import Connection

__all__ = [
    "FlagEvent",
    "FlagState",
    "active_session_ids",
    "all_events",
    "insert_event",
    "last_changes",
    "list_events",
    "read_state",
    "upsert_state",
]


@dataclass(frozen=True)
class FlagState:
    value: float
    actor: str
    updated_at: str


@dataclass(frozen=True)
class FlagEvent:
    id: int
    flag: str
    old_value: float | None
    new_value: float | None
    source: str
    actor: str
    created_at: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def read_state(conn: Connection) -> dict[str, FlagState]:
    rows = conn.execute("SELECT flag, value, actor, updated_at FROM feature_flag_state").fetchall()
    return {r["flag"]: FlagState(float(r["value"]), r["actor"], r["updated_at"]) for r in rows}


def upsert_state(conn: Connection, flag: str, value: float, actor: str, now: str) -> None:
    conn.execute(
        "INSERT INTO feature_flag_state (flag, value, actor, updated_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (flag) DO UPDATE SET value = excluded.value, actor = excluded.actor,"
        " updated_at = excluded.updated_at",
        (flag, value, actor, now),
    )


def insert_event(
    conn: Connection,
    *,
    flag: str,
    old_value: float | None,
    new_value: float | None,
    source: str,
    actor: str,
    now: str,
) -> int:
    cur = conn.execute(
        "INSERT INTO feature_flag_events (flag, old_value, new_value, source, actor, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (flag, old_value, new_value, source, actor, now),
    )
    return int(cur.lastrowid)


def list_events(conn: Connection, *, limit: int, flag: str | None = None) -> list[FlagEvent]:
    """Newest first."""
    where, params = ("WHERE flag = ?", [flag]) if flag else ("", [])
    rows = conn.execute(
        "SELECT id, flag, old_value, new_value, source, actor, created_at FROM feature_flag_events"
        f" {where} ORDER BY id DESC LIMIT ?",
        (*params, limit),
    ).fetchall()
    return [
        FlagEvent(
            r["id"], r["flag"], r["old_value"], r["new_value"], r["source"], r["actor"], r["created_at"]
        )
        for r in rows
    ]


def all_events(conn: Connection) -> list[FlagEvent]:
    """The whole audit trail, oldest first (``db restore`` carries it into the restored file)."""
    rows = conn.execute(
        "SELECT id, flag, old_value, new_value, source, actor, created_at FROM feature_flag_events"
        " ORDER BY id"
    ).fetchall()
    return [
        FlagEvent(
            r["id"], r["flag"], r["old_value"], r["new_value"], r["source"], r["actor"], r["created_at"]
        )
        for r in rows
    ]


def last_changes(conn: Connection) -> dict[str, str]:
    """When each flag last changed, by any source that records changes."""
    rows = conn.execute(
        "SELECT flag, MAX(created_at) AS at FROM feature_flag_events GROUP BY flag"
    ).fetchall()
    return {r["flag"]: r["at"] for r in rows}


def active_session_ids(conn: Connection, *, since: str) -> list[str]:
    """Sessions not ended and active at or after ``since`` (ISO UTC text, as stored)."""
    rows = conn.execute(
        "SELECT id FROM sessions WHERE ended_at IS NULL AND last_active_at >= ?", (since,)
    ).fetchall()
    return [r["id"] for r in rows]
