"""Numbered SQL migrations with a rollback script each.

Files live in ``memory_system/migrations/NNN_name.sql`` and
``memory_system/migrations/rollback/NNN_rollback.sql``. Each is applied in its own
transaction and recorded in ``schema_migrations`` with its sha256, so a file edited
after it was applied is caught before anything else runs.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from memory_system.core.errors import MigrationError
from memory_system.store.connection import Connection

_FILE_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")

_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    checksum   TEXT NOT NULL,
    applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
)
"""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str
    rollback_sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


@dataclass(frozen=True)
class AppliedMigration:
    version: int
    name: str
    checksum: str
    applied_at: str


def migrations_dir() -> Path:
    return Path(str(resources.files("memory_system") / "migrations"))


def load_migrations(directory: Path | None = None) -> list[Migration]:
    """Every migration shipped with the code, in version order."""
    return list(_shipped()) if directory is None else _load(directory)


@functools.cache
def _shipped() -> tuple[Migration, ...]:
    """The files installed with the code cannot change under a running process: read them once
    (``/health/ready`` asks for the expected version on every probe)."""
    return tuple(_load(migrations_dir()))


def _load(directory: Path) -> list[Migration]:
    found: list[Migration] = []
    for path in sorted(directory.glob("*.sql")):
        match = _FILE_NAME.match(path.name)
        if not match:
            raise MigrationError(f"migration file {path.name} is not named NNN_name.sql")
        version = int(match.group(1))
        rollback = directory / "rollback" / f"{match.group(1)}_rollback.sql"
        if not rollback.exists():
            raise MigrationError(f"migration {path.name} has no rollback script {rollback.name}")
        found.append(Migration(version, match.group(2), path.read_text(), rollback.read_text()))
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise MigrationError(f"migration versions must run 1..N without gaps, found {versions}")
    return found


def expected_version() -> int:
    """The schema version this code is written for."""
    return len(load_migrations())


def ensure_table(conn: Connection) -> None:
    conn.execute(_CREATE_TABLE)


def applied(conn: Connection) -> list[AppliedMigration]:
    ensure_table(conn)
    rows = conn.execute(
        "SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version"
    ).fetchall()
    return [AppliedMigration(*row) for row in rows]


def current_version(conn: Connection) -> int:
    """Highest applied version, 0 for an empty database; never creates anything."""
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
    ).fetchone()
    if not exists:
        return 0
    row = conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
    return int(row[0] or 0)


def verify_checksums(conn: Connection, known: list[Migration]) -> None:
    """Refuse to go on when an applied file's text no longer matches what was applied."""
    by_version = {m.version: m for m in known}
    for record in applied(conn):
        migration = by_version.get(record.version)
        if migration is None:
            continue  # applied by a newer release; this code ignores tables it does not know
        if migration.checksum != record.checksum:
            raise MigrationError(
                f"migration {record.version:03d}_{record.name}.sql changed after it was applied "
                f"(checksum {record.checksum[:12]} in the database, {migration.checksum[:12]} on disk); "
                "restore the original file instead of editing an applied migration"
            )


def pending(conn: Connection, known: list[Migration] | None = None) -> list[Migration]:
    known = known if known is not None else load_migrations()
    done = {m.version for m in applied(conn)}
    return [m for m in known if m.version not in done]


def _run_script(conn: Connection, sql: str) -> None:
    # executescript() would COMMIT first; in autocommit mode with our own BEGIN/COMMIT
    # around it, the whole file is one transaction.
    conn.executescript("BEGIN IMMEDIATE;\n" + sql + "\nCOMMIT;")


def migrate(conn: Connection, to: int | None = None) -> list[Migration]:
    """Apply pending migrations in order (up to ``to``); returns what was applied."""
    known = load_migrations()
    if to is not None and not 0 <= to <= len(known):
        raise MigrationError(f"--to {to} is not a known version (1..{len(known)})")
    ensure_table(conn)
    verify_checksums(conn, known)
    current = current_version(conn)
    if to is not None and to < current:
        raise MigrationError(
            f"database is at version {current}; --to {to} would go backwards: "
            "use 'memory-system db rollback --migration N' to undo a migration"
        )
    done: list[Migration] = []
    for migration in pending(conn, known):
        if to is not None and migration.version > to:
            break
        record = (
            "INSERT INTO schema_migrations (version, name, checksum) VALUES "
            f"({migration.version}, '{migration.name}', '{migration.checksum}');"
        )
        try:
            _run_script(conn, migration.sql + "\n" + record)
        except Exception as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise MigrationError(f"migration {migration.version:03d}_{migration.name} failed: {exc}") from exc
        done.append(migration)
    return done


def rollback(conn: Connection, version: int) -> Migration:
    """Run one migration's rollback script in a transaction; only the newest may go."""
    known = {m.version: m for m in load_migrations()}
    if version not in known:
        raise MigrationError(f"there is no migration {version:03d}; known: {sorted(known)}")
    current = current_version(conn)
    applied_versions = {m.version for m in applied(conn)}
    if version not in applied_versions:
        raise MigrationError(f"migration {version:03d} is not applied to this database; nothing to roll back")
    if version != current:
        raise MigrationError(
            f"migration {version:03d} is not the newest applied (that is {current:03d}); "
            f"roll back {current:03d} first"
        )
    migration = known[version]
    try:
        _run_script(
            conn,
            migration.rollback_sql + f"\nDELETE FROM schema_migrations WHERE version = {version};",
        )
    except Exception as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise MigrationError(f"rollback of migration {version:03d} failed, nothing changed: {exc}") from exc
    return migration


def applied_at(conn: Connection, version: int) -> str | None:
    ensure_table(conn)
    row = conn.execute("SELECT applied_at FROM schema_migrations WHERE version = ?", (version,)).fetchone()
    return None if row is None else str(row[0])
