"""Success bodies of ``/admin/approvals``: database rollback requests and their approvals."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from memory_system.api.responses import Answer, Time

__all__ = ["ApprovalGiven", "ApprovalRequest", "ApprovalRequests"]


class ApprovalGiven(Answer):
    name: str = Field(examples=["Alice Smith"])
    role: Literal["manager", "dba"]
    approved_at: Time
    counts: bool = Field(description="false: the approver was revoked since; the approval does not count")


class ApprovalRequest(Answer):
    id: int
    action: Literal["rollback_c", "db_rollback"]
    state: Literal["pending", "used", "cancelled", "expired"]
    reason: str
    requested_by: str
    created_at: Time
    expires_at: Time
    used_at: Time | None
    template: dict[str, Any] = Field(
        description="the runbook's approval template, filled in: database, migrations, reason, impact "
        "(rows lost per table), backup (path, sha256, age), estimated downtime, requested by, expiry"
    )
    approvals: list[ApprovalGiven]
    missing_roles: list[Literal["manager", "dba"]]
    approve_command: str


class ApprovalRequests(Answer):
    requests: list[ApprovalRequest]
