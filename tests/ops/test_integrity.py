"""``db check`` at the library level: both checks, one line per problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from memory_system.core.errors import StoreError
from memory_system.ops.integrity import check
from memory_system.store.connection import open_connection


def test_a_sound_database_passes(migrated_db: Path, fill_phase_data) -> None:
    fill_phase_data(migrated_db)
    result = check(migrated_db)
    assert result.ok and result.problems() == []
    assert result.to_dict()["integrity_check"] == ["ok"]


def test_a_dangling_relation_is_a_foreign_key_problem(migrated_db: Path, fill_phase_data) -> None:
    fill_phase_data(migrated_db)
    conn = open_connection(migrated_db, create=False)
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute("INSERT INTO relations (from_id, to_id, relation_type) VALUES (1, 99, 'ghost')")
    conn.close()
    result = check(migrated_db)
    assert not result.ok and result.integrity == []
    assert result.problems() == [
        "foreign_key_check: table relations row 3 references a missing row in entities"
    ]


def test_a_damaged_index_is_an_integrity_problem(migrated_db: Path, corrupt_index) -> None:
    corrupt_index(migrated_db)
    result = check(migrated_db)
    assert not result.ok
    assert result.problems()[0].startswith("integrity_check: row ")


def test_a_file_that_is_not_sqlite_is_an_error_and_stays_as_it_was(tmp_path: Path) -> None:
    text = tmp_path / "memory.db"
    text.write_bytes(b"PK\x03\x04 a zip file, not a database" * 10)
    before = text.read_bytes()
    with pytest.raises(StoreError, match="is not a SQLite database"):
        check(text)
    assert text.read_bytes() == before


def test_another_applications_sqlite_file_is_refused_untouched(tmp_path: Path) -> None:
    from memory_system.store._sqlite import sqlite3

    other = tmp_path / "other app.db"
    conn = sqlite3.connect(str(other))
    conn.execute("CREATE TABLE things (x)")
    conn.commit()
    conn.close()
    before = other.read_bytes()
    with pytest.raises(StoreError, match="not a memory-system one"):
        check(other)
    assert other.read_bytes() == before  # still in rollback-journal mode: never opened for writing
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other app.db"]


def test_a_table_the_schema_version_promises_is_a_schema_problem(migrated_db: Path, fill_phase_data) -> None:
    """The runbook's raw-SQL rollback stopped half way: memories dropped, schema_migrations still 5."""
    from memory_system.ops import schema

    fill_phase_data(migrated_db)
    conn = open_connection(migrated_db, create=False)
    conn.execute("DROP TABLE memories")
    conn.close()
    result = check(migrated_db)
    assert not result.ok and result.integrity == [] and result.foreign_keys == []
    assert len(result.schema) == 1 and "lacks table memories" in result.schema[0]
    assert result.problems()[0].startswith(
        f"schema: schema_migrations says 001-{schema.expected_version():03d} are applied"
    )
    status = schema.status(migrated_db)
    assert status.state == "damaged" and status.current_version == schema.expected_version()
    assert "db restore" in status.problems[0]
