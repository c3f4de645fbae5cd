"""The FastAPI application: routers, error shape, middleware. Thin: it calls the runtime."""

from __future__ import annotations

from fastapi import FastAPI

from memory_system import __version__
from memory_system.api import (
    admin_alerts,
    admin_flags,
    admin_overview,
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
    typed_stores,
)
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
    admin_overview,
    admin_shadow,
    memories,
    search,
    sharing,
    typed_stores,
    inject,
    dashboard,
]


def create_app(runtime: Runtime) -> FastAPI:
    app = FastAPI(title="memory-system", version=__version__)
    app.state.runtime = runtime
    for module in ROUTERS:
        app.include_router(module.router)
    errors.install(app)
    openapi.install(app)
    app.add_middleware(RequestContext, max_body_bytes=lambda: runtime.settings.max_body_bytes)
    return app
