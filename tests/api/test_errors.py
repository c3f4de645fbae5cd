"""The error shape: JSON bodies naming the bad field, 413 for big bodies, no stack traces, request ids."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from memory_system.api.app import create_app
from memory_system.api.errors import REFUSALS
from memory_system.core.errors import StoreBusy, StoreFull, StoreIOError
from memory_system.core.settings import Settings
from memory_system.core.validation import InvalidValue
from memory_system.flags.values import FlagError
from memory_system.memory.graph.entities import MAX_NAME_CHARS, EntityNotFound, GraphError, InvalidInput
from memory_system.memory.injection.injector import InjectionError
from memory_system.memory.records import models
from memory_system.memory.sessions import registry, state
from memory_system.memory.sharing.grants import MemoryNotOwned, ShareNotFound, SharingError
from memory_system.memory.typed.policy import WritePolicy, WriteRefused
from memory_system.ops import schema
from memory_system.runtime import Runtime


@pytest.fixture
def app_url(tmp_path: Path) -> Iterator[str]:
    """The real app, plus one route that fails the way a bug would, on a loopback port."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    db = tmp_path / "errors.db"
    schema.migrate(db)
    runtime = Runtime(Settings(db_path=db, dev=True, config_path=tmp_path / "none.json", max_body_bytes=1000))
    app = create_app(runtime)

    def boom() -> None:
        raise RuntimeError("secret internals /etc/passwd")

    app.add_api_route("/boom", boom)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(url + "/health/live", timeout=1)
            break
        except httpx.TransportError:
            time.sleep(0.05)
    yield url
    server.should_exit = True
    thread.join(timeout=10)
    runtime.close()


def test_validation_errors_name_each_bad_field(app_url: str) -> None:
    response = httpx.post(
        app_url + "/v1/entities", json={"entities": [{"name": "", "entityTyp": "x"}]}, timeout=30
    )
    assert response.status_code == 422
    body = response.json()
    fields = {e["field"] for e in body["detail"]}
    assert {"entities.0.name", "entities.0.entityType", "entities.0.entityTyp"} <= fields
    assert all(e["message"] and e["loc"][0] == "body" for e in body["detail"])
    assert body["error"] == "validation_error" and body["request_id"]


def test_a_body_over_the_limit_is_refused_with_413_and_changes_nothing(app_url: str) -> None:
    big = {"entities": [{"name": "x" * 10, "entityType": "t", "observations": ["y" * 2000]}]}
    declared = httpx.post(app_url + "/v1/entities", json=big, timeout=30)
    assert declared.status_code == 413 and declared.json()["error"] == "body_too_large"
    assert "1000 bytes" in declared.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit applies as the body streams in
        payload = json.dumps(big).encode()
        for i in range(0, len(payload), 256):
            yield payload[i : i + 256]

    streamed = httpx.post(
        app_url + "/v1/entities", content=chunks(), timeout=30, headers={"content-type": "application/json"}
    )
    assert streamed.status_code == 413, streamed.text
    assert httpx.get(app_url + "/v1/graph", timeout=30).json()["entities"] == []


def test_unhandled_errors_are_500_json_with_the_request_id_and_no_trace(app_url: str) -> None:
    response = httpx.get(app_url + "/boom", headers={"X-Request-Id": "req-boom-1"}, timeout=30)
    assert response.status_code == 500
    body: dict[str, Any] = response.json()
    assert body["error"] == "internal_error" and body["request_id"] == "req-boom-1"
    assert "req-boom-1" in body["detail"]
    assert "secret" not in response.text and "Traceback" not in response.text
    assert response.headers["x-request-id"] == "req-boom-1"


def test_request_ids_go_in_and_out_and_unknown_routes_are_json(app_url: str) -> None:
    given = httpx.get(app_url + "/health/live", headers={"X-Request-Id": "abc-123"}, timeout=30)
    assert given.headers["x-request-id"] == "abc-123"
    made = httpx.get(app_url + "/health/live", headers={"X-Request-Id": "bad id\twith spaces"}, timeout=30)
    assert made.headers["x-request-id"] != "bad id\twith spaces" and len(made.headers["x-request-id"]) == 32
    missing = httpx.get(app_url + "/no/such/route", timeout=30)
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    assert missing.json()["request_id"] == missing.headers["x-request-id"]


