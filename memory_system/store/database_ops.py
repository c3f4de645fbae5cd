"""The SQL of database operations: checks, online copies, identity, rollback records.

``integrity_check`` and ``quick_check`` never look at foreign keys, so ``check`` runs
``foreign_key_check`` as well. Copies are taken with the SQLite backup API inside one
read transaction on the source: in WAL mode that transaction is a fixed snapshot, so the
copy is consistent, the steps never restart, and the service keeps writing meanwhile.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from memory_system.core.errors import StoreError, StoreSchemaMissing
from memory_system.store.connection import Connection, connect, open_connection

SQLITE_HEADER = b"SQLite format 3\x00"
PAGES_PER_STEP = 4096


def require_sqlite_file(path: Path, what: str = "database") -> None:
    """Refuse, before opening anything, a path that is missing or not a SQLite file."""
    if not path.exists():
        raise StoreError(f"{what} file {path} does not exist")
    if not path.is_file():
        raise StoreError(f"{what} path {path} is not a regular file")
    try:
        with path.open("rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise StoreError(f"cannot read {what} file {path}: {exc.strerror}") from exc
    if header != SQLITE_HEADER:
        raise StoreError(f"{path} is not a SQLite database (its first bytes are not 'SQLite format 3')")


def open_read_only(path: Path) -> Connection:
    """A connection that cannot change the file (for backups being verified).

    A file SQLite cannot read raises the ``StoreError`` subclass saying why (``StoreCorrupt``
    for one that is not a database), naming the file.
    """
    conn = connect(path, read_only=True)
    try:
        conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
    except StoreError:
        conn.close()
        raise
    return conn


def has_schema_table(path: Path) -> bool:
    """Whether the file carries ``schema_migrations``; raises StoreError if it cannot be read.

    A file in rollback-journal mode (some other application's, say) is asked read-only,
    so that nothing in it changes, not even its journal mode; a WAL file is opened as
    usual, since a read-only connection would leave -wal/-shm files behind.
    """
    with path.open("rb") as handle:
        wal_mode = handle.read(20)[18:19] == b"\x02"  # file format version: 2 = WAL
    conn = open_connection(path, create=False) if wal_mode else open_read_only(path)
    try:
        row = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'")
        return row.fetchone() is not None
    finally:
        conn.close()


def require_memory_database(path: Path) -> None:
    """A SQLite file made by ``db migrate``; anything else is refused before it is opened for writing."""
    require_sqlite_file(path)
    try:
        found = has_schema_table(path)
    except StoreError as exc:
        raise StoreError(f"{exc}; restore it with 'memory-system db restore BACKUP'") from exc
    if not found:
        raise StoreError(
            f"{path} is a SQLite database but not a memory-system one (no schema_migrations); "
            "check --db, or run 'memory-system db migrate' to make it one"
        )


def integrity_problems(conn: Connection, *, quick: bool = False) -> list[str]:
    """The lines ``integrity_check`` reports other than ``ok``; empty means sound."""
    pragma = "quick_check" if quick else "integrity_check"
    try:
        rows = conn.execute(f"PRAGMA {pragma}").fetchall()
    except StoreError as exc:
        return [f"{pragma} could not run: {exc}"]
    lines = [str(row[0]) for row in rows]
    return [] if lines == ["ok"] else lines


def file_integrity_problems(path: Path, *, quick: bool = False) -> list[str]:
    """``integrity_problems`` on a connection of its own, opened for this check and closed.

    Why not a long-lived reader: a connection that has read an FTS5 table keeps that index's
    structure cached, and after the writer merges segments its ``quick_check`` reports
    "fts5: corruption found" for a sound file until it next runs a MATCH. A fresh connection
    sees the file as it is, as ``db check`` does.
    """
    try:
        conn = open_read_only(path)
    except StoreError as exc:
        return [f"{'quick_check' if quick else 'integrity_check'} could not run: {exc}"]
    try:
        return integrity_problems(conn, quick=quick)
    finally:
        conn.close()


@dataclass(frozen=True)
class ForeignKeyProblem:
    table: str
    rowid: int | None
    parent: str

    def __str__(self) -> str:
        return f"table {self.table} row {self.rowid} references a missing row in {self.parent}"


def foreign_key_problems(conn: Connection) -> list[ForeignKeyProblem]:
    try:
        rows = conn.execute("PRAGMA foreign_key_check").fetchall()
    except StoreError as exc:
        return [ForeignKeyProblem("?", None, f"(foreign_key_check could not run: {exc})")]
    return [ForeignKeyProblem(str(r[0]), r[1], str(r[2])) for r in rows]


def copy_online(
    source: Connection,
    dest_path: Path,
    progress: Callable[[int, int], None] | None = None,
    pages_per_step: int = PAGES_PER_STEP,
) -> None:
    """Copy ``source`` page by page into a new file at ``dest_path`` from one snapshot.

    ``progress(done_pages, total_pages)`` is called after each step. The copy is left in
    rollback-journal mode so that the file alone is the whole database.
    """
    dest = connect(dest_path)
    try:
        source.execute("BEGIN")
        try:
            source.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()  # pins the snapshot

            def step(status: int, remaining: int, total: int) -> None:
                if progress is not None:
                    progress(total - remaining, total)

            source.backup(dest, pages=pages_per_step, progress=step)
        finally:
            source.execute("COMMIT")
        dest.execute("PRAGMA journal_mode = DELETE").fetchone()
    finally:
        dest.close()


def size_bytes(conn: Connection) -> int:
    """The bytes of the database's pages, free ones included: what ``copy_online`` writes."""
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    return int(pages) * int(conn.execute("PRAGMA page_size").fetchone()[0])


def checkpoint(conn: Connection) -> tuple[int, int, int]:
    """Fold the WAL into the main file and truncate it: (busy, wal frames, checkpointed)."""
    row = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    return int(row[0]), int(row[1]), int(row[2])


def database_id(conn: Connection) -> str | None:
    """This database's identity (made by migration 003), None before 003 or in other files."""
    try:
        row = conn.execute("SELECT value FROM database_info WHERE key = 'database_id'").fetchone()
    except StoreSchemaMissing:
        return None
    return None if row is None else str(row[0])


def record_rollback(
    conn: Connection,
    *,
    migration: int,
    backup_path: str | None,
    approved_by: list[str],
    emergency: bool,
    rows_lost: dict[str, Any],
    details: dict[str, Any],
    created_at: str | None = None,
) -> int:
    cursor = conn.execute(
        "INSERT INTO rollback_records (migration, backup_path, approved_by, emergency, rows_lost, details, "
        "created_at) VALUES (?, ?, ?, ?, ?, ?, COALESCE(?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))",
        (
            migration,
            backup_path,
            json.dumps(approved_by),
            int(emergency),
            json.dumps(rows_lost),
            json.dumps(details),
            created_at,
        ),
    )
    return int(cursor.lastrowid)


_ROLLBACK_COLUMNS = "id, migration, backup_path, approved_by, emergency, rows_lost, details, created_at"


def _json_column(text: str | None, empty: Any) -> Any:
    """A JSON column as written by ``record_rollback``; a hand-edited one that does not parse is
    shown as its text rather than hiding the whole record."""
    if text is None:
        return empty
    try:
        return json.loads(text)
    except ValueError:
        return {"unparsed": text}


def _rollback_record(r: Any) -> dict[str, Any]:
    return {
        "id": r["id"],
        "migration": r["migration"],
        "backup_path": r["backup_path"],
        "approved_by": _json_column(r["approved_by"], []),
        "emergency": bool(r["emergency"]),
        "rows_lost": _json_column(r["rows_lost"], {}),
        "details": _json_column(r["details"], {}),
        "created_at": r["created_at"],
    }


def rollback_records(conn: Connection, since: str = "") -> list[dict[str, Any]]:
    """Recorded rollbacks, oldest first (only those recorded after ``since``, if given)."""
    rows = conn.execute(
        f"SELECT {_ROLLBACK_COLUMNS} FROM rollback_records WHERE created_at > ? ORDER BY id", (since,)
    ).fetchall()
    return [_rollback_record(r) for r in rows]


def rollback_record(conn: Connection, record_id: int) -> dict[str, Any] | None:
    row = conn.execute(
        f"SELECT {_ROLLBACK_COLUMNS} FROM rollback_records WHERE id = ?", (record_id,)
    ).fetchone()
    return None if row is None else _rollback_record(row)


def data_loss_records(conn: Connection) -> list[dict[str, Any]]:
    """Incidents that recorded a data loss (``incidents.data_loss``, migration 003), oldest first."""
    rows = conn.execute(
        "SELECT id, incident_type, flags, reason, started_at, ended_at, sessions_affected, data_loss, "
        "created_at FROM incidents WHERE data_loss IS NOT NULL AND data_loss != '' ORDER BY id"
    ).fetchall()
    return [
        {
            "id": r["id"],
            "incident_type": r["incident_type"],
            "flags": _json_column(r["flags"], []),
            "reason": r["reason"],
            "started_at": r["started_at"],
            "ended_at": r["ended_at"],
            "sessions_affected": r["sessions_affected"],
            "data_loss": _json_column(r["data_loss"], None),
            "created_at": r["created_at"],
        }
        for r in rows
    ]


def fsync_path(path: Path) -> None:
    """Flush a file's or directory's data to disk (a directory: its entries, after renames)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
