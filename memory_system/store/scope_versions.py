"""Scope versions: a counter per namespace that every memory write bumps.

The injection cache keys on it, so a new memory is never hidden by a cached answer,
whichever process (service, CLI import) wrote it. Lives in ``memory_metadata`` (migration
004): in legacy mode (004 rolled back) there is no table and no injection cache to
keep right, so a Phase 1 write bumps nothing.
"""

from __future__ import annotations

from memory_system.store import system_metadata as metadata
from memory_system.store.connection import Connection


def bump_scope(conn: Connection, namespace: str) -> None:
    """Call inside the write transaction that changed the namespace's memories."""
    if not _has_metadata(conn):
        return
    conn.execute(
        "INSERT INTO memory_metadata (key, value) VALUES (?, '1') "
        "ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1, "
        "updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
        (_key(namespace),),
    )


def _has_metadata(conn: Connection) -> bool:
    # One lookup in the schema SQLite holds in memory; the write path's other statements dwarf it.
    found = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'memory_metadata'")
    return found.fetchone() is not None


def scope_version(conn: Connection, namespace: str) -> int:
    if not _has_metadata(conn):
        return 0
    value = metadata.get(conn, _key(namespace))
    return 0 if value is None else int(value)


def _key(namespace: str) -> str:
    return f"scope_version:{namespace}"
