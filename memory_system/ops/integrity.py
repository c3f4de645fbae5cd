"""``db check``: is the file sound, is the graph whole, and does it hold what its schema says?

``integrity_check`` finds damaged pages and indexes but never looks at foreign keys;
``foreign_key_check`` finds rows pointing at rows that are gone. Neither notices a table that
was dropped cleanly (a rollback script stopped half way leaves ``memories`` gone while
``schema_migrations`` still says 4), so the schema is checked too: every table, view, index
and trigger the recorded version promises, and every applied migration's checksum
(``ops/schema.examine``). Any problem means the database should not be trusted until
restored from a verified backup (or, for an earlier migration text, mended by ``db migrate``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from memory_system.ops.schema import examine
from memory_system.store import database_ops as maintenance
from memory_system.store.connection import Connection, open_connection


@dataclass
class CheckResult:
    database: str
    integrity: list[str] = field(default_factory=list)
    foreign_keys: list[str] = field(default_factory=list)
    schema: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.integrity and not self.foreign_keys and not self.schema

    def problems(self) -> list[str]:
        """One line per problem, each naming what is wrong."""
        return (
            [f"integrity_check: {line}" for line in self.integrity]
            + [f"foreign_key_check: {line}" for line in self.foreign_keys]
            + [f"schema: {line}" for line in self.schema]
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "ok": self.ok,
            "integrity_check": self.integrity or ["ok"],
            "foreign_key_check": self.foreign_keys,
            "schema_check": self.schema or ["ok"],
            "problems": self.problems(),
        }


def check_connection(conn: Connection, database: str, *, quick: bool = False) -> CheckResult:
    findings = examine(conn)
    return CheckResult(
        database=database,
        integrity=maintenance.integrity_problems(conn, quick=quick),
        foreign_keys=[str(p) for p in maintenance.foreign_key_problems(conn)],
        schema=findings.problems + findings.mends,
    )


def check(db_path: Path, *, quick: bool = False) -> CheckResult:
    """Run both checks on the database file; raises StoreError if it is not a database at all."""
    maintenance.require_memory_database(db_path)
    conn = open_connection(db_path, create=False)
    try:
        return check_connection(conn, str(db_path), quick=quick)
    finally:
        conn.close()
