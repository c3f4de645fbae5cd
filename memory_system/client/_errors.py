"""What a call can raise: the service's refusal (with its message, field and request id), or a
failure to reach it at all."""

from __future__ import annotations

from typing import Any

import httpx

__all__ = ["MemoryClientError", "MemoryConnectionError", "MemoryServiceError", "MemoryTimeout"]


class MemoryClientError(Exception):
    """Every error of the client."""


class MemoryConnectionError(MemoryClientError):
    """The service could not be reached (after the retries)."""


class MemoryTimeout(MemoryClientError):
    """The service took longer than the client's timeout; the call may or may not have been applied."""


class MemoryServiceError(MemoryClientError):
    """The service answered 4xx or 5xx. ``code`` is the service's own kind when it gave one
    (``stale_version``, ``feature_disabled``), else ``error`` (``not_found``, ``validation_error``)."""

    def __init__(
        self,
        status: int,
        error: str,
        message: str,
        *,
        field: str | None = None,
        request_id: str | None = None,
        detail: Any = None,
    ) -> None:
        self.status, self.error, self.message = status, error, message
        self.field, self.request_id, self.detail = field, request_id, detail
        where = f" (field {field})" if field else ""
        super().__init__(f"HTTP {status} {error}: {message}{where} [request {request_id}]")

    @property
    def code(self) -> str:
        if isinstance(self.detail, dict) and isinstance(self.detail.get("error"), str):
            return str(self.detail["error"])
        return self.error

    @classmethod
    def from_response(cls, response: httpx.Response) -> MemoryServiceError:
        try:
            body = response.json()
        except ValueError:
            body = None
        request_id = response.headers.get("X-Request-Id")
        if not isinstance(body, dict):
            text = response.text[:200] or response.reason_phrase
            return cls(response.status_code, "http_error", text, request_id=request_id)
        return cls(
            response.status_code,
            str(body.get("error", "http_error")),
            str(body.get("message", response.reason_phrase)),
            field=body.get("field"),
            request_id=body.get("request_id") or request_id,
            detail=body.get("detail"),
        )
