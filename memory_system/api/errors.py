"""Errors as JSON bodies: 4xx name what was wrong, 5xx carry the request id and no stack trace.

Every body has one shape (``api/error_body.ErrorBody``): ``error`` (a stable snake_case kind),
``message``, ``field`` when one input is at fault, ``request_id`` (to find the log lines) and
``detail`` (FastAPI's key, so clients written for FastAPI keep working).

``REFUSALS`` is the one mapping from the errors the services raise to HTTP: a status and how
``detail`` is built. One handler answers them all, so routes call the service and let its
errors pass. Each family keeps the ``detail`` its clients were written against: memories send
``to_dict()`` for bad input, entities and injection ``{"error", "field", "message"}``, sharing
and session state the error's class name in snake case, sessions a plain string. An error of
no row is a bug: 500. A database busy past its timeout is a 503 with ``Retry-After``: nothing
was written, and the same request may succeed a second later. A full disk or a write the OS
refused is a 503 without it (``store_full``, ``store_io_error``): nothing was written, and the
message says what the operator must free or fix.

A 405 lists in ``Allow`` every method of every route whose path matches (Starlette names only
the first route it tried).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException

from memory_system.api.deps import RolledBack
from memory_system.api.error_body import error_body
from memory_system.core.errors import StoreBusy, StoreFull, StoreIOError
from memory_system.core.logging import log_event
from memory_system.core.validation import InvalidValue
from memory_system.flags.values import FlagError
from memory_system.memory.graph.entities import EntityNotFound, GraphError
from memory_system.memory.injection.injector import InjectionError
from memory_system.memory.records import models
from memory_system.memory.sessions import registry, state
from memory_system.memory.sharing.grants import MemoryNotOwned, ShareNotFound, SharingError
from memory_system.memory.typed.policy import WriteRefused

__all__ = ["REFUSALS", "Refusal", "install", "to_http"]

logger = logging.getLogger("memory_system.http")


@dataclass(frozen=True)
class Refusal:
    """How one service error class is answered: its status, its ``detail``, any headers."""

    status: int
    detail: Callable[[Any], object]
    headers: Callable[[Any], dict[str, str]] | None = None


def _named(exc: Any) -> dict[str, Any]:
    """``{"error": <class in snake case>, "message", "field"?}``: StaleVersion -> stale_version."""
    detail: dict[str, Any] = {
        "error": re.sub(r"(?<!^)(?=[A-Z])", "_", type(exc).__name__).lower(),
        "message": str(exc),
    }
    if field := getattr(exc, "field", None):
        detail["field"] = field
    return detail


# The most specific class of an error's MRO that has a row decides; so subclasses come first
# here only for the reader. InvalidState, InvalidShare and InvalidInput take their base's row.
REFUSALS: dict[type[Exception], Refusal] = {
    # a value no part of the service can hold (core.validation), whichever service saw it
    InvalidValue: Refusal(422, lambda e: _named(e) | {"error": "invalid_input"}),
    # memories, search, preferences, code patterns
    models.BatchTooLarge: Refusal(413, lambda e: e.to_dict()),
    models.MemoryValidationError: Refusal(422, lambda e: e.to_dict()),
    models.MemoryNotFound: Refusal(404, lambda e: {"error": "not_found", "message": str(e)}),
    # a typed store's write policy (memory/typed/policy): which policy, and the key's creator
    WriteRefused: Refusal(
        403,
        lambda e: {
            "error": "write_refused",
            "store": e.store,
            "policy": e.policy,
            "created_by": e.created_by,
            "message": str(e),
        },
    ),
    models.MemoryForbidden: Refusal(403, lambda e: {"error": "forbidden", "message": str(e)}),
    models.MemoryConflict: Refusal(
        409, lambda e: {"error": "near_duplicate", "existing_id": e.existing_id, "message": str(e)}
    ),
    models.MemoryRecordError: Refusal(422, lambda e: {"error": "invalid_input", "message": str(e)}),
    # entity memory; GET /v1/entities/{name} answers its own EntityNotFound with 404
    EntityNotFound: Refusal(
        422, lambda e: {"error": "entity_not_found", "field": e.field, "message": str(e)}
    ),
    GraphError: Refusal(422, lambda e: {"error": "invalid_input", "field": e.field, "message": str(e)}),
    # context injection
    InjectionError: Refusal(422, lambda e: {"error": "invalid_input", "field": e.field, "message": str(e)}),
    # sessions: a plain string, as in FastAPI's own errors
    registry.SessionNotFound: Refusal(404, str),
    # session state and hand-off
    state.StaleVersion: Refusal(
        409,
        lambda e: {**_named(e), "current_version": e.current_version},
        headers=lambda e: {"ETag": f'"{e.current_version}"'},
    ),
    state.SessionNotFound: Refusal(404, _named),
    state.SessionEnded: Refusal(409, _named),
    state.VersionRequired: Refusal(428, _named),
    state.SessionStateError: Refusal(422, _named),
    # cross-agent sharing
    MemoryNotOwned: Refusal(404, _named),
    ShareNotFound: Refusal(404, _named),
    SharingError: Refusal(422, _named),
    # admin: feature flags
    FlagError: Refusal(422, lambda e: {"error": "invalid_feature_flag", "field": e.flag, "message": str(e)}),
    # the database: another writer held the lock past the busy timeout; nothing was written
    StoreBusy: Refusal(
        503, lambda e: {"error": "store_busy", "message": str(e)}, headers=lambda e: {"Retry-After": "1"}
    ),
    # the disk: full, or the OS refused the write (a file-size limit, a failing device); nothing
    # was written, reads go on. 503 and not 507, which no route documents; no Retry-After: space
    # comes back when an operator frees it, not in a second (the message says what to do).
    StoreFull: Refusal(503, lambda e: {"error": "store_full", "message": str(e)}),
    StoreIOError: Refusal(503, lambda e: {"error": "store_io_error", "message": str(e)}),
}


def _refusal(exc: Exception) -> Refusal | None:
    return next((REFUSALS[kind] for kind in type(exc).__mro__ if kind in REFUSALS), None)


def to_http(exc: Exception, *, status: int | None = None) -> HTTPException:
    """The HTTP error a service error is answered with; ``status`` overrides the row's where a
    route means more (an entity the URL names that does not exist is 404, not bad input)."""
    rule = _refusal(exc)
    if rule is None:
        raise TypeError(f"{type(exc).__name__} has no row in api.errors.REFUSALS; add one")
    headers = rule.headers(exc) if rule.headers else None
    return HTTPException(rule.status if status is None else status, rule.detail(exc), headers=headers)


def _request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:] or parts
    return ".".join(parts)


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "loc": list(e.get("loc", ())),
            "field": _field(e.get("loc", ())),
            "message": e.get("msg", ""),
            "msg": e.get("msg", ""),
            "type": e.get("type", ""),
        }
        for e in exc.errors()
    ]
    return JSONResponse(error_body(422, errors, _request_id(request)), status_code=422)


def allowed_methods(request: Request) -> list[str]:
    """Every method of every route whose path matches this request's, sorted."""
    path = request.scope["path"]
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.routes):
        regex = getattr(route, "path_regex", None)
        if regex is not None and route.methods and regex.match(path):
            methods |= route.methods
    return sorted(methods)


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(getattr(exc, "headers", None) or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request))
    body = error_body(exc.status_code, exc.detail, _request_id(request))
    return JSONResponse(body, status_code=exc.status_code, headers=headers or None)


