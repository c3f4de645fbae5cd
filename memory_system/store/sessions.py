"""SQL for agent sessions: who owns one, when it was last active, when it ended."""

from __future__ import annotations

from dataclasses import dataclass

from memory_system.store.connection import Connection


@dataclass(frozen=True)
class SessionRecord:
    id: str
    namespace: str
    agent_id: str
    created_at: str
    last_active_at: str
    ended_at: str | None


_COLUMNS = "id, namespace, agent_id, created_at, last_active_at, ended_at"


def insert(conn: Connection, session_id: str, agent_id: str, namespace: str) -> SessionRecord:
    conn.execute(
        "INSERT INTO sessions (id, agent_id, namespace) VALUES (?, ?, ?)", (session_id, agent_id, namespace)
    )
    found = get(conn, session_id)
    assert found is not None
    return found


def get(conn: Connection, session_id: str) -> SessionRecord | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM sessions WHERE id = ?", (session_id,)).fetchone()
    return None if row is None else SessionRecord(*row)


def end(conn: Connection, session_id: str, at: str) -> None:
    conn.execute(
        "UPDATE sessions SET ended_at = ?, last_active_at = ? WHERE id = ? AND ended_at IS NULL",
        (at, at, session_id),
    )


def touch(conn: Connection, session_id: str, agent_id: str, namespace: str, at: str) -> int:
    """Last activity of an open session of this agent; returns how many rows it changed (0 or 1)."""
    cursor = conn.execute(
        "UPDATE sessions SET last_active_at = ? "
        "WHERE id = ? AND agent_id = ? AND namespace = ? AND ended_at IS NULL",
        (at, session_id, agent_id, namespace),
    )
    return int(cursor.rowcount)


def count_open(conn: Connection, active_since: str) -> int:
    """Sessions not ended and active since ``active_since`` (ISO UTC): the sessions a rollback
    starting now touches."""
    row = conn.execute(
        "SELECT COUNT(*) FROM sessions WHERE ended_at IS NULL AND last_active_at >= ?", (active_since,)
    ).fetchone()
    return int(row[0])