def test_every_log_line_of_a_request_carries_its_id(serve_process: Any) -> None:
    served = serve_process(dev=True)
    httpx.post(served.url + "/v1/sessions", headers={"X-Request-Id": "trace-me-42"}, timeout=30)
    assert served.stop() == 0
    lines = [e for e in served.log_events() if e.get("request_id") == "trace-me-42"]
    assert {e["event"] for e in lines} >= {"session_started", "http_request"}
    (access,) = [e for e in lines if e["event"] == "http_request"]
    assert (access["method"], access["path"], access["status"]) == ("POST", "/v1/sessions", 201)
    assert access["duration_ms"] >= 0
    stderr = served.stderr.read_text()
    assert "trace-me-42" in stderr  # the same JSON lines go to stderr


def test_requests_are_counted_by_route_kind_and_status_class_never_by_id(app_url: str) -> None:
    sid = httpx.post(app_url + "/v1/sessions", timeout=30).json()["session_id"]
    httpx.get(f"{app_url}/v1/sessions/{sid}", timeout=30)
    httpx.get(app_url + "/v1/sessions/nope", timeout=30)
    text = httpx.get(app_url + "/metrics", timeout=30).text
    assert 'memory_requests_total{kind="/v1/sessions",status="2xx"}' in text
    assert 'memory_requests_total{kind="/v1/sessions",status="4xx"}' in text
    assert sid not in text


# --- one mapping from service errors to HTTP (api/errors.REFUSALS) ----------------------------

A = {"X-Agent-Id": "a", "X-Namespace": "p"}
B = {"X-Agent-Id": "b", "X-Namespace": "p"}
ADMIN = {"Authorization": "Bearer admin-token-for-tests-0123456789"}
RECORDS_BASE = models.MemoryForbidden.__bases__[0]  # the base of every error of memory/records


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[TestClient, Runtime]]:
    """The real app on a real database file, driven in-process; a bug answers 500, not raises."""
    db = tmp_path / "refusals.db"
    schema.migrate(db)
    runtime = Runtime(
        Settings(
            db_path=db,
            dev=True,
            config_path=tmp_path / "none.json",
            admin_token=ADMIN["Authorization"].removeprefix("Bearer "),
        )
    )
    with TestClient(create_app(runtime), raise_server_exceptions=False) as client:
        yield client, runtime
    runtime.close()


@dataclass(frozen=True)
class Case:
    """One row of REFUSALS: a request that meets it, and the status, detail and headers it gets."""

    kind: type[Exception]
    call: Callable[[TestClient, Runtime, pytest.MonkeyPatch], tuple[httpx.Response, Any]]
    status: int
    error: str  # the body's top-level kind, from the status
    headers: dict[str, str] = field(default_factory=dict)


def documented_statuses(app: Any, method: str, path: str) -> set[str]:
    """The statuses the OpenAPI document lists for the operation that serves ``method path``."""
    for template, operations in app.openapi()["paths"].items():
        if re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", template), path) and method.lower() in operations:
            return set(operations[method.lower()]["responses"])
    raise AssertionError(f"no operation in the document serves {method} {path}")


def _memory(client: TestClient, content: str, **fields: Any) -> int:
    created = client.post("/v1/memories", headers=A, json={"content": content, **fields})
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def _session(client: TestClient) -> str:
    return str(client.post("/v1/sessions", headers=A).json()["session_id"])


def _raising(monkeypatch: pytest.MonkeyPatch, service: object, method: str, exc: Exception) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise exc

    monkeypatch.setattr(service, method, refuse)


