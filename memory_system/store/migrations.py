"""Numbered SQL migrations with a rollback script each.

Files live in ``memory_system/migrations/NNN_name.sql`` and
``memory_system/migrations/rollback/NNN_rollback.sql``. Each is applied in its own
transaction and recorded in ``schema_migrations`` with its sha256, so a file edited
after it was applied is caught before anything else runs. An applied migration is never
edited again; the earlier texts that were (``store/migration_history.py``) are mended: brought
to what the current file creates, and the current checksum recorded.

Two kinds of migration. **Feature** migrations (``FEATURE_MIGRATIONS``: 004 and 005, the Phase
2-4 tables) are what runbook option C rolls back. Every other one is **base**: Phase 1 and the
operational record (flags, incidents, rollouts, approvals...). A base migration never
references what a feature migration creates, so a later base migration (006) stays applied
when 005 and 004 go, and the rollback's own records are written into it while it runs. So the
applied set need not be 1..N: after option C it is every base migration, and ``migrate``
applies what is absent in version order.
"""

from __future__ import annotations

import functools
import hashlib
import re
import sqlite3
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from memory_system.core.errors import MigrationError
from memory_system.store import migration_history
from memory_system.store.connection import Connection
from memory_system.store.migration_history import EarlierText

# Phase 2-4: option C rolls these back (newest first); no base migration may depend on them
# (tests/store/test_migration_kinds.py applies every base migration without them).
FEATURE_MIGRATIONS = frozenset({4, 5})

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


def applied_versions(conn: Connection) -> frozenset[int]:
    """The versions ``schema_migrations`` records; never creates anything."""
    return frozenset(recorded_checksums(conn))


def is_applied(conn: Connection, version: int) -> bool:
    """One primary-key read (legacy mode asks on every Phase 2-4 request)."""
    try:
        row = conn.execute("SELECT 1 FROM schema_migrations WHERE version = ?", (version,)).fetchone()
    except sqlite3.OperationalError:  # no schema_migrations yet: nothing is applied
        return False
    return row is not None


def rollback_refusal(applied_set: frozenset[int], version: int) -> str | None:
    """Why migration ``version`` may not be rolled back now; None when it may.

    The newest applied migration may always go. A feature migration may also go while newer
    base migrations stay (they never depend on it), when it is the newest applied feature one.
    """
    if version not in applied_set:
        return f"migration {version:03d} is not applied to this database; nothing to roll back"
    newest = max(applied_set)
    if version == newest:
        return None
    if version in FEATURE_MIGRATIONS:
        newer_features = sorted(v for v in applied_set & FEATURE_MIGRATIONS if v > version)
        if not newer_features:
            return None
        first = newer_features[-1]
        return (
            f"migration {version:03d} is not the newest applied Phase 2-4 migration "
            f"(that is {first:03d}); roll back {first:03d} first"
        )
    return (
        f"migration {version:03d} is not the newest applied (that is {newest:03d}); "
        f"roll back {newest:03d} first"
    )


def recorded_checksums(conn: Connection) -> dict[int, str]:
    """``{version: checksum}`` as ``schema_migrations`` records them; never creates anything."""
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
    ).fetchone()
    if not exists:
        return {}
    return {int(v): str(c) for v, c in conn.execute("SELECT version, checksum FROM schema_migrations")}


def checksum_mismatch(version: int, name: str, recorded: str, on_disk: str) -> str:
    return (
        f"migration {version:03d}_{name}.sql changed after it was applied "
        f"(checksum {recorded[:12]} in the database, {on_disk[:12]} on disk) and is no known "
        "earlier text: restore the original file instead of editing an applied migration"
    )


def checksum_problems(
    recorded: dict[int, str], known: list[Migration]
) -> tuple[list[str], list[EarlierText]]:
    """What the recorded checksums say: mismatches no mend can fix, and earlier texts to mend."""
    problems: list[str] = []
    mends: list[EarlierText] = []
    for migration in known:
        checksum = recorded.get(migration.version)
        if checksum is None or checksum == migration.checksum:
            continue
        earlier = migration_history.earlier_text(migration.version, checksum)
        if earlier is not None:
            mends.append(earlier)
        else:
            problems.append(
                checksum_mismatch(migration.version, migration.name, checksum, migration.checksum)
            )
    return problems, mends


