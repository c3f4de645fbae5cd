"""Health answers of a real ``memory-system serve`` subprocess in each state it can be in."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import httpx

from memory_system.ops import schema
from memory_system.store import migrations
from memory_system.store.connection import open_connection

# Generous timeouts: the test machine is shared and loaded; these are not speed checks.
http_get = partial(httpx.get, timeout=30)
http_post = partial(httpx.post, timeout=30)
http_request = partial(httpx.request, timeout=30)

EXPECTED = migrations.expected_version()


def _poll(url: str, until: Callable[[httpx.Response], bool], timeout: float = 15) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        response = http_get(url, timeout=5)
        if until(response) or time.monotonic() > deadline:
            return response
        time.sleep(0.05)


def test_fresh_service_is_live_ready_and_deep_healthy(serve_process: Any) -> None:
    served = serve_process(dev=True)
    live = http_get(served.url + "/health/live")
    assert live.status_code == 200 and live.json() == {"status": "ok"}

    ready = http_get(served.url + "/health/ready")
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert body["status"] == "ready" and body["schema"] == "current"
    assert body["schema_version"] == body["expected_schema_version"] == EXPECTED
    assert body["version"]

    deep = http_get(served.url + "/health/deep", timeout=60)
    assert deep.status_code == 200, deep.text
    assert deep.headers["content-type"].startswith("application/health+json")
    checks = deep.json()["checks"]
    assert {
        "database_read",
        "database_write",
        "integrity",
        "rag",
        "cache",
        "memory_headroom",
        "flags",
    } <= set(checks)
    assert all(v in ("ok", "not configured", "not started") for v in checks.values()), checks
    assert deep.json()["status"] == "pass"


def test_database_made_unreachable_fails_readiness_and_deep_then_recovers(
    serve_process: Any, tmp_path: Any
) -> None:
    data = tmp_path / "data"
    served = serve_process(db=data / "memory.db", dev=True)
    assert http_get(served.url + "/health/ready").status_code == 200

    data.rename(tmp_path / "data-moved")  # an operator moves the volume away under the service
    ready = http_get(served.url + "/health/ready")
    assert ready.status_code == 503
    assert any("database unreachable" in r for r in ready.json()["reasons"]), ready.json()
    deep = http_get(served.url + "/health/deep", timeout=60)
    assert deep.status_code == 503 and deep.json()["status"] == "fail"
    assert deep.json()["checks"]["database"] != "ok"
    assert http_get(served.url + "/health/live").status_code == 200  # alive: no I/O in liveness

    (tmp_path / "data-moved").rename(data)
    assert http_get(served.url + "/health/ready").status_code == 200


def test_schema_behind_is_not_ready_and_says_what_to_run(serve_process: Any, tmp_path: Any) -> None:
    db = tmp_path / "old" / "memory.db"
    schema.migrate(db, to=EXPECTED - 1)
    served = serve_process("--no-migrate", db=db, dev=True)
    ready = http_get(served.url + "/health/ready")
    assert ready.status_code == 503
    body = ready.json()
    assert body["schema"] == "behind" and body["schema_version"] == EXPECTED - 1
    assert any("memory-system db migrate" in r for r in body["reasons"])
    assert (
        http_get(served.url + "/health/deep", timeout=60)
        .json()["checks"]["database"]
        .startswith("schema behind")
    )


def test_schema_ahead_from_a_later_release_is_still_ready_and_says_so(
    serve_process: Any, tmp_path: Any
) -> None:
    db = tmp_path / "new" / "memory.db"
    schema.migrate(db)
    conn = open_connection(db)
    conn.execute(
        "INSERT INTO schema_migrations (version, name, checksum) VALUES (?, 'from_the_future', 'x')",
        (EXPECTED + 1,),
    )
    conn.execute("CREATE TABLE table_of_a_later_release (id INTEGER PRIMARY KEY)")
    conn.close()
    served = serve_process(db=db, dev=True)
    ready = http_get(served.url + "/health/ready")
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert body["schema"] == "ahead" and body["schema_version"] == EXPECTED + 1
    assert body["expected_schema_version"] == EXPECTED and "newer" in body["schema_note"]
    session = http_post(served.url + "/v1/sessions", headers={"X-Agent-Id": "a"})
    assert session.status_code == 201  # the older release keeps working against the newer schema


def test_readiness_fails_while_draining_and_the_process_exits_zero(serve_process: Any) -> None:
    served = serve_process(dev=True, env={"MEMORY_SYSTEM_SHUTDOWN_DELAY_S": "5"})
    assert http_get(served.url + "/health/ready").status_code == 200
    served.send(signal.SIGTERM)
    ready = _poll(served.url + "/health/ready", lambda r: r.status_code == 503)
    assert ready.status_code == 503 and ready.json()["draining"] is True
    assert any("draining" in r for r in ready.json()["reasons"])
    assert http_get(served.url + "/health/live").status_code == 200
    assert served.wait(timeout=30) == 0


def test_a_dropped_table_fails_readiness_and_deep_naming_it(tmp_path: Any) -> None:
    """Health reads the tables, not the number: schema_migrations says current, memories is gone."""
    from fastapi.testclient import TestClient

    from memory_system.api.app import create_app
    from memory_system.core.settings import Settings
    from memory_system.runtime import Runtime

    db = tmp_path / "damaged.db"
    schema.migrate(db)
    conn = open_connection(db, create=False)
    conn.execute("DROP TABLE memories")
    conn.close()
    runtime = Runtime(Settings(db_path=db, dev=True, config_path=tmp_path / "none.json"))
    try:
        with TestClient(create_app(runtime)) as client:
            ready = client.get("/health/ready")
            assert ready.status_code == 503 and ready.json()["schema"] == "damaged"
            assert any("lacks table memories" in r for r in ready.json()["reasons"])
            deep = client.get("/health/deep")
            assert deep.status_code == 503 and "lacks table memories" in deep.json()["checks"]["database"]
    finally:
        runtime.close()
