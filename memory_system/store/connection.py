"""Opening the database: one place that sets the pragmas every connection needs.

WAL lets readers run while one writer writes; ``synchronous=NORMAL`` in WAL loses no
committed transaction when the process is killed (only power loss can cost the last
ones). Writes use ``BEGIN IMMEDIATE`` so that a reader upgrading to a writer never
meets SQLITE_BUSY half-way, and a process-wide lock keeps to one writer at a time.

``Connection`` and ``Cursor`` are the whole storage interface the services use: a second
engine plugs in by providing them (and a ``Database`` like the one here). The SQLite
implementation hands out connections whose every call turns a driver exception into a
``StoreError`` subclass (``errors.translate``), so no ``sqlite3`` name reaches a caller.
Measured on the 2-core box against a bare pysqlite3 connection: ``execute("SELECT 1")
.fetchone()`` costs the same 1.3 us (the override's frame is paid back by skipping the C
method's own ``cursor()`` lookup), ``fetchall()`` of 10k rows the same 2.9 ms; a ``for``
loop pays 0.11 us a row (10k rows: 2.7 -> 3.9 ms), the price of translating mid-scan errors.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from memory_system.core.errors import StoreError, StoreReadOnly
from memory_system.core.validation import InvalidValue
from memory_system.store._sqlite import sqlite3
from memory_system.store.errors import translate

__all__ = [
    "BUSY_TIMEOUT_MS",
    "Connection",
    "Cursor",
    "Database",
    "Parameters",
    "Row",
    "connect",
    "open_connection",
    "transaction",
]

BUSY_TIMEOUT_MS = 5000

Parameters = Sequence[Any] | Mapping[str, Any]


class Row(Protocol):
    """One row read: by column name (``row["id"]``) or position (``row[0]``)."""

    def __getitem__(self, key: int | str, /) -> Any: ...
    def __iter__(self) -> Iterator[Any]: ...
    def __len__(self) -> int: ...
    def keys(self) -> list[str]: ...


class Cursor(Protocol):
    """The result of ``execute``: rows to fetch, and what the statement changed.

    Rows are ``Row``s, or plain tuples where ``row_factory`` was set to None; they are typed
    ``Any`` so that a caller may index, unpack or convert either without a cast.
    """

    row_factory: Any  # None: rows are plain tuples (for reads of many thousand rows)

    @property
    def lastrowid(self) -> Any: ...
    @property
    def rowcount(self) -> int: ...
    def execute(self, sql: str, parameters: Parameters = ..., /) -> Cursor: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """What the services call on a connection; ``Database`` hands these out."""

    @property
    def in_transaction(self) -> bool: ...
    def execute(self, sql: str, parameters: Parameters = ..., /) -> Cursor: ...
    def executemany(self, sql: str, seq_of_parameters: Iterable[Parameters], /) -> Cursor: ...
    def executescript(self, sql_script: str, /) -> Cursor: ...
    def cursor(self) -> Cursor: ...
    def create_function(
        self, name: str, narg: int, func: Callable[..., Any] | None, *, deterministic: bool = ...
    ) -> None: ...
    def enable_load_extension(self, enabled: bool, /) -> None: ...
    def backup(
        self,
        target: Connection,
        *,
        pages: int = ...,
        progress: Callable[[int, int, int], object] | None = ...,
    ) -> None: ...
    def close(self) -> None: ...


_ERRORS = (sqlite3.Error, sqlite3.Warning)
_cursor_execute = sqlite3.Cursor.execute
_cursor_executemany = sqlite3.Cursor.executemany
_cursor_executescript = sqlite3.Cursor.executescript
_fetchone = sqlite3.Cursor.fetchone
_fetchmany = sqlite3.Cursor.fetchmany
_fetchall = sqlite3.Cursor.fetchall
_next = sqlite3.Cursor.__next__
_new_cursor = sqlite3.Connection.cursor


# What the driver raises, before running anything, for a parameter SQLite cannot hold: a str
# with a lone surrogate (no UTF-8 for it), an int outside 64 bits. Entry points check values
# first and name the field (core.validation); this is the backstop, so that a value one of them
# missed is still a refusal (422), never a 500.
_UNBINDABLE = (UnicodeEncodeError, OverflowError)


def _unbindable(exc: BaseException) -> InvalidValue:
    what = (
        "a string with a lone surrogate"
        if isinstance(exc, UnicodeEncodeError)
        else "an integer outside 64 bits"
    )
    return InvalidValue("", f"a value cannot be stored: {what}")


class _SQLiteCursor(sqlite3.Cursor):
    """A cursor whose driver errors leave as ``StoreError`` subclasses."""

    def _failed(self, exc: BaseException) -> StoreError:
        return translate(exc, getattr(self.connection, "path", None))

    def execute(self, sql: str, parameters: Any = (), /) -> _SQLiteCursor:
        try:
            _cursor_execute(self, sql, parameters)
        except _ERRORS as exc:
            raise self._failed(exc) from exc
        except _UNBINDABLE as exc:
            raise _unbindable(exc) from exc
        return self

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> _SQLiteCursor:
        try:
            _cursor_executemany(self, sql, seq_of_parameters)
        except _ERRORS as exc:
            raise self._failed(exc) from exc
        except _UNBINDABLE as exc:
            raise _unbindable(exc) from exc
        return self

    def executescript(self, sql_script: str, /) -> _SQLiteCursor:
        try:
            _cursor_executescript(self, sql_script)
        except _ERRORS as exc:
            raise self._failed(exc) from exc
        return self

    def fetchone(self) -> Any:
        try:
            return _fetchone(self)
        except _ERRORS as exc:
            raise self._failed(exc) from exc

    def fetchmany(self, size: int | None = None) -> list[Any]:
        try:
            return _fetchmany(self, self.arraysize if size is None else size)
        except _ERRORS as exc:
            raise self._failed(exc) from exc

    def fetchall(self) -> list[Any]:
        try:
            return _fetchall(self)
        except _ERRORS as exc:
            raise self._failed(exc) from exc

    def __next__(self) -> Any:
        try:
            return _next(self)
        except _ERRORS as exc:
            raise self._failed(exc) from exc


class _SQLiteConnection(sqlite3.Connection):
    """A connection (``factory=`` of ``sqlite3.connect``) whose driver errors leave as ``StoreError``.

    ``path`` is the database file named in the messages.
    """

    path: str

    def _failed(self, exc: BaseException) -> StoreError:
        return translate(exc, getattr(self, "path", None))

    def cursor(self, factory: Any = None) -> _SQLiteCursor:  # type: ignore[override]
        try:
            cursor: _SQLiteCursor = _new_cursor(self, _SQLiteCursor if factory is None else factory)
        except _ERRORS as exc:
            raise self._failed(exc) from exc
        return cursor

    def execute(self, sql: str, parameters: Any = (), /) -> _SQLiteCursor:
        try:
            cursor: _SQLiteCursor = _new_cursor(self, _SQLiteCursor)
            _cursor_execute(cursor, sql, parameters)
        except _ERRORS as exc:
            raise self._failed(exc) from exc
        except _UNBINDABLE as exc:
            raise _unbindable(exc) from exc
        return cursor

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> _SQLiteCursor:
        try:
            cursor: _SQLiteCursor = _new_cursor(self, _SQLiteCursor)
            _cursor_executemany(cursor, sql, seq_of_parameters)
        except _ERRORS as exc:
            raise self._failed(exc) from exc
        except _UNBINDABLE as exc:
            raise _unbindable(exc) from exc
        return cursor

    def executescript(self, sql_script: str, /) -> _SQLiteCursor:
        try:
            cursor: _SQLiteCursor = _new_cursor(self, _SQLiteCursor)
            _cursor_executescript(cursor, sql_script)
        except _ERRORS as exc:
            raise self._failed(exc) from exc
        return cursor

    def commit(self) -> None:
        try:
            super().commit()
        except _ERRORS as exc:
            raise self._failed(exc) from exc

    def rollback(self) -> None:
        try:
            super().rollback()
        except _ERRORS as exc:
            raise self._failed(exc) from exc

    def create_function(
        self, name: str, narg: int, func: Callable[..., Any] | None, *, deterministic: bool = False
    ) -> None:
        try:
            super().create_function(name, narg, func, deterministic=deterministic)
        except _ERRORS as exc:
            raise self._failed(exc) from exc

    def backup(
        self,
        target: Connection,  # type: ignore[override]
        *,
        pages: int = -1,
        progress: Callable[[int, int, int], object] | None = None,
        name: str = "main",
        sleep: float = 0.250,
    ) -> None:
        if not isinstance(target, sqlite3.Connection):
            raise StoreError(
                f"cannot back up {self.path} into a {type(target).__name__}: "
                "the target must be a SQLite connection"
            )
        try:
            super().backup(target, pages=pages, progress=progress, name=name, sleep=sleep)
        except _ERRORS as exc:
            raise self._failed(exc) from exc

    def close(self) -> None:
        try:
            super().close()
        except _ERRORS as exc:
            raise self._failed(exc) from exc


def connect(
    path: str | Path, *, read_only: bool = False, busy_timeout_ms: int = BUSY_TIMEOUT_MS
) -> Connection:
    """A bare connection in autocommit mode, rows by column name; errors leave as ``StoreError``.

    ``read_only`` opens the file with ``mode=ro``: SQLite refuses every write on it, for
    root too, and creates no file that is not there. ``":memory:"`` is a scratch database.
    """
    name = str(path)
    target = Path(path).resolve().as_uri() + "?mode=ro" if read_only else name
    try:
        conn = sqlite3.connect(
            target,
            uri=read_only,
            isolation_level=None,
            check_same_thread=False,
            timeout=busy_timeout_ms / 1000,
            factory=_SQLiteConnection,
        )
    except _ERRORS as exc:
        raise translate(exc, name) from exc
    conn.path = name
    conn.row_factory = sqlite3.Row
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    except StoreError:
        conn.close()
        raise
    return conn


def open_connection(
    path: str | Path, *, create: bool = True, busy_timeout_ms: int = BUSY_TIMEOUT_MS
) -> Connection:
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
    conn = connect(path, busy_timeout_ms=busy_timeout_ms)
    try:
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
    except StoreError:
        conn.close()
        raise
    if str(mode).lower() != "wal":
        conn.close()
        raise StoreError(f"{path}: could not switch to WAL mode (got {mode}); is the directory writable?")
    return conn


@contextmanager
def transaction(conn: Connection) -> Iterator[Connection]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back on any exception, a failed COMMIT included.

    SQLite undoes the whole transaction itself on some errors (SQLITE_FULL, an I/O error),
    so ROLLBACK is sent only while one is open, and a ROLLBACK that fails never hides the
    error that caused it.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            with contextlib.suppress(StoreError):
                conn.execute("ROLLBACK")
        raise


class Database:
    """One SQLite file: a single writer connection behind a lock, a reader per thread.

    Readers never wait on the writer (WAL); the lock keeps in-process writers in line so
    that ``busy_timeout`` is only ever needed against other processes (CLI, backups).

    ``read_only=True`` is another process's database, read here and never changed: an existing
    file only, no writer, readers opened ``mode=ro`` (SQLite refuses any write on them), and
    ``write`` raises ``StoreReadOnly``.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        create: bool = True,
        busy_timeout_ms: int = BUSY_TIMEOUT_MS,
        read_only: bool = False,
    ) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self._busy_timeout_ms = busy_timeout_ms
        self._write_lock = threading.RLock()
        self._writer: Connection | None = None
        if read_only:
            if not self.path.exists():
                raise StoreError(
                    f"database file {self.path} does not exist; run 'memory-system db migrate' first"
                )
        else:
            self._writer = open_connection(self.path, create=create, busy_timeout_ms=busy_timeout_ms)
        self._local = threading.local()
        # Each reader with the thread it serves: closed once that thread has ended (see reader).
        self._readers: list[tuple[threading.Thread, Connection]] = []
        self._readers_lock = threading.Lock()
        self._closed = False

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """The writer connection inside an immediate transaction; nested calls join it."""
        if self._writer is None:
            raise StoreReadOnly(f"{self.path} is open read-only here; change it through the service")
        with self._write_lock:
            if self._writer.in_transaction:
                yield self._writer
                return
            with transaction(self._writer) as conn:
                yield conn

    def reader(self) -> Connection:
        """This thread's read connection (opened on first use)."""
        conn: Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            if self._closed:
                raise StoreError("database is closed")
            conn = (
                connect(self.path, read_only=True, busy_timeout_ms=self._busy_timeout_ms)
                if self.read_only
                else open_connection(self.path, create=False, busy_timeout_ms=self._busy_timeout_ms)
            )
            self._local.conn = conn
            with self._readers_lock:
                self._close_orphans()
                self._readers.append((threading.current_thread(), conn))
        return conn

    def _close_orphans(self) -> None:
        """Close the readers of threads that have ended (caller holds ``_readers_lock``).

        Why: the server's thread pool (anyio) ends a worker idle for 10 s and starts another
        under the next burst, and every new thread opens its own reader. Kept open, each one's
        page and statement caches (native memory, up to ~1.8 MiB measured) stayed for the life
        of the process: one more every ~8 s under the soak's mix (benchmarks/soak.py). So
        reader connections stay as many as the threads alive that read.
        """
        alive: list[tuple[threading.Thread, Connection]] = []
        for thread, conn in self._readers:
            if thread.is_alive():
                alive.append((thread, conn))
            else:
                conn.close()
        self._readers = alive

    def open_readers(self) -> int:
        """Reader connections open now (one per live thread that has read, at most)."""
        with self._readers_lock:
            return len(self._readers)

    def close(self) -> None:
        """Close every connection; a checkpoint folds the WAL back into the main file."""
        if self._closed:
            return
        self._closed = True
        with self._readers_lock:
            for _thread, conn in self._readers:
                conn.close()
            self._readers.clear()
        if self._writer is None:
            return
        with self._write_lock:
            with contextlib.suppress(StoreError):
                self._writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._writer.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
