"""What the database remembers of its rollbacks: ``rollback_records`` and recorded data loss.

``db rollback`` writes one ``rollback_records`` row per migration undone (who approved it,
whether it was an emergency, the backup, the rows each table lost, whether the checks after
it passed); ``db restore`` carries those rows into the restored file. Incidents record the
data loss they caused in ``incidents.data_loss``. Both tables come from migration 003 and
survive every rollback, so this reads in legacy mode too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from memory_system.core.errors import StoreError, StoreSchemaMissing
from memory_system.store import database_ops as maintenance
from memory_system.store.connection import Connection, open_connection

__all__ = ["read_log", "read_record"]


def _open(db_path: Path) -> Connection:
    maintenance.require_memory_database(db_path)
    return open_connection(db_path, create=False)


def _no_tables(db_path: Path) -> StoreError:
    return StoreError(
        f"{db_path} has no rollback_records table (schema before 003); "
        f"run 'memory-system db migrate --db {db_path}' first"
    )


def read_log(db_path: Path) -> dict[str, list[dict[str, Any]]]:
    """Every rollback record and every data-loss record, oldest first."""
    conn = _open(db_path)
    try:
        return {
            "rollbacks": maintenance.rollback_records(conn),
            "data_loss": maintenance.data_loss_records(conn),
        }
    except StoreSchemaMissing as exc:
        raise _no_tables(db_path) from exc
    finally:
        conn.close()


def read_record(db_path: Path, record_id: int) -> dict[str, Any]:
    conn = _open(db_path)
    try:
        record = maintenance.rollback_record(conn, record_id)
    except StoreSchemaMissing as exc:
        raise _no_tables(db_path) from exc
    finally:
        conn.close()
    if record is None:
        raise StoreError(
            f"no rollback record {record_id} in {db_path}; 'memory-system db rollbacks' lists them"
        )
    return record
