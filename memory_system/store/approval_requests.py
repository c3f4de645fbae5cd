"""SQL for approval requests and the approvals recorded against them (migration 006).

``details`` is the runbook's approval template, filled in (JSON). A request moves from
``pending`` to ``used`` exactly once: ``mark_used`` changes only a pending row and says
whether it did, so two rollbacks racing on one request cannot both proceed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from memory_system.store.connection import Connection


@dataclass(frozen=True)
class RequestRecord:
    id: int
    action: str
    reason: str
    requested_by: str
    details: dict[str, Any]
    state: str
    created_at: str
    expires_at: str
    used_at: str | None


@dataclass(frozen=True)
class ApprovalRecord:
    """One approval, with the approver as they are now (a later revocation shows here)."""

    id: int
    request_id: int
    approver_id: int
    name: str
    role: str
    created_at: str
    approver_revoked_at: str | None


_REQUEST_COLUMNS = "id, action, reason, requested_by, details, state, created_at, expires_at, used_at"


def _request(row: Any) -> RequestRecord:
    values = list(row)
    values[4] = json.loads(values[4] or "{}")
    return RequestRecord(*values)


def table_exists(conn: Connection) -> bool:
    sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'approval_requests'"
    return conn.execute(sql).fetchone() is not None


def insert_request(
    conn: Connection, *, action: str, reason: str, requested_by: str, details: dict[str, Any], expires_at: str
) -> RequestRecord:
    cursor = conn.execute(
        "INSERT INTO approval_requests (action, reason, requested_by, details, expires_at) "
        "VALUES (?, ?, ?, ?, ?)",
        (action, reason, requested_by, json.dumps(details, sort_keys=True), expires_at),
    )
    found = get_request(conn, int(cursor.lastrowid))
    assert found is not None
    return found


def get_request(conn: Connection, request_id: int) -> RequestRecord | None:
    row = conn.execute(
        f"SELECT {_REQUEST_COLUMNS} FROM approval_requests WHERE id = ?", (request_id,)
    ).fetchone()
    return None if row is None else _request(row)


def list_requests(conn: Connection, states: tuple[str, ...] | None = None) -> list[RequestRecord]:
    if states:
        marks = ", ".join("?" for _ in states)
        rows = conn.execute(
            f"SELECT {_REQUEST_COLUMNS} FROM approval_requests WHERE state IN ({marks}) ORDER BY id", states
        ).fetchall()
    else:
        rows = conn.execute(f"SELECT {_REQUEST_COLUMNS} FROM approval_requests ORDER BY id").fetchall()
    return [_request(row) for row in rows]


def expire_pending(conn: Connection, now: str) -> int:
    """Mark pending requests whose expiry has passed as ``expired``; how many were."""
    cursor = conn.execute(
        "UPDATE approval_requests SET state = 'expired' WHERE state = 'pending' AND expires_at <= ?", (now,)
    )
    return int(cursor.rowcount)


def mark_used(conn: Connection, request_id: int, now: str) -> bool:
    """``pending`` -> ``used``; False when the request was not pending (used, expired, cancelled)."""
    cursor = conn.execute(
        "UPDATE approval_requests SET state = 'used', used_at = ? WHERE id = ? AND state = 'pending'",
        (now, request_id),
    )
    return int(cursor.rowcount) == 1


def insert_approval(conn: Connection, request_id: int, approver_id: int, role: str) -> int:
    cursor = conn.execute(
        "INSERT INTO approvals (request_id, approver_id, role) VALUES (?, ?, ?)",
        (request_id, approver_id, role),
    )
    return int(cursor.lastrowid)


def approvals_for(conn: Connection, request_id: int) -> list[ApprovalRecord]:
    rows = conn.execute(
        "SELECT a.id, a.request_id, a.approver_id, p.name, a.role, a.created_at, p.revoked_at "
        "FROM approvals a JOIN approvers p ON p.id = a.approver_id WHERE a.request_id = ? ORDER BY a.id",
        (request_id,),
    ).fetchall()
    return [ApprovalRecord(*row) for row in rows]
