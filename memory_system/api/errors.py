"""Errors as JSON bodies: 4xx name what was wrong, 5xx carry the request id and no stack trace.

Every body has ``detail`` (FastAPI's key, so clients written for FastAPI keep working),
``error`` (a stable snake_case kind) and ``request_id`` (to find the log lines).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from memory_system.core.logging import log_event

logger = logging.getLogger("memory_system.http")

_KINDS = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
          409: "conflict", 413: "body_too_large", 422: "validation_error", 429: "too_many_requests",
          503: "unavailable"}


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
        {"loc": list(e.get("loc", ())), "field": _field(e.get("loc", ())), "message": e.get("msg", ""),
         "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in exc.errors()
    ]
    summary = "; ".join(f"{e['field'] or 'body'}: {e['message']}" for e in errors)
    return JSONResponse(
        {"detail": errors, "error": "validation_error", "message": f"invalid request: {summary}",
         "request_id": _request_id(request)},
        status_code=422,
    )


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    body = {"detail": exc.detail, "error": _KINDS.get(exc.status_code, "http_error"),
            "request_id": _request_id(request)}
    return JSONResponse(body, status_code=exc.status_code, headers=getattr(exc, "headers", None))


async def unhandled_error(request: Request, exc: Exception) -> JSONResponse:
    request_id = _request_id(request)
    log_event(logger, "unhandled_error", logging.ERROR, method=request.method, path=request.url.path,
              error_type=type(exc).__name__, exc_info=True)
    headers = {"x-request-id": request_id} if request_id else None
    return JSONResponse(
        {"detail": f"internal error; the service log has the details under request_id {request_id}",
         "error": "internal_error", "request_id": request_id},
        status_code=500, headers=headers,
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(Exception, unhandled_error)
