"""``db impact``: what a rollback would lose, per table, from created_at."""

from __future__ import annotations

from pathlib import Path

import pytest

from memory_system.core.errors import MigrationError
from memory_system.ops import schema
from memory_system.ops.impact import impact
from memory_system.store import inventory
from memory_system.store.connection import open_connection


def test_impact_counts_every_phase_2_table_and_rows_since_the_migration(
    migrated_db: Path, fill_phase_data
) -> None:
    fill_phase_data(migrated_db)
    conn = open_connection(migrated_db, create=False)
    # Two memories dated before 004 was applied (imported history): lost, but not "new".
    conn.execute("UPDATE memories SET created_at = '2000-01-01T00:00:00.000Z' WHERE id IN (1, 2)")
    conn.close()

    result = impact(migrated_db, 4)
    by_table = {t.table: t for t in result.tables}
    assert set(by_table) == set(inventory.tables_created_by(4))
    assert (by_table["memories"].rows, by_table["memories"].created_after) == (5, 3)
    assert by_table["user_preferences"].rows == 1 and by_table["session_state"].rows == 1
    assert "entities" not in by_table
    assert result.total_rows == sum(t.rows for t in result.tables)
    assert result.to_dict()["applied_at"] == result.applied_at and result.applied_at.endswith("Z")


def test_impact_of_a_migration_that_is_not_applied_is_an_error(db_file: Path) -> None:
    schema.migrate(db_file, to=3)
    with pytest.raises(MigrationError, match="migration 004 is not applied"):
        impact(db_file, 4)
