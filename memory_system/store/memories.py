"""SQL of the memories table: writes, visibility-filtered reads, and the tier maintenance queries.

Every function takes the connection it runs on, so the service decides the transaction.
Reads take the caller's ``scope.Visibility`` and filter with ``visibility.visible_sql`` over
alias ``m``; nothing here reads memories without it except ``fetch`` (rows the caller just
wrote) and the maintenance queries, which act on behalf of the system, not of an agent.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol, TypeVar

from memory_system.store.connection import Connection
from memory_system.store.scope import Visibility
from memory_system.store.visibility import visible_sql

_CHUNK = 500  # well under SQLite's host-parameter limit
T = TypeVar("T")


class Row(Protocol):
    """A result row, read by column name (``Memory.from_row`` in the service layer)."""

    def __getitem__(self, column: str, /) -> Any: ...


MEMORY_COLUMNS = (
    "id",
    "namespace",
    "agent_id",
    "session_id",
    "user_id",
    "kind",
    "tier",
    "content",
    "importance",
    "metadata",
    "visibility",
    "occurred_at",
    "created_at",
    "updated_at",
    "last_accessed_at",
    "access_count",
    "reinforcement_count",
    "expires_at",
)
_COLS = ", ".join(f"m.{c}" for c in MEMORY_COLUMNS)


def _chunks(items: Sequence[T]) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _marks(n: int) -> str:
    return ",".join("?" * n)


# --- writes -------------------------------------------------------------------------------

INSERT_SQL = (
    "INSERT INTO memories (namespace, agent_id, session_id, user_id, kind, tier, content, content_hash,"
    " importance, metadata, visibility, occurred_at, created_at, updated_at, expires_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _last_id(conn: Connection) -> int:
    row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'memories'").fetchone()
    return int(row[0]) if row else 0


def insert_many(conn: Connection, rows: Sequence[tuple[Any, ...]]) -> list[int]:
    """Rows of one scope in ``INSERT_SQL`` column order; one executemany (the FTS trigger indexes each).

    Returns the new ids in row order. Inside the write transaction nobody else inserts, and
    AUTOINCREMENT hands out ``seq + 1, seq + 2, ...``; the sequence is checked after, and the
    ids are looked up by content hash should it ever disagree.
    """
    if not rows:
        return []
    before = _last_id(conn)
    conn.executemany(INSERT_SQL, rows)
    if _last_id(conn) == before + len(rows):
        return list(range(before + 1, before + len(rows) + 1))
    namespace, agent_id = rows[0][0], rows[0][1]
    found = ids_by_hash(conn, namespace, agent_id, [row[7] for row in rows])
    return [found[row[7]] for row in rows]


def ids_by_hash(conn: Connection, namespace: str, agent_id: str, hashes: Iterable[str]) -> dict[str, int]:
    unique = list(dict.fromkeys(hashes))
    found: dict[str, int] = {}
    for chunk in _chunks(unique):
        rows = conn.execute(
            "SELECT content_hash, id FROM memories WHERE namespace = ? AND agent_id = ?"
            f" AND content_hash IN ({_marks(len(chunk))})",
            (namespace, agent_id, *chunk),
        )
        found.update({row[0]: row[1] for row in rows})
    return found


def reinforce_by_hash(
    conn: Connection,
    namespace: str,
    agent_id: str,
    updates: Sequence[tuple[int, float, str | None, str]],
    now: str,
) -> None:
    """``updates``: (times, importance, expires_at, content_hash). Importance only grows; an
    expiry only lengthens (NULL, never, wins)."""
    conn.executemany(
        "UPDATE memories SET reinforcement_count = reinforcement_count + ?,"
        " importance = max(importance, ?),"
        " expires_at = CASE WHEN expires_at IS NULL OR ?3 IS NULL THEN NULL ELSE max(expires_at, ?3) END,"
        " updated_at = ?4"
        " WHERE namespace = ?5 AND agent_id = ?6 AND content_hash = ?7",
        [
            (times, importance, expires, now, namespace, agent_id, h)
            for times, importance, expires, h in updates
        ],
    )


def fetch(conn: Connection, ids: Sequence[int]) -> dict[int, Row]:
    """By id, with no visibility filter: only for rows the caller has just written or owns."""
    out: dict[int, Row] = {}
    for chunk in _chunks(list(ids)):
        rows = conn.execute(f"SELECT {_COLS} FROM memories m WHERE m.id IN ({_marks(len(chunk))})", chunk)
        out.update({row["id"]: row for row in rows})
    return out


def update_fields(conn: Connection, memory_id: int, changes: dict[str, Any], now: str) -> None:
    """``changes`` keys are trusted column names (the service validated them)."""
    sets = ", ".join(f"{column} = :{column}" for column in changes)
    conn.execute(
        f"UPDATE memories SET {sets}, updated_at = :now WHERE id = :id",
        {**changes, "now": now, "id": memory_id},
    )


def delete(conn: Connection, ids: Sequence[int]) -> int:
    """Delete rows; the FTS trigger and the embeddings' foreign key take the rest with them."""
    deleted = 0
    for chunk in _chunks(list(ids)):
        deleted += conn.execute(f"DELETE FROM memories WHERE id IN ({_marks(len(chunk))})", chunk).rowcount
    return deleted