async def service_error(request: Request, exc: Exception) -> JSONResponse:
    return await http_error(request, to_http(exc))


async def rolled_back(request: Request, exc: Exception) -> JSONResponse:
    """Legacy mode (004 and 005 rolled back): a Phase 2-4 route says so, with the command that restores it."""
    assert isinstance(exc, RolledBack)
    body = error_body(409, exc.to_dict(), _request_id(request), error="rolled_back")
    return JSONResponse(body, status_code=409)


async def unhandled_error(request: Request, exc: Exception) -> JSONResponse:
    request_id = _request_id(request)
    log_event(
        logger,
        "unhandled_error",
        logging.ERROR,
        method=request.method,
        path=request.url.path,
        error_type=type(exc).__name__,
        exc_info=True,
    )
    # The server closes the connection after a 500 (the error is re-raised past this handler):
    # say so, or a keep-alive client's next request on it fails with a reset.
    headers = {"connection": "close"}
    if request_id:
        headers["x-request-id"] = request_id
    detail = f"internal error; the service log has the details under request_id {request_id}"
    return JSONResponse(error_body(500, detail, request_id), status_code=500, headers=headers)


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    for kind in REFUSALS:
        app.add_exception_handler(kind, service_error)
    app.add_exception_handler(RolledBack, rolled_back)
    app.add_exception_handler(Exception, unhandled_error)
