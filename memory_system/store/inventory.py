"""What a database holds: tables, row counts, rows created after a moment.

A rollback's data-loss impact is a query over ``created_at`` (every user-created row has
one), so it is computed, never guessed. Which tables a migration owns is found by
applying the migrations to an in-memory database and comparing the table lists before
and after it, so a new migration needs no list kept by hand.
"""

from __future__ import annotations

from functools import cache

from memory_system.core.errors import MigrationError
from memory_system.store import migrations
from memory_system.store.connection import Connection, connect

PHASE_1_TABLES = ("entities", "relations", "observations")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def user_tables(conn: Connection) -> list[str]:
    """Ordinary tables, in name order: no virtual tables, their shadow tables or sqlite_*."""
    rows = conn.execute("SELECT name, type FROM pragma_table_list WHERE schema = 'main'").fetchall()
    return sorted(str(r[0]) for r in rows if r[1] == "table" and not str(r[0]).startswith("sqlite_"))


def row_counts(conn: Connection, tables: list[str] | None = None) -> dict[str, int]:
    tables = user_tables(conn) if tables is None else tables
    return {t: int(conn.execute(f"SELECT COUNT(*) FROM {_quote(t)}").fetchone()[0]) for t in tables}


def has_column(conn: Connection, table: str, column: str) -> bool:
    return any(r[1] == column for r in conn.execute(f"PRAGMA table_info({_quote(table)})"))


def rows_created_after(conn: Connection, table: str, moment: str) -> int | None:
    """Rows whose ``created_at`` (ISO UTC text) is later than ``moment``; None without the column."""
    if not has_column(conn, table, "created_at"):
        return None
    row = conn.execute(f"SELECT COUNT(*) FROM {_quote(table)} WHERE created_at > ?", (moment,)).fetchone()
    return int(row[0])


def existing(conn: Connection, tables: tuple[str, ...] | list[str]) -> list[str]:
    present = set(user_tables(conn))
    return [t for t in tables if t in present]


def phase_1_counts(conn: Connection) -> dict[str, int]:
    """Entity, relation and observation counts: what every rollback must leave unchanged."""
    return row_counts(conn, existing(conn, PHASE_1_TABLES))


@cache
def tables_created_by(version: int) -> tuple[str, ...]:
    """The ordinary tables that migration ``version`` creates (as shipped with this code)."""
    known = migrations.load_migrations()
    scratch = connect(":memory:")
    try:
        before: set[str] = set()
        for migration in known:
            if migration.version == version:
                before = set(user_tables(scratch))
            scratch.executescript("BEGIN;\n" + migration.sql + "\nCOMMIT;")
            if migration.version == version:
                return tuple(sorted(set(user_tables(scratch)) - before))
    finally:
        scratch.close()
    raise MigrationError(f"there is no migration {version:03d}")


SchemaObject = tuple[str, str]  # (type, name) as sqlite_master has them: table, view, index, trigger


def schema_objects(conn: Connection) -> set[SchemaObject]:
    """Every table, view, index and trigger of the database, in one ``sqlite_master`` read
    (readiness asks on every probe). SQLite's own (``sqlite_*``) are left out."""
    rows = conn.execute("SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'")
    return {(str(kind), str(name)) for kind, name in rows}


@cache
def promised_objects(versions: frozenset[int]) -> frozenset[SchemaObject]:
    """What a database holds when the shipped migrations ``versions`` made it, in version order
    (versions beyond the shipped ones promise nothing this code knows). After option C that is
    every base migration without the feature ones: base migrations never need them."""
    scratch = connect(":memory:")
    try:
        for migration in migrations.load_migrations():
            if migration.version in versions:
                scratch.executescript("BEGIN;\n" + migration.sql + "\nCOMMIT;")
        return frozenset(schema_objects(scratch))
    finally:
        scratch.close()


def missing_objects(present: set[SchemaObject], versions: frozenset[int]) -> list[SchemaObject]:
    """What the applied ``versions`` promise that ``present`` lacks (a view where a table should
    be counts as missing), tables first."""
    order = {"table": 0, "view": 1, "index": 2, "trigger": 3}
    return sorted(promised_objects(versions) - present, key=lambda o: (order.get(o[0], 9), o[1]))
