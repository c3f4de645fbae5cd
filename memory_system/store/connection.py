"""Opening the database: one place that sets the pragmas every connection needs.

WAL lets readers run while one writer writes; ``synchronous=NORMAL`` in WAL loses no
committed transaction when the process is killed (only power loss can cost the last
ones). Writes use ``BEGIN IMMEDIATE`` so that a reader upgrading to a writer never
meets SQLITE_BUSY half-way, and a process-wide lock keeps to one writer at a time.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from memory_system.store._sqlite import sqlite3
from memory_system.store.errors import StoreError

BUSY_TIMEOUT_MS = 5000

Connection = Any  # sqlite3.Connection of whichever module _sqlite picked


def open_connection(path: str | Path, *, create: bool = True) -> Connection:
    """A connection in autocommit mode (transactions are explicit) with our pragmas."""
    path = Path(path)
    if not create and not path.exists():
        raise StoreError(f"database file {path} does not exist; run 'memory-system db migrate' first")
    if create:
        parent = path.parent
        if not parent.exists():
            try:
                parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot create directory {parent}: {exc.strerror}") from exc
        if not os.access(parent, os.W_OK) and not path.exists():
            raise StoreError(f"directory {parent} is not writable; choose another --db path")
    try:
        conn = sqlite3.connect(
            str(path), isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
        )
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path} is not a usable SQLite database: {exc}") from exc
    if str(mode).lower() != "wal":
        conn.close()
        raise StoreError(f"{path}: could not switch to WAL mode (got {mode}); is the directory writable?")
    return conn


@contextmanager
def transaction(conn: Connection) -> Iterator[Connection]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back on any exception."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


class Database:
    """One SQLite file: a single writer connection behind a lock, a reader per thread.

    Readers never wait on the writer (WAL); the lock keeps in-process writers in line so
    that ``busy_timeout`` is only ever needed against other processes (CLI, backups).
    """

    def __init__(self, path: str | Path, *, create: bool = True) -> None:
        self.path = Path(path)
        self._write_lock = threading.RLock()
        self._writer = open_connection(self.path, create=create)
        self._local = threading.local()
        self._readers: list[Connection] = []
        self._readers_lock = threading.Lock()
        self._closed = False

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """The writer connection inside an immediate transaction; nested calls join it."""
        with self._write_lock:
            if self._writer.in_transaction:
                yield self._writer
                return
            with transaction(self._writer) as conn:
                yield conn

    def reader(self) -> Connection:
        """This thread's read connection (opened on first use)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            if self._closed:
                raise StoreError("database is closed")
            conn = open_connection(self.path, create=False)
            self._local.conn = conn
            with self._readers_lock:
                self._readers.append(conn)
        return conn

    def close(self) -> None:
        """Close every connection; a checkpoint folds the WAL back into the main file."""
        if self._closed:
            return
        self._closed = True
        with self._readers_lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()
        with self._write_lock:
            try:
                self._writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error:
                pass
            self._writer.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
