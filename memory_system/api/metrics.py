"""GET /metrics: the Prometheus exposition of core/metrics.REGISTRY."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from memory_system.api.deps import get_runtime
from memory_system.core import metrics
from memory_system.core.build import build_info
from memory_system.ops.health import memory_limit_bytes, probe_database
from memory_system.runtime import Runtime

router = APIRouter()


@router.get("/metrics", include_in_schema=False)
def prometheus_metrics(runtime: Annotated[Runtime, Depends(get_runtime)]) -> Response:
    metrics.refresh_process_gauges()
    metrics.MEMORY_LIMIT.set(memory_limit_bytes(runtime.settings.memory_limit_mb))
    # Sampled at scrape time from the database, so the gauges are right in every process.
    stats = runtime.flags.stats()
    metrics.SESSIONS_ACTIVE.set(stats["active_sessions"])
    for flag, row in stats["flags"].items():
        metrics.ACTIVE_SESSIONS.labels(flag=flag).set(row["enabled_sessions"])
        metrics.FLAG_VALUE.labels(flag=flag).set(row["effective"])
        changed = row["last_changed_at"]
        metrics.FLAG_LAST_CHANGE.labels(flag=flag).set(
            datetime.fromisoformat(changed).timestamp() if changed else 0
        )
    schema = probe_database(runtime.settings.db_path, None)
    metrics.SCHEMA_VERSION.set(schema.current if schema.current is not None else -1)
    metrics.SCHEMA_EXPECTED.set(schema.expected)
    build = build_info()
    metrics.BUILD.info({"version": build.version, "commit": build.commit})
    return Response(generate_latest(metrics.REGISTRY), media_type=CONTENT_TYPE_LATEST)
