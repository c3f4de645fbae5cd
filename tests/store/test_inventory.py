"""Tables, row counts and rows created after a moment."""

from __future__ import annotations

from pathlib import Path

from memory_system.store import inventory, migrations
from memory_system.store.connection import open_connection


def test_tables_created_by_004_are_exactly_what_its_rollback_removes(migrated_db: Path) -> None:
    owned = set(inventory.tables_created_by(4))
    assert {"memories", "user_preferences", "code_patterns", "session_state", "memory_metadata"} <= owned
    assert not owned & set(inventory.PHASE_1_TABLES)
    conn = open_connection(migrated_db, create=False)
    assert owned <= set(inventory.user_tables(conn))
    for version in range(migrations.expected_version(), 3, -1):  # the newest first, down to 004
        migrations.rollback(conn, version)
    assert not owned & set(inventory.user_tables(conn))
    conn.close()


def test_user_tables_leave_out_virtual_and_shadow_tables(migrated_db: Path) -> None:
    conn = open_connection(migrated_db, create=False)
    tables = inventory.user_tables(conn)
    conn.close()
    assert "memories" in tables
    assert not [t for t in tables if "_fts" in t or t.startswith("sqlite_")]


def test_counts_and_rows_created_after(migrated_db: Path, fill_phase_data) -> None:
    fill_phase_data(migrated_db)
    conn = open_connection(migrated_db, create=False)
    conn.execute("UPDATE memories SET created_at = '2020-01-01T00:00:00.000Z' WHERE id <= 2")
    assert inventory.row_counts(conn, ["memories", "entities"]) == {"memories": 5, "entities": 3}
    assert inventory.rows_created_after(conn, "memories", "2021-01-01T00:00:00.000Z") == 3
    assert inventory.rows_created_after(conn, "schema_migrations", "2021") is None  # no created_at
    assert inventory.phase_1_counts(conn) == {"entities": 3, "relations": 2, "observations": 4}
    conn.close()
