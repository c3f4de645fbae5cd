"""Schema status for operators: what is applied, what is pending, what the code expects."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from memory_system.store import migrations
from memory_system.store.connection import open_connection


@dataclass
class SchemaStatus:
    database: str
    current_version: int
    expected_version: int
    applied: list[dict[str, Any]]
    pending: list[dict[str, Any]]

    @property
    def state(self) -> str:
        return schema_state(self.current_version, self.expected_version)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "state": self.state}


def expected_version() -> int:
    """The schema version this release expects: the number of migrations it ships."""
    return migrations.expected_version()


def schema_state(current: int, expected: int) -> str:
    """ "current", "behind" (a migration is pending: not ready) or "ahead" (a later release
    migrated this database: still ready, see /health/ready)."""
    if current == expected:
        return "current"
    return "behind" if current < expected else "ahead"


def migrate(path: Path, to: int | None = None) -> list[migrations.Migration]:
    conn = open_connection(path)
    try:
        return migrations.migrate(conn, to)
    finally:
        conn.close()


def status(path: Path) -> SchemaStatus:
    conn = open_connection(path, create=False)
    try:
        known = migrations.load_migrations()
        migrations.verify_checksums(conn, known)
        return SchemaStatus(
            database=str(path),
            current_version=migrations.current_version(conn),
            expected_version=len(known),
            applied=[asdict(m) for m in migrations.applied(conn)],
            pending=[{"version": m.version, "name": m.name} for m in migrations.pending(conn, known)],
        )
    finally:
        conn.close()
