"""HTTP routes: /health/live, /health/ready, /health/deep (see ops/health.py for the semantics)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from memory_system.api.deps import get_runtime
from memory_system.ops import health

router = APIRouter(prefix="/health", tags=["health"])

HEALTH_JSON = "application/health+json"


def _state(request: Request) -> health.ServiceState:
    state = getattr(request.app.state, "service", None)
    if state is None:  # an app served without server/lifecycle (tests, embedding): nothing to drain
        state = request.app.state.service = health.ServiceState()
    assert isinstance(state, health.ServiceState)
    return state


@router.get("/live")
async def live() -> dict[str, str]:
    """The process answers. No I/O: a slow disk must not get a healthy process restarted."""
    return {"status": "ok"}


@router.get("/ready")
def ready(request: Request) -> JSONResponse:
    ok, body = health.readiness(get_runtime(request).health_sources(), _state(request))
    return JSONResponse(body, status_code=200 if ok else 503, headers={"Cache-Control": "no-store"})


@router.get("/deep")
def deep(request: Request) -> JSONResponse:
    ok, body = health.deep(get_runtime(request).health_sources(), _state(request))
    return JSONResponse(
        body, status_code=200 if ok else 503, media_type=HEALTH_JSON, headers={"Cache-Control": "no-store"}
    )
