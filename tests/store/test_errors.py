"""What leaves store/ when SQLite fails: a StoreError subclass naming the file, the data intact."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from memory_system.core.errors import (
    StoreBusy,
    StoreConstraint,
    StoreCorrupt,
    StoreError,
    StoreFull,
    StoreReadOnly,
    StoreSchemaMissing,
)
from memory_system.store import database_ops
from memory_system.store._sqlite import sqlite3
from memory_system.store.connection import Database, open_connection
from memory_system.store.errors import translate

SHORT_BUSY_MS = 100


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "errors.db"


@pytest.fixture
def database(path: Path) -> Iterator[Database]:
    db = Database(path, busy_timeout_ms=SHORT_BUSY_MS)
    with db.write() as conn:
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, body BLOB)")
        conn.execute("INSERT INTO notes (key, body) VALUES ('kept', 'written before')")
    yield db
    db.close()


def _from_the_driver(error: StoreError) -> None:
    assert isinstance(error.__cause__, sqlite3.Error)


def _intact_and_usable(db: Database, key: str) -> None:
    """The row written before the error is there, and the same Database writes and reads again."""
    rows = db.reader().execute("SELECT key, body FROM notes ORDER BY id").fetchall()
    assert [tuple(r) for r in rows] == [("kept", "written before")]
    with db.write() as conn:
        conn.execute("INSERT INTO notes (key, body) VALUES (?, 'after')", (key,))
    assert db.reader().execute("SELECT body FROM notes WHERE key = ?", (key,)).fetchone()[0] == "after"


def test_a_lock_held_by_another_connection_is_store_busy_after_the_busy_timeout(
    database: Database, path: Path
) -> None:
    other = open_connection(path, create=False, busy_timeout_ms=0)
    other.execute("BEGIN EXCLUSIVE")
    other.execute("INSERT INTO notes (key, body) VALUES ('other', 'uncommitted')")
    try:
        started = time.monotonic()
        with pytest.raises(StoreBusy, match=str(path)) as caught, database.write() as conn:
            conn.execute("INSERT INTO notes (key, body) VALUES ('blocked', 'never')")
        assert time.monotonic() - started < 3  # the short busy timeout, not the 5 s default
        assert "retry" in str(caught.value)
        _from_the_driver(caught.value)
    finally:
        other.execute("ROLLBACK")
        other.close()
    _intact_and_usable(database, "after busy")


def test_a_write_on_a_read_only_open_is_store_read_only_even_for_root(database: Database, path: Path) -> None:
    conn = database_ops.open_read_only(path)
    try:
        with pytest.raises(StoreReadOnly, match=str(path)) as caught:
            conn.execute("INSERT INTO notes (key, body) VALUES ('ro', 'refused')")
        assert "write permission" in str(caught.value)
        _from_the_driver(caught.value)
        assert conn.execute("SELECT COUNT(*) FROM notes").fetchone()[0] == 1  # the connection still reads
    finally:
        conn.close()
    _intact_and_usable(database, "after read-only")


@pytest.mark.skipif(
    os.geteuid() == 0,
    reason="root writes through file permission bits; the mode=ro test above covers StoreReadOnly for root",
)
def test_a_read_only_file_is_store_read_only(database: Database, path: Path) -> None:
    database.close()
    path.chmod(0o444)
    try:
        db = Database(path, create=False)
        try:
            with pytest.raises(StoreReadOnly, match=str(path)), db.write() as conn:
                conn.execute("INSERT INTO notes (key, body) VALUES ('ro', 'refused')")
            assert db.reader().execute("SELECT COUNT(*) FROM notes").fetchone()[0] == 1
        finally:
            db.close()
    finally:
        path.chmod(0o644)


def test_a_full_database_is_store_full_and_the_transaction_is_undone(database: Database) -> None:
    with database.write() as conn:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages + 2}")
    try:
        with pytest.raises(StoreFull, match=str(database.path)) as caught, database.write() as conn:
            conn.execute("INSERT INTO notes (key, body) VALUES ('first', 'in the same transaction')")
            conn.execute("INSERT INTO notes (key, body) VALUES ('big', zeroblob(1000000))")
        assert "free disk space" in str(caught.value)
        _from_the_driver(caught.value)
    finally:
        with database.write() as conn:
            conn.execute("PRAGMA max_page_count = 1073741823")
    _intact_and_usable(database, "after full")


def test_a_file_of_garbage_is_store_corrupt_naming_it_and_left_unchanged(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(os.urandom(8192))
    before = garbage.read_bytes()
    with pytest.raises(StoreCorrupt, match=str(garbage)) as caught:
        Database(garbage, create=False)
    assert "db restore" in str(caught.value)
    _from_the_driver(caught.value)
    assert garbage.read_bytes() == before


def test_a_malformed_page_is_store_corrupt_when_read(tmp_path: Path) -> None:
    path = tmp_path / "malformed.db"
    with Database(path) as db, db.write() as conn:
        conn.execute("CREATE TABLE t (x TEXT)")
        conn.executemany("INSERT INTO t VALUES (?)", [("x" * 200,) for _ in range(2000)])
    page_size = 4096
    data = bytearray(path.read_bytes())
    assert len(data) > 10 * page_size
    data[3 * page_size : 6 * page_size] = b"\xff" * (3 * page_size)  # interior pages of t's b-tree
    path.write_bytes(bytes(data))
    with Database(path, create=False) as db:
        with pytest.raises(StoreCorrupt, match=str(path)) as caught:
            for _ in db.reader().execute("SELECT x FROM t"):
                pass
        _from_the_driver(caught.value)


def test_a_unique_violation_is_store_constraint_and_undoes_the_whole_write(database: Database) -> None:
    with pytest.raises(StoreConstraint, match=str(database.path)) as caught, database.write() as conn:
        conn.execute("INSERT INTO notes (key, body) VALUES ('new', 'undone with the rest')")
        conn.execute("INSERT INTO notes (key, body) VALUES ('kept', 'duplicate')")
    assert "UNIQUE constraint failed: notes.key" in str(caught.value)
    assert not isinstance(caught.value, ValueError)
    _from_the_driver(caught.value)
    _intact_and_usable(database, "after constraint")


def test_a_missing_table_is_store_schema_missing_saying_to_migrate(database: Database) -> None:
    with pytest.raises(
        StoreSchemaMissing,
        match=f"no such table: nowhere; run 'memory-system db migrate --db {database.path}' first",
    ):
        database.reader().execute("SELECT * FROM nowhere")
    _intact_and_usable(database, "after missing table")


def test_every_call_of_the_handed_out_connection_translates(database: Database) -> None:
    reader = database.reader()
    cursor = reader.cursor()
    with pytest.raises(StoreSchemaMissing):
        cursor.execute("SELECT * FROM nowhere")
    with pytest.raises(StoreSchemaMissing):
        reader.executemany("INSERT INTO nowhere VALUES (?)", [(1,)])
    with pytest.raises(StoreError, match="syntax error"):
        reader.executescript("NOT SQL;")
    with pytest.raises(StoreError, match="one statement at a time"):
        reader.execute("SELECT 1; SELECT 2")
    closed = open_connection(database.path, create=False)
    closed.close()
    with pytest.raises(StoreError, match="closed database"):
        closed.execute("SELECT 1")


def test_translate_falls_back_to_the_class_and_message_without_a_result_code() -> None:
    assert type(translate(sqlite3.IntegrityError("whatever"))) is StoreConstraint
    assert type(translate(sqlite3.OperationalError("database is locked"))) is StoreBusy
    assert type(translate(sqlite3.OperationalError("database or disk is full"))) is StoreFull
    assert type(translate(sqlite3.OperationalError("attempt to write a readonly database"))) is StoreReadOnly
    assert type(translate(sqlite3.DatabaseError("file is not a database"))) is StoreCorrupt
    assert type(translate(sqlite3.OperationalError("no such table: t"))) is StoreSchemaMissing
    assert type(translate(sqlite3.ProgrammingError("something else"))) is StoreError
    assert str(translate(sqlite3.OperationalError("database is locked"), "/x/m.db")).startswith(
        "/x/m.db: database is locked; "
    )


def _database_errors(kind: str) -> float:
    from memory_system.core.metrics import REGISTRY

    return REGISTRY.get_sample_value("memory_database_errors_total", {"kind": kind}) or 0.0


def test_each_failure_counts_once_by_kind_and_a_refused_value_not_at_all(
    database: Database, path: Path
) -> None:
    """memory_database_errors_total is what the "database failures" alert reads."""
    before = {k: _database_errors(k) for k in ("read_only", "full", "constraint", "other")}
    conn = database_ops.open_read_only(path)
    try:
        with pytest.raises(StoreReadOnly):
            conn.execute("INSERT INTO notes (key, body) VALUES ('ro', 'refused')")
    finally:
        conn.close()
    with database.write() as w:
        w.execute(f"PRAGMA max_page_count = {w.execute('PRAGMA page_count').fetchone()[0] + 1}")
    try:
        with pytest.raises(StoreFull), database.write() as w:
            w.execute("INSERT INTO notes (key, body) VALUES ('big', zeroblob(1000000))")
    finally:
        with database.write() as w:
            w.execute("PRAGMA max_page_count = 1073741823")
    with pytest.raises(StoreConstraint), database.write() as w:
        w.execute("INSERT INTO notes (key, body) VALUES ('kept', 'duplicate')")

    after = {k: _database_errors(k) for k in before}
    assert after["read_only"] - before["read_only"] == 1
    assert after["full"] - before["full"] == 1
    assert after == {**before, "read_only": after["read_only"], "full": after["full"]}
