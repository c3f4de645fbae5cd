"""The FastAPI application: routers, error shape, middleware. Thin: it calls the runtime."""

from __future__ import annotations

from fastapi import Depends, FastAPI

from memory_system import __version__
from memory_system.api import (
    admin_alerts,
    admin_approvals,
    admin_flags,
    admin_incidents,
    admin_overview,
    admin_rollouts,
    admin_shadow,
    dashboard,
    entities,
    errors,
    health,
    inject,
    memories,
    metrics,
    openapi,
    search,
    session_state,
    sessions,
    sharing,
    status,
    typed_stores,
)
from memory_system.api.deps import require_phase_2
from memory_system.api.error_body import responses
from memory_system.api.middleware import RequestContext
from memory_system.runtime import Runtime

ROUTERS = [
    health,
    metrics,
    entities,
    sessions,
    session_state,
    admin_flags,
    admin_alerts,
    admin_approvals,
    admin_rollouts,
    admin_overview,
    admin_shadow,
    memories,
    search,
    sharing,
    typed_stores,
    inject,
    dashboard,
    status,
    admin_incidents,
]
# Routers that need migration 004's tables: in legacy mode (Phase 2-4 rolled back) they answer 409
# rolled_back. Phase 1 (entities, sessions), health, metrics, flags and alerts keep serving.
# Injection too: its legacy path still reads the most recent memories.
PHASE_2_ROUTERS = {memories, search, sharing, typed_stores, inject, session_state}
_ROLLED_BACK = responses(
    409,
    s409="The request conflicts with the current state; error rolled_back: the Phase 2-4 tables "
    "were rolled back (legacy mode) and detail.restore says the command that brings them back.",
)


def create_app(runtime: Runtime) -> FastAPI:
    app = FastAPI(title="memory-system", version=__version__)
    app.state.runtime = runtime
    for module in ROUTERS:
        if module in PHASE_2_ROUTERS:
            app.include_router(module.router, dependencies=[Depends(require_phase_2)], responses=_ROLLED_BACK)
        else:
            app.include_router(module.router)
    errors.install(app)
    openapi.install(app)
    app.add_middleware(RequestContext, max_body_bytes=lambda: runtime.settings.max_body_bytes)
    return app
