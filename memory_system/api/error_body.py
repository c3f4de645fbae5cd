"""The one shape of every 4xx and 5xx body, as a model (for the OpenAPI document) and a builder.

Every error answer, whoever builds it (a route, a dependency, ``api/errors``' handlers, the
middleware's 413 and body checks, the health probes' 503), has the same top-level keys:

- ``error``: a stable snake_case kind (by status: ``validation_error``, ``not_found``, ...);
- ``message``: one sentence for a person;
- ``field``: the input at fault, when there is exactly one;
- ``request_id``: to find the log lines;
- ``detail``: what it was before this shape existed, kept because clients read it: the list
  of bad fields of a request validation error, a service's own ``{"error", "message", ...}``,
  or a plain string.

``responses(404, 409)`` documents statuses with this model, for ``APIRouter(responses=...)``
and route decorators.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from pydantic import BaseModel, Field

__all__ = ["KINDS", "ErrorBody", "ValidationIssue", "error_body", "responses"]

KINDS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "body_too_large",
    422: "validation_error",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}

# Why each status is answered, for the OpenAPI document.
_MEANINGS = {
    400: "The body could not be read as the declared content type.",
    401: "No credentials, or unknown, revoked or malformed ones.",
    403: "The credentials may not do this (another agent's identity claimed; admin API disabled).",
    404: "What the path (or X-Session-Id, or a body's session_id) names does not exist for the caller.",
    409: "The request conflicts with the current state.",
    413: "The body is larger than maxBodyBytes, or a batch holds more items than the limit.",
    422: "A parameter or body field is invalid; field names it.",
    428: "The request must say which version it replaces.",
    500: "A fault of the service; the log has it under request_id.",
    503: "The database cannot do it now, nothing was done: busy past its timeout (retry after "
    "Retry-After), or its disk full or failing (detail.error store_full or store_io_error).",
}


class ValidationIssue(BaseModel):
    """One bad input of a request validation error (FastAPI's shape, plus ``field`` and ``message``)."""

    loc: list[str | int] = Field(description='Where: ["body", "items", 3, "kind"], ["query", "limit"].')
    field: str = Field(description="loc without its first part, dotted: items.3.kind.")
    message: str
    msg: str = Field(description="The same as message (FastAPI's name).")
    type: str = Field(description="pydantic's error type, e.g. string_too_long.")


class ErrorBody(BaseModel):
    """Every 4xx and 5xx answer of the service has these keys (``field`` when one input is at fault)."""

    error: str = Field(
        description="A stable snake_case kind, by status: "
        + ", ".join(f"{status} {kind}" for status, kind in KINDS.items())
        + "; http_error for others; the health probes' 503 say not_ready or unhealthy."
    )
    message: str = Field(description="What was wrong and what to do, in one sentence.")
    field: str | None = Field(None, description="The input at fault, when there is exactly one.")
    request_id: str | None = Field(description="The X-Request-Id of the answer; the log lines carry it.")
    detail: list[ValidationIssue] | dict[str, Any] | str = Field(
        description="Kept for compatibility: the list of bad inputs of a request validation error, a "
        'service\'s own {"error", "message", "field"?, ...}, or a plain string.'
    )


def _message(status: int, detail: Any) -> str:
    if isinstance(detail, str) and detail:
        return detail
    if isinstance(detail, dict) and isinstance(detail.get("message"), str):
        return str(detail["message"])
    if isinstance(detail, list) and detail:
        issues = "; ".join(f"{i.get('field') or 'body'}: {i.get('message', '')}" for i in detail)
        return f"invalid request: {issues}"
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"


def _field(detail: Any) -> str | None:
    if isinstance(detail, dict):
        named = detail.get("field")
        return named if isinstance(named, str) and named else None
    if isinstance(detail, list):
        named = {i.get("field") for i in detail if isinstance(i, dict)}
        if len(named) == 1:
            (only,) = named
            return only if isinstance(only, str) and only else None
    return None


def error_body(
    status: int, detail: Any, request_id: str | None, *, error: str | None = None, message: str | None = None
) -> dict[str, Any]:
    """The body of an error answer; ``error``, ``message`` and ``field`` are derived from
    ``status`` and ``detail`` unless given."""
    body: dict[str, Any] = {
        "detail": detail,
        "error": error or KINDS.get(status, "http_error"),
        "message": message or _message(status, detail),
    }
    if (field := _field(detail)) is not None:
        body["field"] = field
    body["request_id"] = request_id
    return body


def responses(*statuses: int, **meanings: str) -> dict[int | str, dict[str, Any]]:
    """``{status: {"model": ErrorBody, "description"}}`` for FastAPI's ``responses=``.

    ``meanings`` overrides a description by status (``s409="the session ended"``)."""
    return {
        status: {"model": ErrorBody, "description": meanings.get(f"s{status}", _MEANINGS[status])}
        for status in statuses
    }
