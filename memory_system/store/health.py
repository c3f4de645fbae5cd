"""SQL the health checks run: a schema probe, a harmless write, a quick integrity check."""

from __future__ import annotations

import os

from memory_system.core.clock import utc_now
from memory_system.store.connection import Connection


def read_probe(conn: Connection) -> int:
    """Rows in schema_migrations: a read that every migrated database can answer."""
    return int(conn.execute("SELECT COUNT(*) FROM schema_migrations").fetchone()[0])


def write_probe(conn: Connection) -> str:
    """Rewrite the one health_probe row (migration 003); returns the time written."""
    at = utc_now()
    conn.execute(
        "INSERT INTO health_probe (id, checked_at, pid) VALUES (1, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at, pid = excluded.pid",
        (at, os.getpid()),
    )
    return at
