"""SQL of cross-agent sharing: live grants (``memory_shares``) and the audit trail (``share_events``).

A grant's ``grantee_agent_id`` is NULL when it is for the whole namespace. Revoking deletes
the grant row; the trail keeps every grant, revoke and hand-off, and outlives the memory.
Every function takes the connection it runs on so that callers compose one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from memory_system.store.connection import Connection

__all__ = [
    "GrantRow",
    "ShareEventRow",
    "delete_grant",
    "insert_event",
    "list_events",
    "list_grants",
    "memory_owner",
    "set_visibility",
    "upsert_grant",
    "visible_until",
]


@dataclass(frozen=True)
class GrantRow:
    memory_id: int
    grantee_agent_id: str | None
    granted_by: str
    expires_at: str | None
    created_at: str


@dataclass(frozen=True)
class ShareEventRow:
    id: int
    memory_id: int | None
    session_id: str | None
    namespace: str
    action: str
    grantee_agent_id: str | None
    actor: str
    expires_at: str | None
    created_at: str


def memory_owner(conn: Connection, memory_id: int) -> tuple[str, str, str] | None:
    """(namespace, agent_id, visibility) of the memory, or None when it does not exist."""
    row = conn.execute(
        "SELECT namespace, agent_id, visibility FROM memories WHERE id = ?", (memory_id,)
    ).fetchone()
    return (row[0], row[1], row[2]) if row else None


def upsert_grant(
    conn: Connection,
    memory_id: int,
    namespace: str,
    grantee: str | None,
    granted_by: str,
    expires_at: str | None,
) -> None:
    """Create the grant, or give an existing one its new expiry (never a duplicate row)."""
    conn.execute(
        "INSERT INTO memory_shares (memory_id, namespace, grantee_agent_id, granted_by, expires_at)"
        " VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (memory_id, COALESCE(grantee_agent_id, '')) DO UPDATE SET"
        " expires_at = excluded.expires_at, granted_by = excluded.granted_by",
        (memory_id, namespace, grantee, granted_by, expires_at),
    )


def delete_grant(conn: Connection, memory_id: int, grantee: str | None) -> bool:
    """True when a grant was there to delete."""
    cur = conn.execute(
        "DELETE FROM memory_shares WHERE memory_id = ? AND COALESCE(grantee_agent_id, '') = ?",
        (memory_id, grantee or ""),
    )
    return bool(cur.rowcount)


def list_grants(conn: Connection, memory_id: int) -> list[GrantRow]:
    rows = conn.execute(
        "SELECT memory_id, grantee_agent_id, granted_by, expires_at, created_at FROM memory_shares"
        " WHERE memory_id = ? ORDER BY grantee_agent_id IS NOT NULL, grantee_agent_id",
        (memory_id,),
    )
    return [GrantRow(*row) for row in rows]


def set_visibility(conn: Connection, memory_id: int, visibility: str) -> None:
    """The memory's summary column; ``updated_at`` is left alone (the content did not change)."""
    conn.execute("UPDATE memories SET visibility = ? WHERE id = ?", (visibility, memory_id))


def insert_event(
    conn: Connection,
    *,
    namespace: str,
    action: str,
    actor: str,
    memory_id: int | None = None,
    grantee: str | None = None,
    expires_at: str | None = None,
    session_id: str | None = None,
) -> None:
    conn.execute(
        "INSERT INTO share_events (memory_id, session_id, namespace, action, grantee_agent_id, actor,"
        " expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (memory_id, session_id, namespace, action, grantee, actor, expires_at),
    )


def list_events(
    conn: Connection,
    *,
    namespace: str,
    agent_id: str,
    memory_id: int | None,
    before_id: int | None,
    limit: int,
) -> list[ShareEventRow]:
    """Newest first: events the agent took part in (actor or grantee), namespace-wide grants,
    and every event about a memory the agent owns now."""
    where = [
        "e.namespace = :ns",
        (
            "(e.actor = :agent OR e.grantee_agent_id = :agent"
            " OR (e.grantee_agent_id IS NULL AND e.action != 'handoff')"
            " OR e.memory_id IN (SELECT id FROM memories WHERE namespace = :ns AND agent_id = :agent))"
        ),
    ]
    params: dict[str, Any] = {"ns": namespace, "agent": agent_id, "limit": limit}
    if memory_id is not None:
        where.append("e.memory_id = :memory_id")
        params["memory_id"] = memory_id
    if before_id is not None:
        where.append("e.id < :before_id")
        params["before_id"] = before_id
    rows = conn.execute(
        "SELECT e.id, e.memory_id, e.session_id, e.namespace, e.action, e.grantee_agent_id, e.actor,"
        f" e.expires_at, e.created_at FROM share_events e WHERE {' AND '.join(where)}"
        " ORDER BY e.id DESC LIMIT :limit",
        params,
    )
    return [ShareEventRow(*row) for row in rows]


def visible_until(
    conn: Connection, *, agent_id: str, namespace: str, memory_ids: Sequence[int], now: str
) -> str | None:
    """When the first of these memories stops being visible to the agent because a grant expires.

    Its own memories and those visible with no end (namespace visibility, a grant without
    expiry) never stop; for the rest the latest live grant counts. Caches of what an agent
    saw (injection) must not outlive this: grant expiry is time, no write bumps a scope.
    """
    earliest: str | None = None
    ids = list(dict.fromkeys(memory_ids))
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        row = conn.execute(
            "SELECT min(until) FROM (SELECT max(s.expires_at) AS until,"
            " max(s.expires_at IS NULL) AS forever FROM memory_shares s JOIN memories m ON m.id = s.memory_id"
            f" WHERE s.memory_id IN ({marks}) AND m.namespace = ? AND m.agent_id != ?"
            " AND m.visibility != 'namespace'"
            " AND (s.grantee_agent_id = ? OR s.grantee_agent_id IS NULL)"
            " AND (s.expires_at IS NULL OR s.expires_at > ?)"
            " GROUP BY s.memory_id) WHERE forever = 0",
            (*chunk, namespace, agent_id, agent_id, now),
        ).fetchone()
        if row[0] is not None and (earliest is None or row[0] < earliest):
            earliest = row[0]
    return earliest
