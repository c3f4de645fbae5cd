"""The errors every layer shares: what a service refuses, and what the database could not do.

``ServiceError`` is the base of the errors a service raises when a caller asked for something
it will not do. Why a base: an interface answers these in one place each (HTTP:
``api/errors.REFUSALS``) and must tell them from bugs, which stay a 500.

``StoreError`` and its kinds are what ``store/`` raises instead of the driver's exceptions
(``store/errors.translate`` picks the kind). They are defined here, not in ``store/``, so that
an interface can catch them and print one line without importing the storage layer.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "MigrationError",
    "ServiceError",
    "StoreBusy",
    "StoreConstraint",
    "StoreCorrupt",
    "StoreError",
    "StoreFull",
    "StoreIOError",
    "StoreReadOnly",
    "StoreSchemaMissing",
]


class ServiceError(Exception):
    """A request a service refuses: bad input, a record the caller may not see, a conflict.

    The message says what was wrong and what to do; a ``field`` attribute, where a subclass
    has one, names the offending input::

        class GraphError(ServiceError, ValueError): ...
    """


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

    advice = (
        "another connection held the lock past the busy timeout and nothing was written; retry, "
        "or find the other writer (a CLI command, a backup, a second service) and let it finish"
    )


class StoreFull(StoreError):
    """The disk or the database's ``max_page_count`` is full (SQLITE_FULL); the write was undone.

    Free space on the database's filesystem (old backups, logs) or move the database to a
    larger one, then retry.
    """

    advice = "the write was undone; free disk space where the database lives (or move it), then retry"


class StoreIOError(StoreError):
    """The operating system refused a read or write of the file (SQLITE_IOERR); nothing was written.

    A full disk shows here rather than as ``StoreFull`` when a write fails outright, as does a
    file-size limit (``ulimit -f``, systemd ``LimitFSIZE=``) or a failing device.
    """

    advice = (
        "nothing was written; the disk may be full, a file-size limit (ulimit -f, systemd LimitFSIZE=) "
        "reached or the device failing: free space or raise the limit, check dmesg, then run "
        "'memory-system db check'"
    )


class StoreReadOnly(StoreError):
    """The file, its directory or the connection is read-only (SQLITE_READONLY); nothing was written.

    Give the service's user write permission on the database file and on its directory
    (SQLite writes ``-wal`` and ``-shm`` files beside it), or point ``--db`` at a writable copy.
    """

    advice = (
        "nothing was written; give this user write permission on the file and its directory "
        "(SQLite writes -wal and -shm files beside it), or point --db at a writable copy"
    )


class StoreCorrupt(StoreError):
    """The file is not a SQLite database, or its image is malformed (SQLITE_NOTADB, SQLITE_CORRUPT).

    Stop writing to it, keep the file for inspection, run ``memory-system db check`` and
    restore the latest backup with ``memory-system db restore BACKUP``.
    """

    advice = (
        "stop writing to it and keep the file; run 'memory-system db check', then restore the latest "
        "backup with 'memory-system db restore BACKUP'"
    )


class StoreConstraint(StoreError):
    """A UNIQUE, FOREIGN KEY, NOT NULL or CHECK constraint refused a write (SQLITE_CONSTRAINT).

    The statement changed nothing: what was asked conflicts with what is stored (a
    duplicate key, a reference to a row that does not exist). Fix the input and retry.
    Deliberately not a ``ValueError``: callers that mean "bad input" check it first and
    raise their own error; one that reaches here is a storage fact, handled as one.
    """

    advice = (
        "the statement changed nothing; the input conflicts with stored rows "
        "(a duplicate, a reference to a missing row)"
    )


class StoreSchemaMissing(StoreError):
    """A table or column the code needs is not there: the schema is older than the code.

    Run ``memory-system db migrate --db PATH``.
    """

    advice = "run 'memory-system db migrate' first"
