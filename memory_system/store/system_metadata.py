"""SQL of ``memory_metadata``: a small key/value table the memory services keep their own facts in.

Keys are namespaced by their owner (``embedding:model``, ``scope_version:<ns>``,
``tiers:last_maintained_at``); values are text (JSON where structured).
"""

from __future__ import annotations

from typing import Any

from memory_system.store.connection import Connection


def get(conn: Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM memory_metadata WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def put(conn: Connection, key: str, value: str) -> None:
    conn.execute(
        "INSERT INTO memory_metadata (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET"
        " value = excluded.value, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
        (key, value),
    )


def delete(conn: Connection, key: str) -> bool:
    return bool(conn.execute("DELETE FROM memory_metadata WHERE key = ?", (key,)).rowcount)


def with_prefix(conn: Connection, prefix: str) -> list[dict[str, Any]]:
    """Rows whose key starts with ``prefix`` (a plain prefix: LIKE wildcards are escaped)."""
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    rows = conn.execute(
        "SELECT key, value, created_at, updated_at FROM memory_metadata WHERE key LIKE ? ESCAPE '\\'"
        " ORDER BY key",
        (escaped + "%",),
    )
    return [dict(row) for row in rows]
