"""How SQLite's errors become the project's ``StoreError`` kinds (defined in ``core/errors.py``).

Nothing from the SQLite driver leaves ``store/``: ``translate`` turns a ``sqlite3``
exception into the ``StoreError`` subclass an operator can act on, with the database file
in the message and the driver's exception kept as ``__cause__``. SQLite's primary result
code decides the class; where the driver gives none (errors raised by the module itself),
the exception class and message do.
"""

from __future__ import annotations

from pathlib import Path

from memory_system.core import metrics
from memory_system.core.errors import (
    StoreBusy,
    StoreConstraint,
    StoreCorrupt,
    StoreError,
    StoreFull,
    StoreIOError,
    StoreReadOnly,
    StoreSchemaMissing,
)

__all__ = ["classify", "translate"]


# SQLite primary result codes (https://sqlite.org/rescode.html): extended codes keep them
# in the low byte.
_BY_CODE: dict[int, type[StoreError]] = {
    3: StoreReadOnly,  # SQLITE_PERM
    5: StoreBusy,  # SQLITE_BUSY
    6: StoreBusy,  # SQLITE_LOCKED
    8: StoreReadOnly,  # SQLITE_READONLY
    10: StoreIOError,  # SQLITE_IOERR: a write refused by the OS (EFBIG, EIO), a full disk mid-write
    11: StoreCorrupt,  # SQLITE_CORRUPT
    13: StoreFull,  # SQLITE_FULL
    19: StoreConstraint,  # SQLITE_CONSTRAINT
    20: StoreConstraint,  # SQLITE_MISMATCH: a value the column's type refuses
    26: StoreCorrupt,  # SQLITE_NOTADB
}
_SQLITE_ERROR = 1
_ADVICE_BY_CODE = {
    14: "check that the file's directory exists and that this user may read and write it",
}
_MISSING = ("no such table", "no such column")
# The label of memory_database_errors_total for each kind an operator acts on.
_METRIC_KIND: dict[type[StoreError], str] = {
    StoreBusy: "busy",
    StoreFull: "full",
    StoreIOError: "io",
    StoreReadOnly: "read_only",
    StoreCorrupt: "corrupt",
    StoreSchemaMissing: "schema_missing",
}
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
    if cls is not StoreConstraint:  # a refused value is the caller's error, not the database's
        metrics.DATABASE_ERRORS.labels(kind=_METRIC_KIND.get(cls, "other")).inc()
    where = f"{path}: " if path else ""
    name = getattr(exc, "sqlite_errorname", None)
    specific = isinstance(name, str) and name not in ("", "SQLITE_ERROR")  # the generic code says nothing
    detail = f"{exc} ({name})" if specific else str(exc)
    if cls is StoreSchemaMissing and path:
        return cls(f"{where}{detail}; run 'memory-system db migrate --db {path}' first")
    code = getattr(exc, "sqlite_errorcode", None)
    advice = cls.advice or (_ADVICE_BY_CODE.get(code & 0xFF, "") if isinstance(code, int) else "")
    return cls(f"{where}{detail}; {advice}" if advice else f"{where}{detail}")
