"""Scope versions: a counter per namespace that every memory write bumps.

The injection cache keys on it, so a new memory is never hidden by a cached answer,
whichever process (service, CLI import) wrote it. Lives in ``memory_metadata``.
"""

from __future__ import annotations

from memory_system.store import system_metadata as metadata
from memory_system.store.connection import Connection


def bump_scope(conn: Connection, namespace: str) -> None:
    """Call inside the write transaction that changed the namespace's memories."""
    conn.execute(
        "INSERT INTO memory_metadata (key, value) VALUES (?, '1') "
        "ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1, "
        "updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
        (_key(namespace),),
    )


def scope_version(conn: Connection, namespace: str) -> int:
    value = metadata.get(conn, _key(namespace))
    return 0 if value is None else int(value)


def _key(namespace: str) -> str:
    return f"scope_version:{namespace}"
