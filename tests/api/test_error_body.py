"""One error shape: every 4xx and 5xx, whoever answers it, has the keys of ``ErrorBody``, and
the operation that answered it lists the status in the OpenAPI document."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from memory_system.api.app import create_app
from memory_system.api.error_body import ErrorBody, error_body
from memory_system.core.errors import StoreBusy
from memory_system.core.settings import Settings
from memory_system.ops import schema
from memory_system.ops.health import ServiceState
from memory_system.runtime import Runtime

ADMIN = "admin-token-for-error-shape-0123"
MAX_BODY = 4096


@dataclass
class Served:
    client: TestClient
    runtime: Runtime
    agent: dict[str, str]  # headers of a real agent token


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """The real app with agent tokens on (not --dev), the admin token set, a small body limit."""
    db = tmp_path / "shape.db"
    schema.migrate(db)
    settings = Settings(
        db_path=db, config_path=tmp_path / "none.json", admin_token=ADMIN, max_body_bytes=MAX_BODY
    )
    runtime = Runtime(settings)
    token = runtime.tokens.create("agent-a", "proj").token
    with TestClient(create_app(runtime), raise_server_exceptions=False) as client:
        yield Served(client, runtime, {"Authorization": f"Bearer {token}"})
    runtime.close()


def _memory(s: Served, content: str) -> int:
    created = s.client.post("/v1/memories", headers=s.agent, json={"content": content})
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def _raising(mp: pytest.MonkeyPatch, service: object, method: str, exc: Exception) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise exc

    mp.setattr(service, method, refuse)


Call = Callable[[Served, pytest.MonkeyPatch], httpx.Response]


@dataclass(frozen=True)
class Case:
    name: str
    call: Call
    status: int
    error: str
    template: str | None  # the operation's path in the document; None: no operation (405)
    field: str | None = None


def no_token(s: Served, mp: pytest.MonkeyPatch) -> httpx.Response:
    return s.client.get("/v1/memories")


def wrong_admin_token(s: Served, mp: pytest.MonkeyPatch) -> httpx.Response:
    return s.client.get("/admin/feature-flags", headers={"Authorization": "Bearer not-the-admin-token"})


def posing_as_another_agent(s: Served, mp: pytest.MonkeyPatch) -> httpx.Response:
    return s.client.get("/v1/memories", headers={**s.agent, "X-Agent-Id": "agent-b"})


def unknown_memory(s: Served, mp: pytest.MonkeyPatch) -> httpx.Response:
    return s.client.get("/v1/memories/99999", headers=s.agent)


def method_not_allowed(s: Served, mp: pytest.MonkeyPatch) -> httpx.Response:
    return s.client.put("/v1/memories", headers=s.agent, json={})


def near_duplicate(s: Served, mp: pytest.MonkeyPatch) -> httpx.Response:
    _memory(s, "the deploy freezes on Fridays")
    other = _memory(s, "something else entirely, about tea")
    return s.client.patch(
        f"/v1/memories/{other}", headers=s.agent, json={"content": "the deploy freezes on Fridays"}
    )


def body_too_large(s: Served, mp: pytest.MonkeyPatch) -> httpx.Response:
    return s.client.post("/v1/memories", headers=s.agent, json={"content": "x" * (MAX_BODY + 1)})


def not_a_number(s: Served, mp: pytest.MonkeyPatch) -> httpx.Response:
    return s.client.post("/v1/memories", headers=s.agent, json={"content": "x", "importance": True})


def two_fields_together(s: Served, mp: pytest.MonkeyPatch) -> httpx.Response:
    return s.client.post("/v1/memories", headers=s.agent, json={"content": "x", "tier": "working"})


def lone_surrogate(s: Served, mp: pytest.MonkeyPatch) -> httpx.Response:
    body = b'{"content": "\\ud800"}'
    return s.client.post(
        "/v1/memories", headers={**s.agent, "Content-Type": "application/json"}, content=body
    )


def no_version(s: Served, mp: pytest.MonkeyPatch) -> httpx.Response:
    session = s.client.post("/v1/sessions", headers=s.agent).json()["session_id"]
    return s.client.put(f"/v1/sessions/{session}/state", headers=s.agent, json={"state": {}})


def store_busy(s: Served, mp: pytest.MonkeyPatch) -> httpx.Response:
    _raising(mp, s.runtime.memories, "get", StoreBusy("database is locked"))
    return s.client.get("/v1/memories/1", headers=s.agent)


def draining(s: Served, mp: pytest.MonkeyPatch) -> httpx.Response:
    mp.setattr(s.client.app.state, "service", ServiceState(draining=True), raising=False)
    return s.client.get("/health/ready")


def a_bug(s: Served, mp: pytest.MonkeyPatch) -> httpx.Response:
    _raising(mp, s.runtime.memories, "get", ValueError("secret"))
    return s.client.get("/v1/memories/1", headers=s.agent)


CASES = [
    Case("401 agent", no_token, 401, "unauthorized", "/v1/memories"),
    Case("401 admin", wrong_admin_token, 401, "unauthorized", "/admin/feature-flags"),
    Case("403", posing_as_another_agent, 403, "forbidden", "/v1/memories"),
    Case("404", unknown_memory, 404, "not_found", "/v1/memories/{memory_id}"),
    Case("405", method_not_allowed, 405, "method_not_allowed", None),
    Case("409", near_duplicate, 409, "conflict", "/v1/memories/{memory_id}"),
    Case("413", body_too_large, 413, "body_too_large", "/v1/memories"),
    Case("422 model", not_a_number, 422, "validation_error", "/v1/memories", "importance"),
    Case("422 service", two_fields_together, 422, "validation_error", "/v1/memories", "tier"),
    Case("422 body check", lone_surrogate, 422, "validation_error", "/v1/memories", "content"),
    Case("428", no_version, 428, "http_error", "/v1/sessions/{session_id}/state", "version"),
    Case("503 store", store_busy, 503, "unavailable", "/v1/memories/{memory_id}"),
    Case("503 probe", draining, 503, "not_ready", "/health/ready"),
    Case("500", a_bug, 500, "internal_error", "/v1/memories/{memory_id}"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_every_error_has_the_one_shape_and_is_documented(
    case: Case, served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    response = case.call(served, monkeypatch)
    assert response.status_code == case.status, response.text
    body = response.json()
    assert {"error", "message", "request_id", "detail"} <= set(body), body
    ErrorBody.model_validate(body)
    assert body["error"] == case.error
    assert isinstance(body["message"], str) and body["message"].strip()
    assert body["request_id"] == response.headers["x-request-id"]
    assert body.get("field") == case.field
    if case.template is not None:
        operation = served.client.app.openapi()["paths"][case.template][response.request.method.lower()]
        assert str(case.status) in operation["responses"], (case.template, sorted(operation["responses"]))


def test_message_and_field_come_from_the_detail() -> None:
    assert error_body(404, "no session 'x'", "r1") == {
        "detail": "no session 'x'",
        "error": "not_found",
        "message": "no session 'x'",
        "request_id": "r1",
    }
    service = {"error": "invalid_share", "field": "agent_ids", "message": "agent_ids: name one"}
    assert error_body(422, service, None) == {
        "detail": service,
        "error": "validation_error",
        "message": "agent_ids: name one",
        "field": "agent_ids",
        "request_id": None,
    }
    issues = [
        {
            "loc": ["body", "k"],
            "field": "k",
            "message": "too big",
            "msg": "too big",
            "type": "less_than_equal",
        },
        {"loc": ["body", "k"], "field": "k", "message": "odd", "msg": "odd", "type": "x"},
    ]
    assert error_body(422, issues, None)["field"] == "k"  # one field at fault, twice
    two = [issues[0], {**issues[1], "loc": ["body", "query"], "field": "query"}]
    assert "field" not in error_body(422, two, None)
    assert error_body(422, two, None)["message"] == "invalid request: k: too big; query: odd"
    assert error_body(405, None, None)["message"] == "Method Not Allowed"
    assert "field" not in error_body(422, {"error": "invalid_input", "field": "", "message": "m"}, None)
