"""Scope versions: a counter per namespace that every memory write bumps.

The injection cache keys on it, so a new memory is never hidden by a cached answer,
whichever process (service, CLI import) wrote it. Lives in ``memory_metadata``.
"""

from __future__ import annotations

from memory_system.store.connection import Connection


def bump_scope(conn: Connection, namespace: str) -> None:
    """Call inside the write transaction that changed the namespace's memories."""
    conn.execute(
        "INSERT INTO memory_metadata (key, value) VALUES (?, '1') "
        "ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1, "
        "updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
        (f"scope_version:{namespace}",),
    )


def scope_version(conn: Connection, namespace: str) -> int:
    row = conn.execute(
        "SELECT value FROM memory_metadata WHERE key = ?", (f"scope_version:{namespace}",)
    ).fetchone()
    return int(row[0]) if row else 0
