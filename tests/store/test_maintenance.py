"""Checks and online copies at the SQL level."""

from __future__ import annotations

from pathlib import Path

import pytest

from memory_system.core.errors import StoreError
from memory_system.store import database_ops as maintenance
from memory_system.store.connection import open_connection


def test_require_sqlite_file_names_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        maintenance.require_sqlite_file(tmp_path / "missing.db")
    with pytest.raises(StoreError, match="is not a regular file"):
        maintenance.require_sqlite_file(tmp_path)
    text = tmp_path / "text.db"
    text.write_text("hello")
    with pytest.raises(StoreError, match="is not a SQLite database"):
        maintenance.require_sqlite_file(text)


def test_foreign_key_problems_name_the_table_and_row(migrated_db: Path, fill_phase_data) -> None:
    fill_phase_data(migrated_db)
    conn = open_connection(migrated_db, create=False)
    assert maintenance.foreign_key_problems(conn) == []
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute("DELETE FROM entities WHERE id = 3")  # relation 2 -> 3 now dangles
    problems = maintenance.foreign_key_problems(conn)
    conn.close()
    assert sorted(str(p) for p in problems) == [
        "table observations row 4 references a missing row in entities",
        "table relations row 2 references a missing row in entities",
    ]


def test_integrity_problems_of_a_damaged_index(migrated_db: Path, corrupt_index) -> None:
    conn = open_connection(migrated_db, create=False)
    assert maintenance.integrity_problems(conn) == []
    conn.close()
    corrupt_index(migrated_db)
    conn = maintenance.open_read_only(migrated_db)
    problems = maintenance.integrity_problems(conn)
    conn.close()
    assert problems and all("sqlite_autoindex_entities_1" in p for p in problems)


def test_copy_online_leaves_a_self_contained_file(migrated_db: Path, fill_phase_data, tmp_path: Path) -> None:
    fill_phase_data(migrated_db)
    source = open_connection(migrated_db, create=False)
    steps: list[tuple[int, int]] = []
    maintenance.copy_online(source, tmp_path / "copy.db", lambda d, t: steps.append((d, t)), pages_per_step=5)
    assert not source.in_transaction
    source.close()
    assert len(steps) > 1 and steps[-1][0] == steps[-1][1]
    assert not (tmp_path / "copy.db-wal").exists()
    copy = maintenance.open_read_only(tmp_path / "copy.db")
    assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert copy.execute("SELECT COUNT(*) FROM memories").fetchone()[0] == 5
    copy.close()
