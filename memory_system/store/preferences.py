"""SQL of ``user_preferences``: one JSON value per (namespace, user, key)."""

from __future__ import annotations

from typing import Any

from memory_system.store.connection import Connection

_COLS = "namespace, user_id, key, value, created_at, updated_at, created_by, updated_by"


def get(conn: Connection, namespace: str, user_id: str, key: str) -> Any:
    return conn.execute(
        f"SELECT {_COLS} FROM user_preferences WHERE namespace = ? AND user_id = ? AND key = ?",
        (namespace, user_id, key),
    ).fetchone()


def upsert(
    conn: Connection, namespace: str, user_id: str, key: str, value_json: str, now: str, agent_id: str
) -> bool:
    """True when the key was new; ``agent_id`` is its creator then, and its last writer always."""
    existed = get(conn, namespace, user_id, key) is not None
    conn.execute(
        "INSERT INTO user_preferences (namespace, user_id, key, value, created_at, updated_at, created_by,"
        " updated_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (namespace, user_id, key)"
        " DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at,"
        " updated_by = excluded.updated_by",
        (namespace, user_id, key, value_json, now, now, agent_id, agent_id),
    )
    return not existed


def delete(conn: Connection, namespace: str, user_id: str, key: str) -> bool:
    return bool(
        conn.execute(
            "DELETE FROM user_preferences WHERE namespace = ? AND user_id = ? AND key = ?",
            (namespace, user_id, key),
        ).rowcount
    )


def list_for_user(conn: Connection, namespace: str, user_id: str) -> list[Any]:
    return list(
        conn.execute(
            f"SELECT {_COLS} FROM user_preferences WHERE namespace = ? AND user_id = ? ORDER BY key",
            (namespace, user_id),
        )
    )