def verify_checksums(conn: Connection, known: list[Migration]) -> None:
    """Refuse to go on when an applied file's text no longer matches what was applied (an
    earlier text that ``mend`` knows is accepted: ``migrate`` mends it first)."""
    problems, _ = checksum_problems(recorded_checksums(conn), known)
    if problems:
        raise MigrationError(problems[0])


def mend(conn: Connection, known: list[Migration] | None = None) -> list[EarlierText]:
    """Bring every migration applied from a known earlier text to the current one; returns them.

    Each runs its upgrade script and records the current checksum in one transaction, so a
    failure leaves the database as it was.
    """
    known = known if known is not None else load_migrations()
    by_version = {m.version: m for m in known}
    _, mends = checksum_problems(recorded_checksums(conn), known)
    for earlier in mends:
        current = by_version[earlier.version]
        record = (
            f"UPDATE schema_migrations SET checksum = '{current.checksum}' "
            f"WHERE version = {earlier.version} AND checksum = '{earlier.checksum}';"
        )
        upgrade = earlier.upgrade_sql()
        try:
            _run_script(conn, upgrade + "\n" + record)
        except Exception as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise MigrationError(
                f"mending migration {earlier.version:03d} (as applied at {earlier.commit}) failed, "
                f"nothing changed: {exc}"
            ) from exc
    return mends


def pending(conn: Connection, known: list[Migration] | None = None) -> list[Migration]:
    known = known if known is not None else load_migrations()
    done = {m.version for m in applied(conn)}
    return [m for m in known if m.version not in done]


def _run_script(conn: Connection, sql: str) -> None:
    # executescript() would COMMIT first; in autocommit mode with our own BEGIN/COMMIT
    # around it, the whole file is one transaction.
    conn.executescript("BEGIN IMMEDIATE;\n" + sql + "\nCOMMIT;")


def migrate(
    conn: Connection, to: int | None = None, *, skip: frozenset[int] = frozenset()
) -> list[Migration]:
    """Apply pending migrations in order (up to ``to``, none of ``skip``); returns what was applied.

    ``skip``: migrations rolled back on purpose that ``serve`` must not bring back unasked
    (``ops/schema.rolled_back_on_purpose``); the base ones after them are still applied.
    """
    known = load_migrations()
    if to is not None and not 0 <= to <= len(known):
        raise MigrationError(f"--to {to} is not a known version (1..{len(known)})")
    ensure_table(conn)
    verify_checksums(conn, known)
    mend(conn, known)
    current = current_version(conn)
    todo = [m for m in pending(conn, known) if m.version not in skip and (to is None or m.version <= to)]
    if to is not None and to < current and not todo:
        raise MigrationError(
            f"database is at version {current}; --to {to} would go backwards: "
            "use 'memory-system db rollback --migration N' to undo a migration"
        )
    done: list[Migration] = []
    for migration in todo:
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
    """Run one migration's rollback script in a transaction: the newest applied, or the newest
    applied feature migration (``rollback_refusal``)."""
    known = {m.version: m for m in load_migrations()}
    if version not in known:
        raise MigrationError(f"there is no migration {version:03d}; known: {sorted(known)}")
    ensure_table(conn)
    refusal = rollback_refusal(applied_versions(conn), version)
    if refusal:
        raise MigrationError(refusal)
    # The rollback script drops what the current text creates: mend an earlier one first.
    verify_checksums(conn, list(known.values()))
    mend(conn, list(known.values()))
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


def newest_rollback(conn: Connection) -> int | None:
    """The migration the newest ``rollback_records`` row (migration 003) rolled back; None
    without one (or before 003)."""
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'rollback_records'"
    ).fetchone()
    if not exists:
        return None
    row = conn.execute("SELECT migration FROM rollback_records ORDER BY id DESC LIMIT 1").fetchone()
    return None if row is None else int(row[0])