def touch(conn: Connection, ids: Sequence[int], now: str) -> int:
    """Count one access (retrieved or injected) of each id."""
    touched = 0
    for chunk in _chunks(list(dict.fromkeys(ids))):
        touched += conn.execute(
            f"UPDATE memories SET access_count = access_count + 1, last_accessed_at = ?"
            f" WHERE id IN ({_marks(len(chunk))})",
            (now, *chunk),
        ).rowcount
    return touched


# --- visibility-filtered reads ------------------------------------------------------------


def metadata_sql(
    alias: str, pairs: Sequence[tuple[str, str]], prefix: str
) -> tuple[list[str], dict[str, Any]]:
    """One clause per (path, string) pair of a metadata filter (paths already validated as dotted
    object keys of ``[A-Za-z0-9_-]``): the JSON path is a parameter too, never SQL text."""
    clauses: list[str] = []
    params: dict[str, Any] = {}
    for n, (path, value) in enumerate(pairs):
        json_path = "$" + "".join(f'."{key}"' for key in path.split("."))
        clauses.append(f"json_extract({alias}.metadata, :{prefix}p{n}) = :{prefix}v{n}")
        params[f"{prefix}p{n}"], params[f"{prefix}v{n}"] = json_path, value
    return clauses, params


def get_visible(conn: Connection, memory_id: int, visibility: Visibility) -> Row | None:
    where, params = visible_sql("m", visibility)
    row: Row | None = conn.execute(
        f"SELECT {_COLS} FROM memories m WHERE m.id = :id AND {where}", {**params, "id": memory_id}
    ).fetchone()
    return row


def list_visible(
    conn: Connection,
    visibility: Visibility,
    *,
    kind: str | None = None,
    tier: str | None = None,
    session_id: str | None = None,
    user_id: str | None = None,
    created_after: str | None = None,
    created_before: str | None = None,
    metadata: Sequence[tuple[str, str]] = (),
    before_id: int | None = None,
    limit: int,
) -> list[Row]:
    """Newest first (by id); None matches any. ``created_after`` and ``created_before`` are
    both exclusive; ``metadata`` pairs must all match (``metadata_sql``); ``before_id`` is the
    cursor. Returns up to ``limit`` rows."""
    where, params = visible_sql("m", visibility)
    clauses = [where]
    args: dict[str, Any] = dict(params)
    for column, value in (("kind", kind), ("session_id", session_id), ("user_id", user_id), ("tier", tier)):
        if value is not None:
            clauses.append(f"m.{column} = :f_{column}")
            args[f"f_{column}"] = value
    if created_after is not None:
        clauses.append("m.created_at > :f_after")
        args["f_after"] = created_after
    if created_before is not None:
        clauses.append("m.created_at < :f_before")
        args["f_before"] = created_before
    meta_clauses, meta_params = metadata_sql("m", metadata, "f_meta_")
    clauses += meta_clauses
    args.update(meta_params)
    if before_id is not None:
        clauses.append("m.id < :f_cursor")
        args["f_cursor"] = before_id
    args["f_limit"] = limit
    return list(
        conn.execute(
            f"SELECT {_COLS} FROM memories m WHERE {' AND '.join(clauses)} ORDER BY m.id DESC LIMIT :f_limit",
            args,
        )
    )


