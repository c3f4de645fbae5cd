"""HTTP routes: /health/live, /health/ready, /health/deep (see ops/health.py for the semantics).

A 503 is the probe's report with the keys of every error body added (``api/error_body``):
``error`` (``not_ready``, ``unhealthy``), ``message`` (what failed), ``detail`` and ``request_id``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from memory_system.api.deps import get_runtime
from memory_system.api.error_body import ErrorBody, error_body, responses
from memory_system.api.responses import answers
from memory_system.api.responses.health import DeepHealth, Live, Readiness
from memory_system.ops import health

router = APIRouter(prefix="/health", tags=["health"], responses=responses(500))

HEALTH_JSON = "application/health+json"


class HealthResponse(JSONResponse):
    media_type = HEALTH_JSON


def _failed(request: Request, body: dict[str, Any], error: str, message: str, detail: Any) -> dict[str, Any]:
    request_id = getattr(request.state, "request_id", None)
    return {**body, **error_body(503, detail, request_id, error=error, message=message)}


def _state(request: Request) -> health.ServiceState:
    state = getattr(request.app.state, "service", None)
    if state is None:  # an app served without server/lifecycle (tests, embedding): nothing to drain
        state = request.app.state.service = health.ServiceState()
    assert isinstance(state, health.ServiceState)
    return state


@router.get("/live", responses=answers(Live))
async def live() -> dict[str, str]:
    """The process answers. No I/O: a slow disk must not get a healthy process restarted."""
    return {"status": "ok"}


@router.get(
    "/ready",
    responses={
        **answers(Readiness, 200, "Ready."),
        503: {"model": ErrorBody, "description": "Not ready: the readiness report, reasons in message."},
    },
)
def ready(request: Request) -> JSONResponse:
    ok, body = health.readiness(get_runtime(request).health_sources(), _state(request))
    if not ok:
        reasons = body.get("reasons", [])
        body = _failed(request, body, "not_ready", "; ".join(reasons), {"reasons": reasons})
    return JSONResponse(body, status_code=200 if ok else 503, headers={"Cache-Control": "no-store"})


@router.get(
    "/deep",
    response_class=HealthResponse,
    responses={
        **answers(DeepHealth, 200, "Every check passed."),
        503: {"model": ErrorBody, "description": "A check failed: the report, the failed checks in detail."},
        500: {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}},
    },
)
def deep(request: Request) -> JSONResponse:
    ok, body = health.deep(get_runtime(request).health_sources(), _state(request))
    if not ok:
        passing = (health.OK, health.NOT_CONFIGURED, health.NOT_STARTED)
        failed = {name: v for name, v in body["checks"].items() if v not in passing}
        message = "; ".join(f"{name}: {verdict}" for name, verdict in failed.items())
        body = _failed(request, body, "unhealthy", message, {"checks": failed})
    return HealthResponse(body, status_code=200 if ok else 503, headers={"Cache-Control": "no-store"})
