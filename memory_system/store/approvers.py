"""SQL for approver identities (migration 006). Only a token's sha256 is stored, as for agent tokens."""

from __future__ import annotations

from dataclasses import dataclass

from memory_system.core.clock import utc_now
from memory_system.store.connection import Connection


@dataclass(frozen=True)
class ApproverRecord:
    id: int
    name: str
    role: str
    token_hash: str
    created_at: str
    revoked_at: str | None

    @property
    def token_id(self) -> str:
        """A short public handle (the hash prefix) for listing and revoking, as agent tokens have."""
        return self.token_hash[:12]


_COLUMNS = "id, name, role, token_hash, created_at, revoked_at"


def table_exists(conn: Connection) -> bool:
    """Whether the schema has ``approvers`` (migrated to 006)."""
    sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'approvers'"
    return conn.execute(sql).fetchone() is not None


def insert(conn: Connection, token_hash: str, name: str, role: str) -> ApproverRecord:
    cursor = conn.execute(
        "INSERT INTO approvers (name, role, token_hash) VALUES (?, ?, ?)", (name, role, token_hash)
    )
    found = get(conn, int(cursor.lastrowid))
    assert found is not None
    return found


def get(conn: Connection, approver_id: int) -> ApproverRecord | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM approvers WHERE id = ?", (approver_id,)).fetchone()
    return None if row is None else ApproverRecord(*row)


def find(conn: Connection, token_hash: str) -> ApproverRecord | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM approvers WHERE token_hash = ?", (token_hash,)).fetchone()
    return None if row is None else ApproverRecord(*row)


def list_all(conn: Connection, *, include_revoked: bool = True) -> list[ApproverRecord]:
    where = "" if include_revoked else "WHERE revoked_at IS NULL"
    rows = conn.execute(f"SELECT {_COLUMNS} FROM approvers {where} ORDER BY created_at, id").fetchall()
    return [ApproverRecord(*row) for row in rows]


def with_prefix(conn: Connection, prefix: str) -> list[ApproverRecord]:
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM approvers WHERE substr(token_hash, 1, ?) = ?", (len(prefix), prefix)
    ).fetchall()
    return [ApproverRecord(*row) for row in rows]


def revoke(conn: Connection, approver_id: int) -> None:
    conn.execute(
        "UPDATE approvers SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (utc_now(), approver_id)
    )
