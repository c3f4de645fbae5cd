"""``GET /admin/alerts``: the in-process alert matrix, as the on-call engineer's checklist
asks it ("no CRITICAL alerts firing"): each rule's state, value, threshold and firing-since.

Evaluation runs in the background every few seconds (``ops/alerts``); these routes only read.
``GET /admin/alerts/history`` lists the ``alert_events`` rows: every fire and resolve, by any
process on this database (in legacy mode too: migration 006 stays applied).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import StringConstraints

from memory_system.api.deps import get_runtime, require_admin
from memory_system.api.error_body import responses
from memory_system.api.responses import answers
from memory_system.api.responses.alerts import AlertReport
from memory_system.api.responses.rollouts import AlertHistory
from memory_system.ops.alerts.recorder import MAX_LIMIT, HistoryError
from memory_system.runtime import Runtime

router = APIRouter(
    prefix="/admin/alerts",
    tags=["admin: alerts"],
    dependencies=[Depends(require_admin)],
    responses=responses(401, 403, 500, 503),
)


@router.get("", responses=answers(AlertReport))
def show_alerts(runtime: Annotated[Runtime, Depends(get_runtime)]) -> dict[str, Any]:
    """Every rule: ok, firing (since when) or no_data, with its value and threshold."""
    return runtime.alerts.report()


@router.get("/history", responses={**answers(AlertHistory), **responses(422)})
def alert_history(
    runtime: Annotated[Runtime, Depends(get_runtime)],
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    since: Annotated[
        str | None,
        StringConstraints(min_length=1, max_length=64),
        Query(description="Only rows at or after this ISO 8601 time (UTC when it names no offset)."),
    ] = None,
) -> dict[str, Any]:
    """Every fire and resolve, newest first: rule, severity, value, threshold, flags, instance."""
    try:
        return {"events": runtime.alert_recorder.history(limit, since)}
    except HistoryError as exc:
        raise HTTPException(
            422, detail={"error": "invalid_input", "field": exc.field, "message": str(exc)}
        ) from None