def batch_too_large(c: TestClient, rt: Runtime, mp: pytest.MonkeyPatch) -> tuple[httpx.Response, Any]:
    items = [{"content": f"c{i}"} for i in range(1001)]
    return c.post("/v1/memories/batch", headers=A, json={"items": items}), {
        "error": "invalid_input",
        "field": "items",
        "message": "items: holds 1001 memories; the limit is 1000 per batch, split it",
    }


def memory_invalid(c: TestClient, rt: Runtime, mp: pytest.MonkeyPatch) -> tuple[httpx.Response, Any]:
    # Two fields together: what the request schema cannot say, so the service answers it.
    return c.post("/v1/memories", headers=A, json={"content": "x", "tier": "working"}), {
        "error": "invalid_input",
        "field": "tier",
        "message": "tier: working memories belong to a session; give a session_id",
    }


def memory_not_found(c: TestClient, rt: Runtime, mp: pytest.MonkeyPatch) -> tuple[httpx.Response, Any]:
    return c.get("/v1/memories/99999", headers=A), {"error": "not_found", "message": "memory 99999 not found"}


def write_refused(c: TestClient, rt: Runtime, mp: pytest.MonkeyPatch) -> tuple[httpx.Response, Any]:
    mp.setattr(rt.preferences, "policy", WritePolicy("creator", setting="typedStores.preferences.writers"))
    c.put("/v1/preferences/tone", headers=A, params={"user_id": "u"}, json={"value": "terse"})
    return c.put("/v1/preferences/tone", headers=B, params={"user_id": "u"}, json={"value": "loud"}), {
        "error": "write_refused",
        "store": "preference",
        "policy": "creator",
        "created_by": "a",
        "message": "preference 'tone' of user 'u' was created by agent 'a'; typedStores.preferences.writers "
        "is \"creator\", so only that agent may change or delete it, not 'b'",
    }


def memory_forbidden(c: TestClient, rt: Runtime, mp: pytest.MonkeyPatch) -> tuple[httpx.Response, Any]:
    mid = _memory(c, "the team deploys on Fridays", visibility="namespace")
    return c.patch(f"/v1/memories/{mid}", headers=B, json={"importance": 0.9}), {
        "error": "forbidden",
        "message": f"memory {mid} belongs to agent 'a'; only its owner can change or delete it",
    }


def memory_conflict(c: TestClient, rt: Runtime, mp: pytest.MonkeyPatch) -> tuple[httpx.Response, Any]:
    first, second = _memory(c, "alpha one"), _memory(c, "beta two, something else entirely")
    return c.patch(f"/v1/memories/{second}", headers=A, json={"content": "alpha one"}), {
        "error": "near_duplicate",
        "existing_id": first,
        "message": f"memory {first} already holds near-identical content; change or delete that one",
    }


def memory_error(c: TestClient, rt: Runtime, mp: pytest.MonkeyPatch) -> tuple[httpx.Response, Any]:
    _raising(mp, rt.memories, "get", RECORDS_BASE("a records refusal of no narrower kind"))
    return c.get("/v1/memories/1", headers=A), {
        "error": "invalid_input",
        "message": "a records refusal of no narrower kind",
    }


def invalid_value(c: TestClient, rt: Runtime, mp: pytest.MonkeyPatch) -> tuple[httpx.Response, Any]:
    # Entry points name the field; this row answers a value one of them let through to the store.
    _raising(mp, rt.memories, "get", InvalidValue("", "a value cannot be stored: an integer outside 64 bits"))
    return c.get("/v1/memories/1", headers=A), {
        "error": "invalid_input",
        "message": "a value cannot be stored: an integer outside 64 bits",
    }


def entity_not_found(c: TestClient, rt: Runtime, mp: pytest.MonkeyPatch) -> tuple[httpx.Response, Any]:
    c.post("/v1/entities", headers=A, json={"entities": [{"name": "alice", "entityType": "person"}]})
    relation = {"from": "alice", "to": "zed", "relationType": "knows"}
    return c.post("/v1/relations", headers=A, json={"relations": [relation]}), {
        "error": "entity_not_found",
        "field": "relations[0].to",
        "message": "relations[0].to: entity 'zed' does not exist in namespace 'p'; create it first",
    }


