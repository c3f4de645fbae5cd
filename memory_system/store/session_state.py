"""SQL of session state (one JSON document per session, versioned) and of session hand-off.

A session without a row has the empty document at version 0. A write names the version it
read; the UPDATE matches only that version, so of two writers who read the same version
exactly one wins, even across processes.
"""

from __future__ import annotations

from dataclasses import dataclass

from memory_system.store.connection import Connection
from memory_system.store.sessions import SessionRecord

__all__ = [
    "StateRow",
    "copy_state",
    "insert_handoff",
    "merge_memory",
    "move_memory",
    "read_state",
    "working_memories",
    "write_state",
]


@dataclass(frozen=True)
class StateRow:
    state: str  # JSON text
    version: int
    updated_at: str | None


def read_state(conn: Connection, session_id: str) -> StateRow:
    row = conn.execute(
        "SELECT state, version, updated_at FROM session_state WHERE session_id = ?", (session_id,)
    ).fetchone()
    return StateRow(row[0], row[1], row[2]) if row else StateRow("{}", 0, None)


def write_state(
    conn: Connection, session: SessionRecord, state_json: str, expected_version: int, now: str
) -> int | None:
    """The new version, or None when ``expected_version`` is not the current one."""
    if expected_version == 0:
        cur = conn.execute(
            "INSERT INTO session_state (session_id, namespace, agent_id, state, version, created_at,"
            " updated_at) VALUES (?, ?, ?, ?, 1, ?, ?) ON CONFLICT (session_id) DO NOTHING",
            (session.id, session.namespace, session.agent_id, state_json, now, now),
        )
        return 1 if cur.rowcount == 1 else None
    cur = conn.execute(
        "UPDATE session_state SET state = ?, version = version + 1, updated_at = ?"
        " WHERE session_id = ? AND version = ?",
        (state_json, now, session.id, expected_version),
    )
    return expected_version + 1 if cur.rowcount == 1 else None


# --- hand-off -----------------------------------------------------------------------------


def copy_state(conn: Connection, from_session: str, to: SessionRecord, now: str) -> int:
    """The receiving session's state version: 1 with a copy, 0 when there was nothing to copy."""
    cur = conn.execute(
        "INSERT INTO session_state (session_id, namespace, agent_id, state, version, created_at, updated_at)"
        " SELECT ?, ?, ?, state, 1, ?, ? FROM session_state WHERE session_id = ?",
        (to.id, to.namespace, to.agent_id, now, now, from_session),
    )
    return 1 if cur.rowcount == 1 else 0


def working_memories(conn: Connection, session: SessionRecord) -> list[tuple[int, str, int, float]]:
    """(id, content_hash, reinforcement_count, importance) of the session's working memories."""
    rows = conn.execute(
        "SELECT id, content_hash, reinforcement_count, importance FROM memories"
        " WHERE session_id = ? AND namespace = ? AND agent_id = ? AND tier = 'working' ORDER BY id",
        (session.id, session.namespace, session.agent_id),
    )
    return [(row[0], row[1], row[2], row[3]) for row in rows]


def move_memory(conn: Connection, memory_id: int, agent_id: str, session_id: str, now: str) -> None:
    conn.execute(
        "UPDATE memories SET agent_id = ?, session_id = ?, updated_at = ? WHERE id = ?",
        (agent_id, session_id, now, memory_id),
    )


def merge_memory(
    conn: Connection, source_id: int, into_id: int, times: int, importance: float, now: str
) -> None:
    """The receiver already has this content: reinforce its copy and drop the sender's."""
    conn.execute(
        "UPDATE memories SET reinforcement_count = reinforcement_count + ?,"
        " importance = max(importance, ?), updated_at = ? WHERE id = ?",
        (times, importance, now, into_id),
    )
    conn.execute("DELETE FROM memories WHERE id = ?", (source_id,))


def insert_handoff(
    conn: Connection,
    *,
    namespace: str,
    session_id: str,
    from_agent: str,
    to_agent: str,
    new_session_id: str,
    moved: int,
    now: str,
) -> int:
    cur = conn.execute(
        "INSERT INTO session_handoffs (namespace, session_id, from_agent_id, to_agent_id, new_session_id,"
        " memories_moved, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (namespace, session_id, from_agent, to_agent, new_session_id, moved, now),
    )
    return int(cur.lastrowid)
