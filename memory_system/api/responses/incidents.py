"""Success bodies of ``GET /admin/incidents`` and ``GET /admin/incidents/{id}``: the incident log."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from memory_system.api.responses import Answer, Time

__all__ = ["ChecklistResult", "Incident", "IncidentDetail", "IncidentList", "IncidentNote"]


class ChecklistResult(Answer):
    check: str
    ok: bool
    detail: str = ""


class IncidentNote(Answer):
    id: int
    author: str
    body: str
    created_at: Time


class Incident(Answer):
    id: int
    incident_type: str = Field(examples=["rollback_a", "auto_guard", "drill"])
    severity: Literal["SEV1", "SEV2", "SEV3"]
    title: str
    status: Literal["open", "closed"]
    reason: str
    flags: list[str]
    opened_by: str
    started_at: Time
    ended_at: Time | None
    duration_seconds: float | None = Field(description="end minus start; while open, the time so far")
    sessions_affected: int | None
    data_loss: Any = Field(description="what was lost (rows by table), as recorded; null: none recorded")
    downtime_seconds: float | None
    backup_location: str | None
    checklist: list[ChecklistResult]
    details: dict[str, Any] = Field(description="what opened it: option, rule, rollback record ids...")
    created_at: Time


class IncidentDetail(Incident):
    notes: list[IncidentNote] = Field(description="oldest first")


class IncidentList(Answer):
    incidents: list[Incident] = Field(description="newest first")