# The request schema refuses what these two rows answered over HTTP (a name too long, a blank
# query) before the service sees it; the rows still answer any caller that lets one through.
def graph_invalid(c: TestClient, rt: Runtime, mp: pytest.MonkeyPatch) -> tuple[httpx.Response, Any]:
    too_long = f"is {MAX_NAME_CHARS + 1} characters long; the limit is {MAX_NAME_CHARS}"
    _raising(mp, rt.graph, "get_entity", InvalidInput("name", too_long))
    return c.get("/v1/entities/ada", headers=A), {
        "error": "invalid_input",
        "field": "name",
        "message": f"name: {too_long}",
    }


def injection_invalid(c: TestClient, rt: Runtime, mp: pytest.MonkeyPatch) -> tuple[httpx.Response, Any]:
    blank = "must be a non-empty string: the agent's current task or message"
    _raising(mp, rt.injector, "cache_key", InjectionError("query", blank))
    return c.post("/v1/inject", headers=A, json={"query": "deploys"}), {
        "error": "invalid_input",
        "field": "query",
        "message": f"query: {blank}",
    }


def session_not_found(c: TestClient, rt: Runtime, mp: pytest.MonkeyPatch) -> tuple[httpx.Response, Any]:
    return c.get("/v1/sessions/nope", headers=A), "no session 'nope' for agent 'a'"


def stale_version(c: TestClient, rt: Runtime, mp: pytest.MonkeyPatch) -> tuple[httpx.Response, Any]:
    sid = _session(c)
    first = c.put(f"/v1/sessions/{sid}/state", headers=A, json={"state": {"a": 1}, "version": 0})
    assert first.status_code == 200
    return c.put(f"/v1/sessions/{sid}/state", headers=A, json={"state": {"a": 2}, "version": 0}), {
        "error": "stale_version",
        "message": "version: is 0 but the state is at version 1; read it again (GET), merge, and write "
        "with the current version",
        "field": "version",
        "current_version": 1,
    }


def state_session_not_found(c: TestClient, rt: Runtime, mp: pytest.MonkeyPatch) -> tuple[httpx.Response, Any]:
    return c.get("/v1/sessions/nope/state", headers=A), {
        "error": "session_not_found",
        "message": "session_id: no session 'nope' of agent 'a'; start one with POST /v1/sessions",
        "field": "session_id",
    }


def session_ended(c: TestClient, rt: Runtime, mp: pytest.MonkeyPatch) -> tuple[httpx.Response, Any]:
    sid = _session(c)
    ended_at = c.post(f"/v1/sessions/{sid}/end", headers=A).json()["ended_at"]
    return c.put(f"/v1/sessions/{sid}/state", headers=A, json={"state": {}, "version": 0}), {
        "error": "session_ended",
        "message": f"session_id: session '{sid}' ended at {ended_at}; its state can be read but not changed",
        "field": "session_id",
    }


def version_required(c: TestClient, rt: Runtime, mp: pytest.MonkeyPatch) -> tuple[httpx.Response, Any]:
    return c.put(f"/v1/sessions/{_session(c)}/state", headers=A, json={"state": {}}), {
        "error": "version_required",
        "message": "version: is required: send the version you read (GET returns it; 0 for a session "
        "without state) as 'version' or If-Match",
        "field": "version",
    }


def state_error(c: TestClient, rt: Runtime, mp: pytest.MonkeyPatch) -> tuple[httpx.Response, Any]:
    _raising(mp, rt.session_state, "get", state.SessionStateError("state", "a refusal of no narrower kind"))
    return c.get(f"/v1/sessions/{_session(c)}/state", headers=A), {
        "error": "session_state_error",
        "message": "state: a refusal of no narrower kind",
        "field": "state",
    }


