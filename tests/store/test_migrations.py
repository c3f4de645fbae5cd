from __future__ import annotations

from pathlib import Path

import pytest

from memory_system.core.errors import MigrationError
from memory_system.store import migrations
from memory_system.store.connection import open_connection


def test_migrate_applies_every_file_in_order_and_records_checksums(db_file: Path) -> None:
    conn = open_connection(db_file)
    done = migrations.migrate(conn)
    assert [m.version for m in done] == list(range(1, migrations.expected_version() + 1))
    recorded = migrations.applied(conn)
    assert [r.checksum for r in recorded] == [m.checksum for m in migrations.load_migrations()]
    assert all(r.applied_at.endswith("Z") for r in recorded)
    assert migrations.migrate(conn) == []  # idempotent


def test_migrate_to_stops_at_the_named_version(db_file: Path) -> None:
    conn = open_connection(db_file)
    migrations.migrate(conn, to=3)
    assert migrations.current_version(conn) == 3
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "entities" in tables and "memories" not in tables


def test_changed_applied_file_is_refused(db_file: Path) -> None:
    conn = open_connection(db_file)
    migrations.migrate(conn)
    conn.execute("UPDATE schema_migrations SET checksum = 'deadbeef' WHERE version = 2")
    with pytest.raises(MigrationError, match="changed after it was applied"):
        migrations.migrate(conn)


def test_rollback_of_a_migration_that_is_not_applied_changes_nothing(db_file: Path) -> None:
    conn = open_connection(db_file)
    migrations.migrate(conn, to=3)
    before = conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0]
    with pytest.raises(MigrationError, match="not applied"):
        migrations.rollback(conn, 4)
    assert conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0] == before


def test_rollback_004_removes_exactly_the_phase_2_objects(db_file: Path) -> None:
    conn = open_connection(db_file)
    migrations.migrate(conn, to=3)
    before = {tuple(r) for r in conn.execute("SELECT type, name FROM sqlite_master")}
    migrations.migrate(conn, to=4)
    migrations.rollback(conn, 4)
    after = {tuple(r) for r in conn.execute("SELECT type, name FROM sqlite_master")}
    # sqlite_sequence appears with the first AUTOINCREMENT table and stays, emptied.
    assert after - {("table", "sqlite_sequence")} == before
    assert migrations.current_version(conn) == 3


@pytest.mark.parametrize("version", range(4, migrations.expected_version() + 1))
def test_each_rollback_leaves_the_schema_as_the_migration_found_it(db_file: Path, version: int) -> None:
    conn = open_connection(db_file)
    migrations.migrate(conn, to=version - 1)
    schema = "SELECT type, name, sql FROM sqlite_master WHERE name != 'sqlite_sequence' ORDER BY name"
    before = [tuple(r) for r in conn.execute(schema)]
    migrations.migrate(conn, to=version)
    assert migrations.current_version(conn) == version
    migrations.rollback(conn, version)
    assert [tuple(r) for r in conn.execute(schema)] == before  # the SQL text of each object included
    assert migrations.current_version(conn) == version - 1
    conn.close()
