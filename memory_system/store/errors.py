"""Errors the storage layer raises; each message says what went wrong and what to do.

Nothing from the SQLite driver leaves ``store/``: ``translate`` turns a ``sqlite3``
exception into the ``StoreError`` subclass an operator can act on, with the database file
in the message and the driver's exception kept as ``__cause__``. SQLite's primary result
code decides the class; where the driver gives none (errors raised by the module itself),
the exception class and message do.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar


class StoreError(Exception):
    """The database cannot be opened, migrated or used as asked."""

    advice: ClassVar[str] = ""


class MigrationError(StoreError):
    """A migration is missing, changed after it was applied, or failed to apply."""


class StoreBusy(StoreError):
    """Another connection held a lock past the busy timeout (SQLITE_BUSY, SQLITE_LOCKED).

    Nothing was written. Retry; if it keeps happening, find the other writer on the same
    file (a CLI command, a backup, a second service) and let it finish or stop it.
    """

    advice = ("another connection held the lock past the busy timeout and nothing was written; retry, "
              "or find the other writer (a CLI command, a backup, a second service) and let it finish")


class StoreFull(StoreError):
    """The disk or the database's ``max_page_count`` is full (SQLITE_FULL); the write was undone.

    Free space on the database's filesystem (old backups, logs) or move the database to a
    larger one, then retry.
    """

    advice = "the write was undone; free disk space where the database lives (or move it), then retry"


class StoreReadOnly(StoreError):
    """The file, its directory or the connection is read-only (SQLITE_READONLY); nothing was written.

    Give the service's user write permission on the database file and on its directory
    (SQLite writes ``-wal`` and ``-shm`` files beside it), or point ``--db`` at a writable copy.
    """

    advice = ("nothing was written; give this user write permission on the file and its directory "
              "(SQLite writes -wal and -shm files beside it), or point --db at a writable copy")


class StoreCorrupt(StoreError):
    """The file is not a SQLite database, or its image is malformed (SQLITE_NOTADB, SQLITE_CORRUPT).

    Stop writing to it, keep the file for inspection, run ``memory-system db check`` and
    restore the latest backup with ``memory-system db restore BACKUP``.
    """

    advice = ("stop writing to it and keep the file; run 'memory-system db check', then restore the latest "
              "backup with 'memory-system db restore BACKUP'")


class StoreConstraint(StoreError):
    """A UNIQUE, FOREIGN KEY, NOT NULL or CHECK constraint refused a write (SQLITE_CONSTRAINT).

    The statement changed nothing: what was asked conflicts with what is stored (a
    duplicate key, a reference to a row that does not exist). Fix the input and retry.
    Deliberately not a ``ValueError``: callers that mean "bad input" check it first and
    raise their own error; one that reaches here is a storage fact, handled as one.
    """

    advice = ("the statement changed nothing; the input conflicts with stored rows "
              "(a duplicate, a reference to a missing row)")


class StoreSchemaMissing(StoreError):
    """A table or column the code needs is not there: the schema is older than the code.

    Run ``memory-system db migrate --db PATH``.
    """

    advice = "run 'memory-system db migrate' first"


# SQLite primary result codes (https://sqlite.org/rescode.html): extended codes keep them
# in the low byte.
_BY_CODE: dict[int, type[StoreError]] = {
    3: StoreReadOnly,  # SQLITE_PERM
    5: StoreBusy,  # SQLITE_BUSY
    6: StoreBusy,  # SQLITE_LOCKED
    8: StoreReadOnly,  # SQLITE_READONLY
    11: StoreCorrupt,  # SQLITE_CORRUPT
    13: StoreFull,  # SQLITE_FULL
    19: StoreConstraint,  # SQLITE_CONSTRAINT
    20: StoreConstraint,  # SQLITE_MISMATCH: a value the column's type refuses
    26: StoreCorrupt,  # SQLITE_NOTADB
}
_SQLITE_ERROR = 1
_ADVICE_BY_CODE = {
    10: "check the disk and the filesystem the database is on (dmesg), then 'memory-system db check'",
    14: "check that the file's directory exists and that this user may read and write it",
}
_MISSING = ("no such table", "no such column")
# When the driver gives no code: the messages SQLite and the module use for each case.
_BY_MESSAGE: tuple[tuple[str, type[StoreError]], ...] = (
    ("database is locked", StoreBusy),
    ("database table is locked", StoreBusy),
    ("database or disk is full", StoreFull),
    ("readonly database", StoreReadOnly),
    ("file is not a database", StoreCorrupt),
    ("malformed", StoreCorrupt),
    ("constraint failed", StoreConstraint),
)


def classify(exc: BaseException) -> type[StoreError]:
    """The ``StoreError`` subclass that means what the driver's exception ``exc`` means."""
    message = str(exc).lower()
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        if code & 0xFF == _SQLITE_ERROR and message.startswith(_MISSING):
            return StoreSchemaMissing
        return _BY_CODE.get(code & 0xFF, StoreError)
    if type(exc).__name__ == "IntegrityError":
        return StoreConstraint
    if message.startswith(_MISSING):
        return StoreSchemaMissing
    for needle, cls in _BY_MESSAGE:
        if needle in message:
            return cls
    return StoreError


def translate(exc: BaseException, path: str | Path | None = None) -> StoreError:
    """A ``StoreError`` for the driver's ``exc``, naming the database file where known.

    Raise it ``from exc`` so that the original stays as ``__cause__``.
    """
    cls = classify(exc)
    where = f"{path}: " if path else ""
    name = getattr(exc, "sqlite_errorname", None)
    specific = isinstance(name, str) and name not in ("", "SQLITE_ERROR")  # the generic code says nothing
    detail = f"{exc} ({name})" if specific else str(exc)
    if cls is StoreSchemaMissing and path:
        return cls(f"{where}{detail}; run 'memory-system db migrate --db {path}' first")
    code = getattr(exc, "sqlite_errorcode", None)
    advice = cls.advice or (_ADVICE_BY_CODE.get(code & 0xFF, "") if isinstance(code, int) else "")
    return cls(f"{where}{detail}; {advice}" if advice else f"{where}{detail}")