# --- tier maintenance (system-wide, no agent's view) ----------------------------------------


def working_of_ended_sessions(
    conn: Connection, *, now: str, idle_before: str, after_id: int = 0, limit: int = -1
) -> list[dict[str, Any]]:
    """Working memories whose session ended, or went idle before ``idle_before``.

    A session counts as ended when ``sessions.ended_at`` is set, or when its last activity
    (the session row, else its newest memory) is older than ``idle_before``. Only the owner's
    memories are its activity: rows another agent wrote under the same id (before such writes
    were refused) form a group of their own, so they cannot keep the owner's session alive. ``ended_at``
    in the result is when it ended, for the grace period.
    """
    rows = conn.execute(
        """
        WITH ws AS (
            SELECT m.session_id AS sid, m.agent_id AS aid, m.namespace AS ns, max(m.updated_at) AS last_memory
            FROM memories m WHERE m.tier = 'working' AND m.session_id IS NOT NULL
            GROUP BY m.session_id, m.agent_id, m.namespace
        ), ended AS (
            SELECT ws.sid, ws.aid, ws.ns,
                   CASE WHEN s.ended_at IS NOT NULL THEN s.ended_at
                        WHEN coalesce(max(s.last_active_at, ws.last_memory), ws.last_memory) < :idle_before
                        THEN coalesce(max(s.last_active_at, ws.last_memory), ws.last_memory)
                   END AS ended_at
            FROM ws LEFT JOIN sessions s ON s.id = ws.sid AND s.agent_id = ws.aid AND s.namespace = ws.ns
        )
        SELECT m.id, m.namespace, m.agent_id, m.session_id, m.importance, m.access_count,
               m.reinforcement_count, e.ended_at
        FROM memories m JOIN ended e ON e.sid = m.session_id AND e.aid = m.agent_id AND e.ns = m.namespace
        WHERE m.tier = 'working' AND e.ended_at IS NOT NULL AND e.ended_at <= :now AND m.id > :after
        ORDER BY m.id LIMIT :limit
        """,
        {"now": now, "idle_before": idle_before, "after": after_id, "limit": limit},
    )
    return [dict(row) for row in rows]


def short_term_candidates(
    conn: Connection,
    *,
    promote_uses: int,
    promote_importance: float,
    untouched_before: str,
    after_id: int = 0,
    limit: int = -1,
) -> list[dict[str, Any]]:
    """Short-term memories a pass may act on: promotable, or untouched since ``untouched_before``.

    A rowid-range scan (``NOT INDEXED``) from ``after_id`` that stops at ``limit`` matches, so the
    chunks of one pass read the table about once instead of sorting every short-term row per chunk.
    """
    rows = conn.execute(
        "SELECT * FROM (SELECT id, namespace, agent_id, session_id, importance, access_count,"
        " reinforcement_count, max(created_at, updated_at, coalesce(last_accessed_at, '')) AS last_activity"
        " FROM memories NOT INDEXED WHERE id > :after AND tier = 'short_term')"
        " WHERE access_count + reinforcement_count >= :uses OR importance >= :importance"
        " OR last_activity < :before ORDER BY id LIMIT :limit",
        {
            "uses": promote_uses,
            "importance": promote_importance,
            "before": untouched_before,
            "after": after_id,
            "limit": limit,
        },
    )
    return [dict(row) for row in rows]


def expired_rows(conn: Connection, now: str, *, after_id: int = 0, limit: int = -1) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT id, namespace, agent_id, session_id FROM memories"
        " WHERE expires_at IS NOT NULL AND expires_at <= ? AND id > ? ORDER BY id LIMIT ?",
        (now, after_id, limit),
    )
    return [dict(row) for row in rows]


def set_tier(conn: Connection, ids: Sequence[int], tier: str) -> None:
    """Promotion is not a content change: ``updated_at`` stays, so age-based rules keep their clock."""
    for chunk in _chunks(list(ids)):
        conn.execute(f"UPDATE memories SET tier = ? WHERE id IN ({_marks(len(chunk))})", (tier, *chunk))


def set_importance(conn: Connection, updates: Sequence[tuple[float, int]]) -> None:
    """(importance, id) pairs; decay does not touch ``updated_at`` either."""
    conn.executemany("UPDATE memories SET importance = ? WHERE id = ?", updates)
