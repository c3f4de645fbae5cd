"""Test helper: two approver identities (a manager and a DBA) and a request they both approved."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from memory_system.auth.approvers import ApproverService
from memory_system.ops.approvals import ROLLBACK_C, ApprovalService
from memory_system.store.connection import Database


@dataclass(frozen=True)
class Approved:
    request_id: int
    manager_token: str
    dba_token: str


def approved_request(
    db_path: Path,
    *,
    action: str = ROLLBACK_C,
    migration: int | None = None,
    manager: str = "Alice Manager",
    dba: str = "Bob DBA",
    reason: str = "test: Phase 2 corrupts memories",
) -> Approved:
    """A pending request for ``action`` on ``db_path``, approved by a manager and a DBA."""
    with Database(db_path, create=False) as db:
        people = ApproverService(db)
        boss, keeper = people.create(manager, "manager"), people.create(dba, "dba")
        service = ApprovalService(db, people)
        view = service.request(action=action, reason=reason, requested_by="on-call", migration=migration)
        service.approve(view.record.id, boss.token)
        service.approve(view.record.id, keeper.token)
    return Approved(view.record.id, boss.token, keeper.token)
