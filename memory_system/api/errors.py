"""Errors as JSON bodies: 4xx name what was wrong, 5xx carry the request id and no stack trace.

Every body has ``detail`` (FastAPI's key, so clients written for FastAPI keep working),
``error`` (a stable snake_case kind) and ``request_id`` (to find the log lines).

``REFUSALS`` is the one mapping from the errors the services raise to HTTP: a status and how
``detail`` is built. One handler answers them all, so routes call the service and let its
errors pass. Each family keeps the ``detail`` its clients were written against: memories send
``to_dict()`` for bad input, entities and injection ``{"error", "field", "message"}``, sharing
and session state the error's class name in snake case, sessions a plain string. An error of
no row is a bug: 500.
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
from starlette.exceptions import HTTPException as StarletteHTTPException

from memory_system.core.logging import log_event
from memory_system.core.validation import InvalidValue
from memory_system.flags.values import FlagError
from memory_system.memory.graph.entities import EntityNotFound, GraphError
from memory_system.memory.injection.injector import InjectionError
from memory_system.memory.records import models
from memory_system.memory.sessions import registry, state
from memory_system.memory.sharing.grants import MemoryNotOwned, ShareNotFound, SharingError

__all__ = ["REFUSALS", "Refusal", "install", "to_http"]

logger = logging.getLogger("memory_system.http")

_KINDS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "body_too_large",
    422: "validation_error",
    429: "too_many_requests",
    503: "unavailable",
}


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
    InvalidValue: Refusal(422, lambda e: {"error": "invalid_input", "field": e.field, "message": str(e)}),
    # memories, search, preferences, code patterns
    models.BatchTooLarge: Refusal(413, lambda e: e.to_dict()),
    models.MemoryValidationError: Refusal(422, lambda e: e.to_dict()),
    models.MemoryNotFound: Refusal(404, lambda e: {"error": "not_found", "message": str(e)}),
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
    summary = "; ".join(f"{e['field'] or 'body'}: {e['message']}" for e in errors)
    return JSONResponse(
        {
            "detail": errors,
            "error": "validation_error",
            "message": f"invalid request: {summary}",
            "request_id": _request_id(request),
        },
        status_code=422,
    )


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    body = {
        "detail": exc.detail,
        "error": _KINDS.get(exc.status_code, "http_error"),
        "request_id": _request_id(request),
    }
    return JSONResponse(body, status_code=exc.status_code, headers=getattr(exc, "headers", None))


async def service_error(request: Request, exc: Exception) -> JSONResponse:
    return await http_error(request, to_http(exc))


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
    return JSONResponse(
        {
            "detail": f"internal error; the service log has the details under request_id {request_id}",
            "error": "internal_error",
            "request_id": request_id,
        },
        status_code=500,
        headers=headers,
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    for kind in REFUSALS:
        app.add_exception_handler(kind, service_error)
    app.add_exception_handler(Exception, unhandled_error)
