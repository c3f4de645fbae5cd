"""``GET /admin/incidents`` and ``GET /admin/incidents/{id}``: the incident log for the
dashboards and tools (``memory-system incident list|show`` is the same over the CLI)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query

from memory_system.api.deps import get_runtime, require_admin
from memory_system.api.error_body import responses
from memory_system.api.responses import answers
from memory_system.api.responses.incidents import IncidentDetail, IncidentList
from memory_system.ops import incidents
from memory_system.runtime import Runtime

router = APIRouter(
    prefix="/admin/incidents",
    tags=["admin: incidents"],
    dependencies=[Depends(require_admin)],
    responses=responses(401, 403, 500, 503),
)


@router.get("", responses={**answers(IncidentList), **responses(422)})
def list_incidents(
    runtime: Annotated[Runtime, Depends(get_runtime)],
    status: Annotated[
        Literal["open", "closed"] | None, Query(description="Only open or closed ones.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 50,
) -> dict[str, Any]:
    """Incidents, newest first, each with its duration."""
    return {"incidents": incidents.list_incidents(runtime.db, status=status, limit=limit)}


@router.get("/{incident_id:int}", responses={**answers(IncidentDetail), **responses(404, 422)})
def show_incident(runtime: Annotated[Runtime, Depends(get_runtime)], incident_id: int) -> dict[str, Any]:
    """One incident with its notes, oldest first."""
    try:
        return incidents.get_incident(runtime.db, incident_id)
    except incidents.IncidentNotFound as exc:
        raise HTTPException(404, str(exc)) from exc