def memory_not_owned(c: TestClient, rt: Runtime, mp: pytest.MonkeyPatch) -> tuple[httpx.Response, Any]:
    return c.post("/v1/memories/99999/shares", headers=A, json={"agent_ids": ["b"]}), {
        "error": "memory_not_owned",
        "message": "memory_id: no memory 99999 owned by agent 'a'; only the owner of a memory can share it "
        "or list its shares",
        "field": "memory_id",
    }


def share_not_found(c: TestClient, rt: Runtime, mp: pytest.MonkeyPatch) -> tuple[httpx.Response, Any]:
    mid = _memory(c, "shared with nobody yet")
    return c.delete(f"/v1/memories/{mid}/shares?agent_id=zz", headers=A), {
        "error": "share_not_found",
        "message": f"agent_ids: memory {mid} is not shared with agent 'zz'; nothing revoked",
        "field": "agent_ids",
    }


def sharing_invalid(c: TestClient, rt: Runtime, mp: pytest.MonkeyPatch) -> tuple[httpx.Response, Any]:
    mid = _memory(c, "to be shared with someone")
    return c.post(f"/v1/memories/{mid}/shares", headers=A, json={}), {
        "error": "invalid_share",
        "message": "agent_ids: name at least one agent in agent_ids, or set namespace: true",
        "field": "agent_ids",
    }


def flag_invalid(c: TestClient, rt: Runtime, mp: pytest.MonkeyPatch) -> tuple[httpx.Response, Any]:
    return c.post("/admin/feature-flags", headers=ADMIN, json={"NOPE": True}), {
        "error": "invalid_feature_flag",
        "field": "NOPE",
        "message": "api: unknown feature flag 'NOPE'; known flags: USE_HIERARCHICAL_TIERS, "
        "USE_CROSS_AGENT_SHARING, USE_ENHANCED_INJECTION",
    }


def store_busy(c: TestClient, rt: Runtime, mp: pytest.MonkeyPatch) -> tuple[httpx.Response, Any]:
    _raising(mp, rt.memories, "get", StoreBusy(f"database is locked; {StoreBusy.advice}"))
    return c.get("/v1/memories/1", headers=A), {
        "error": "store_busy",
        "message": f"database is locked; {StoreBusy.advice}",
    }


def store_full(c: TestClient, rt: Runtime, mp: pytest.MonkeyPatch) -> tuple[httpx.Response, Any]:
    _raising(mp, rt.memories, "get", StoreFull(f"database or disk is full; {StoreFull.advice}"))
    return c.get("/v1/memories/1", headers=A), {
        "error": "store_full",
        "message": f"database or disk is full; {StoreFull.advice}",
    }


def store_io_error(c: TestClient, rt: Runtime, mp: pytest.MonkeyPatch) -> tuple[httpx.Response, Any]:
    _raising(mp, rt.memories, "get", StoreIOError(f"disk I/O error; {StoreIOError.advice}"))
    return c.get("/v1/memories/1", headers=A), {
        "error": "store_io_error",
        "message": f"disk I/O error; {StoreIOError.advice}",
    }


CASES = [
    Case(InvalidValue, invalid_value, 422, "validation_error"),
    Case(models.BatchTooLarge, batch_too_large, 413, "body_too_large"),
    Case(models.MemoryValidationError, memory_invalid, 422, "validation_error"),
    Case(models.MemoryNotFound, memory_not_found, 404, "not_found"),
    Case(WriteRefused, write_refused, 403, "forbidden"),
    Case(models.MemoryForbidden, memory_forbidden, 403, "forbidden"),
    Case(models.MemoryConflict, memory_conflict, 409, "conflict"),
    Case(RECORDS_BASE, memory_error, 422, "validation_error"),
    Case(EntityNotFound, entity_not_found, 422, "validation_error"),
    Case(GraphError, graph_invalid, 422, "validation_error"),
    Case(InjectionError, injection_invalid, 422, "validation_error"),
    Case(registry.SessionNotFound, session_not_found, 404, "not_found"),
    Case(state.StaleVersion, stale_version, 409, "conflict", {"etag": '"1"'}),
    Case(state.SessionNotFound, state_session_not_found, 404, "not_found"),
    Case(state.SessionEnded, session_ended, 409, "conflict"),
    Case(state.VersionRequired, version_required, 428, "http_error"),
    Case(state.SessionStateError, state_error, 422, "validation_error"),
    Case(MemoryNotOwned, memory_not_owned, 404, "not_found"),
    Case(ShareNotFound, share_not_found, 404, "not_found"),
    Case(SharingError, sharing_invalid, 422, "validation_error"),
    Case(FlagError, flag_invalid, 422, "validation_error"),
    Case(StoreBusy, store_busy, 503, "unavailable", {"retry-after": "1"}),
    Case(StoreFull, store_full, 503, "unavailable"),
    Case(StoreIOError, store_io_error, 503, "unavailable"),
]


