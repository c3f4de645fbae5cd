"""One ASGI middleware for what every request needs: an id, a body-size limit, an access log.

Pure ASGI (not ``BaseHTTPMiddleware``) so that the request id set here is in the context of
the endpoint and of every log line it writes, and so that a large body is refused while it
streams in rather than after it has been read into memory.
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

from memory_system.core.logging import REQUEST_ID, log_event
from memory_system.core.metrics import ERRORS, REQUESTS

logger = logging.getLogger("memory_system.http")
_CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


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
        request_id = given if _CLIENT_REQUEST_ID.match(given) else uuid.uuid4().hex
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
                await _send_json(
                    send_with_id,
                    413,
                    {
                        "detail": str(BodyTooLarge(limit).detail),
                        "error": "body_too_large",
                        "request_id": request_id,
                    },
                )
                return
            await self.app(scope, limited_receive, send_with_id)
        except BodyTooLarge as exc:
            if response["started"]:
                raise
            await _send_json(
                send_with_id, 413, {"detail": exc.detail, "error": "body_too_large", "request_id": request_id}
            )
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
            if response["status"] >= 500:
                ERRORS.labels(kind=kind).inc()


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
