"""The error shape: JSON bodies naming the bad field, 413 for big bodies, no stack traces, request ids."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from memory_system.api.app import create_app
from memory_system.ops import schema
from memory_system.runtime import Runtime
from memory_system.core.settings import Settings


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
    response = httpx.post(app_url + "/v1/entities", json={"entities": [{"name": "", "entityTyp": "x"}]}, timeout=30)
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
            yield payload[i:i + 256]

    streamed = httpx.post(app_url + "/v1/entities", content=chunks(), timeout=30,
                          headers={"content-type": "application/json"})
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
