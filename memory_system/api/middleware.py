"""One ASGI middleware for what every request needs: an id, a body-size limit, the JSON body
check (``api/json_body``), an access log.

Pure ASGI (not ``BaseHTTPMiddleware``) so that the request id set here is in the context of
the endpoint and of every log line it writes, and so that a large body is refused while it
streams in rather than after it has been read into memory. A JSON body is read whole (it is
bounded by the limit), checked once, and replayed to the app; the parsed value is left in the
request's state for the body-claims check of ``api/deps``.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from memory_system.api.error_body import error_body
from memory_system.api.json_body import BodyProblem, check_body, is_json
from memory_system.core.logging import REQUEST_ID, log_event
from memory_system.core.metrics import ERRORS, REQUESTS

logger = logging.getLogger("memory_system.http")
_CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_BODY_METHODS = ("POST", "PUT", "PATCH", "DELETE")


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` mid-stream; an HTTPException so that FastAPI passes it through."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body is larger than the limit of {limit} bytes (maxBodyBytes)")


class RequestContext:
    def __init__(self, app: ASGIApp, max_body_bytes: Callable[[], int]) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _CLIENT_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        REQUEST_ID.set(request_id)  # one task per request: the value dies with it
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        response: dict[str, Any] = {"status": 500, "started": False}
        limit = self.max_body_bytes()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                response["status"] = message["status"]
                response["started"] = True
                MutableHeaders(scope=message)["x-request-id"] = request_id
            await send(message)

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        try:
            declared = headers.get(b"content-length", b"")
            if declared.isdigit() and int(declared) > limit:
                await _send_json(send_with_id, 413, error_body(413, BodyTooLarge(limit).detail, request_id))
                return
            app_receive: Receive = limited_receive
            content_type = headers.get(b"content-type", b"").decode("latin-1")
            if scope["method"] in _BODY_METHODS and is_json(content_type):
                body, app_receive = await _buffered(limited_receive)
                parsed, problem = check_body(body)
                if problem is not None:
                    await _send_json(send_with_id, 422, _invalid_body(problem, request_id))
                    return
                scope["state"]["json_body"] = parsed
            await self.app(scope, app_receive, send_with_id)
        except BodyTooLarge as exc:
            if response["started"]:
                raise
            await _send_json(send_with_id, 413, error_body(413, exc.detail, request_id))
        finally:
            route = getattr(scope.get("route"), "path", None)
            log_event(
                logger,
                "http_request",
                method=scope["method"],
                path=scope["path"],
                route=route,
                status=response["status"],
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
                request_id=request_id,
            )
            kind = route_kind(route)
            REQUESTS.labels(kind=kind, status=f"{response['status'] // 100}xx").inc()
            if response["status"] >= 500 and not _health_report(kind, response["status"]):
                ERRORS.labels(kind=kind).inc()


async def _buffered(receive: Receive) -> tuple[bytes, Receive]:
    """The whole body (``receive`` enforces the size limit), and a ``receive`` that replays it."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"", receive  # the client went away; the app sees the disconnect
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay


_INDEX = re.compile(r"\[\d+\]")


def _parts(field: str) -> list[str]:
    """``items[3].metadata.k`` -> items, [3], metadata, k (a key may hold any character: best effort)."""
    return [p for p in re.split(r"\.|(?=\[\d+\])", field) if p and p != "body"]


def _invalid_body(problem: BodyProblem, request_id: str) -> dict[str, Any]:
    """The validation error's shape (``api/errors.validation_error``), for a body refused here."""
    loc: list[str | int] = [
        "body",
        *[int(p[1:-1]) if _INDEX.fullmatch(p) else p for p in _parts(problem.field)],
    ]
    issue = {
        "loc": loc,
        "field": problem.field,
        "message": problem.message,
        "msg": problem.message,
        "type": problem.kind,
    }
    return error_body(422, [issue], request_id)


def _health_report(kind: str, status: int) -> bool:
    """A readiness or deep check answering 503 reports the state it found; it is not an error
    of the service (counting it would page for every not-ready probe of a load balancer)."""
    return status == 503 and kind.startswith("/health/")


def route_kind(route: str | None) -> str:
    """A label of bounded cardinality: the route template's first two segments, never ids."""
    if route is None:
        return "unmatched"
    return "/" + "/".join(route.strip("/").split("/")[:2])


async def _send_json(send: Send, status: int, body: dict[str, Any]) -> None:
    payload = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