def test_every_row_of_the_table_has_a_case() -> None:
    assert [c.kind for c in CASES] == list(REFUSALS)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.kind.__name__)
def test_each_service_error_gets_its_status_and_body(
    case: Case, served: tuple[TestClient, Runtime], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, runtime = served
    client.headers["X-Request-Id"] = "req-refused-1"
    response, detail = case.call(client, runtime, monkeypatch)
    assert response.status_code == case.status, response.text
    # The one error shape (api/error_body): message and field lifted from the row's detail.
    message = detail if isinstance(detail, str) else detail["message"]
    field = {"field": detail["field"]} if isinstance(detail, dict) and detail.get("field") else {}
    body = {"detail": detail, "error": case.error, "message": message, **field, "request_id": "req-refused-1"}
    # Byte for byte, key order included: what a client that diffs or hashes bodies sees.
    assert response.content == json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    assert response.headers["content-type"] == "application/json"
    assert {k: response.headers[k] for k in case.headers} == case.headers
    assert "etag" in case.headers or "etag" not in response.headers
    # ... and the route that answered says it may, in the OpenAPI document.
    documented = documented_statuses(client.app, response.request.method, response.request.url.path)
    assert str(case.status) in documented, (response.request.method, response.request.url.path, documented)


def test_an_entity_the_url_names_is_404_with_the_rows_detail(served: tuple[TestClient, Runtime]) -> None:
    client, _ = served
    response = client.get("/v1/entities/zed", headers=A)
    assert response.status_code == 404
    assert response.json()["detail"] == {
        "error": "entity_not_found",
        "field": "name",
        "message": "name: entity 'zed' does not exist in namespace 'p'; create it first",
    }


def test_a_service_error_of_no_row_is_a_500_with_the_request_id_and_no_trace(
    served: tuple[TestClient, Runtime], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, runtime = served
    _raising(monkeypatch, runtime.memories, "get", ValueError("secret internals /etc/passwd"))
    response = client.get("/v1/memories/1", headers={**A, "X-Request-Id": "req-bug-1"})
    assert response.status_code == 500
    said = "internal error; the service log has the details under request_id req-bug-1"
    assert response.json() == {
        "detail": said,
        "error": "internal_error",
        "message": said,
        "request_id": "req-bug-1",
    }
    assert response.headers["x-request-id"] == "req-bug-1"
    assert "secret" not in response.text and "Traceback" not in response.text


def test_a_500_over_real_http_says_connection_close(live_server: Callable[..., str], tmp_path: Path) -> None:
    """A fault the service cannot answer (a table dropped under it) is a 500 whose keep-alive
    connection the server then closes: the response must say so, so clients reconnect."""
    import http.client
    import sqlite3
    from urllib.parse import urlsplit

    url = live_server()
    raw = sqlite3.connect(tmp_path / "server0.db")  # the live_server fixture's first database
    raw.execute("DROP TABLE user_preferences")
    raw.commit()
    raw.close()
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request("GET", "/v1/preferences?user_id=ana")
        answer = conn.getresponse()
        body = json.loads(answer.read())
        assert answer.status == 500 and body["error"] == "internal_error"
        assert answer.getheader("connection") == "close"
        assert answer.getheader("x-request-id") == body["request_id"]
    finally:
        conn.close()
