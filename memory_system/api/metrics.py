"""GET /metrics: the Prometheus exposition of core/metrics.REGISTRY."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from memory_system.api.deps import get_runtime
from memory_system.core import metrics
from memory_system.runtime import Runtime

router = APIRouter()


@router.get("/metrics", include_in_schema=False)
def prometheus_metrics(runtime: Annotated[Runtime, Depends(get_runtime)]) -> Response:
    metrics.refresh_process_gauges()
    # Sampled at scrape time from the sessions table, so the gauge is right in every process.
    for flag, row in runtime.flags.stats()["flags"].items():
        metrics.ACTIVE_SESSIONS.labels(flag=flag).set(row["enabled_sessions"])
    return Response(generate_latest(metrics.REGISTRY), media_type=CONTENT_TYPE_LATEST)
