"""``Database(read_only=True)``: another process's file, read here and never changed or created."""

from __future__ import annotations

from pathlib import Path

import pytest

from memory_system.core.errors import StoreError, StoreReadOnly
from memory_system.store.connection import Database


def test_it_reads_what_the_writer_commits_and_refuses_every_write(tmp_path: Path) -> None:
    path = tmp_path / "memory.db"
    with Database(path) as writer:
        with writer.write() as conn:
            conn.execute("CREATE TABLE notes (body TEXT)")
            conn.execute("INSERT INTO notes VALUES ('first')")
        reader = Database(path, read_only=True)
        assert [r["body"] for r in reader.reader().execute("SELECT body FROM notes")] == ["first"]
        with writer.write() as conn:
            conn.execute("INSERT INTO notes VALUES ('second')")
        assert reader.reader().execute("SELECT COUNT(*) FROM notes").fetchone()[0] == 2
        with pytest.raises(StoreReadOnly, match="open read-only here"), reader.write():
            pass
        with pytest.raises(StoreReadOnly):  # SQLite itself refuses, whatever the caller tries
            reader.reader().execute("INSERT INTO notes VALUES ('sneaked')")
        reader.close()
        assert writer.reader().execute("SELECT COUNT(*) FROM notes").fetchone()[0] == 2


def test_a_missing_file_is_refused_and_not_created(tmp_path: Path) -> None:
    path = tmp_path / "absent.db"
    with pytest.raises(StoreError, match=r"does not exist; run 'memory-system db migrate' first"):
        Database(path, read_only=True)
    assert list(tmp_path.iterdir()) == []
