"""``GET /admin/overview``: the operations dashboard's live numbers in one call, computed here
so the page's script only draws them. Injection quantiles, rates, cache hit rate and memory
come from the alert engine's window (``AlertEngine.overview``): the chart shows what the alert
rules judge, never a second computation that could disagree.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from memory_system.api.deps import get_runtime, require_admin
from memory_system.api.error_body import responses
from memory_system.api.responses import answers
from memory_system.api.responses.overview import Overview
from memory_system.core import metrics
from memory_system.runtime import Runtime

router = APIRouter(
    prefix="/admin/overview",
    tags=["admin: dashboards"],
    dependencies=[Depends(require_admin)],
    responses=responses(401, 403, 500, 503),
)


@router.get("", responses=answers(Overview))
def show_overview(runtime: Annotated[Runtime, Depends(get_runtime)]) -> dict[str, Any]:
    """Injection p50/p95, errors and RAG timeouts per minute, cache hit rate, memory against
    its limit, the embedding backlog and the firing alerts, as of the last evaluation."""
    backlog = metrics.REGISTRY.get_sample_value("memory_embedding_queue") or 0.0
    return {**runtime.alerts.overview(), "embedding_backlog": int(backlog)}
