"""``GET /admin/alerts``: the in-process alert matrix, as the on-call engineer's checklist
asks it ("no CRITICAL alerts firing"): each rule's state, value, threshold and firing-since.

Evaluation runs in the background every few seconds (``ops/alerts``); this route only reads.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from memory_system.api.deps import get_runtime, require_admin
from memory_system.api.error_body import responses
from memory_system.api.responses import answers
from memory_system.api.responses.alerts import AlertReport
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
