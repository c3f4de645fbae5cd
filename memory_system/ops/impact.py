"""``db impact``: what rolling a migration back would lose, counted from ``created_at``.

Shown before every rollback and recorded with it, so "how much did we lose" has an answer
that was written down before anything was dropped.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from memory_system.core.errors import MigrationError
from memory_system.store import database_ops as maintenance
from memory_system.store import inventory, migrations
from memory_system.store.connection import Connection, open_connection


@dataclass(frozen=True)
class TableImpact:
    table: str
    rows: int
    created_after: int | None  # None: the table has no created_at column


@dataclass(frozen=True)
class Impact:
    migration: int
    name: str
    applied_at: str
    tables: list[TableImpact]

    @property
    def total_rows(self) -> int:
        return sum(t.rows for t in self.tables)

    @property
    def total_created_after(self) -> int:
        return sum(t.created_after or 0 for t in self.tables)

    def rows_lost(self) -> dict[str, int]:
        return {t.table: t.rows for t in self.tables}

    def to_dict(self) -> dict[str, Any]:
        return {
            "migration": self.migration,
            "name": self.name,
            "applied_at": self.applied_at,
            "tables": [asdict(t) for t in self.tables],
            "total_rows": self.total_rows,
            "total_created_after": self.total_created_after,
        }


def impact_of(conn: Connection, version: int) -> Impact:
    record = next((m for m in migrations.applied(conn) if m.version == version), None)
    if record is None:
        raise MigrationError(
            f"migration {version:03d} is not applied to this database; "
            "a rollback of it would change nothing (see 'memory-system db status')"
        )
    tables = inventory.existing(conn, list(inventory.tables_created_by(version)))
    counts = inventory.row_counts(conn, tables)
    return Impact(
        migration=version,
        name=record.name,
        applied_at=record.applied_at,
        tables=[
            TableImpact(t, counts[t], inventory.rows_created_after(conn, t, record.applied_at))
            for t in tables
        ],
    )


def impact(db_path: Path, version: int) -> Impact:
    maintenance.require_memory_database(db_path)
    conn = open_connection(db_path, create=False)
    try:
        return impact_of(conn, version)
    finally:
        conn.close()
