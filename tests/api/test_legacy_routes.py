"""Legacy mode (migrations 004 and 005 rolled back) over HTTP: Phase 1 serves, every Phase 2-4
route answers 409 ``rolled_back`` with the command that restores the tables."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from memory_system.api.app import PHASE_2_ROUTERS, create_app
from memory_system.core.settings import Settings
from memory_system.ops import schema
from memory_system.runtime import Runtime


@pytest.fixture
def legacy(tmp_path: Path) -> Iterator[tuple[TestClient, Path]]:
    db = tmp_path / "legacy.db"
    schema.migrate(db, skip=schema.FEATURE_MIGRATIONS)
    runtime = Runtime(Settings(db_path=db, dev=True, config_path=tmp_path / "none.json"))
    with TestClient(create_app(runtime)) as client:
        yield client, db
    runtime.close()


def _phase_2_routes() -> list[tuple[str, str]]:
    found = []
    for module in PHASE_2_ROUTERS:
        for route in module.router.routes:
            assert isinstance(route, APIRoute)
            path = re.sub(r"\{[^}]+\}", "7", route.path)
            found += [(method, path) for method in sorted(route.methods or ())]
    return found


def test_every_phase_2_route_answers_409_rolled_back_with_the_restore_command(
    legacy: tuple[TestClient, Path],
) -> None:
    client, db = legacy
    routes = _phase_2_routes()
    assert ("POST", "/v1/memories") in routes and ("POST", "/v1/inject") in routes
    assert ("POST", "/v1/memories/search") in routes
    for method, path in routes:
        response = client.request(method, path, json={})
        assert response.status_code == 409, (method, path, response.text)
        body = response.json()
        assert body["error"] == "rolled_back", (method, path, body)
        assert body["detail"]["restore"] == f"memory-system db migrate --db {db}"
        assert "rolled back" in body["message"] and "migration 004 is not applied" in body["message"]
        assert body["request_id"]


def test_phase_1_reads_and_writes_work(legacy: tuple[TestClient, Path]) -> None:
    client, _ = legacy
    created = client.post(
        "/v1/entities",
        json={
            "entities": [{"name": "Ada", "entityType": "person", "observations": ["wrote the first program"]}]
        },
    )
    assert created.status_code == 201, created.text
    added = client.post(
        "/v1/observations", json={"observations": [{"entityName": "Ada", "contents": ["poet"]}]}
    )
    assert added.status_code == 201, added.text
    found = client.post("/v1/graph/search", json={"query": "first program"})
    assert found.status_code == 200 and [e["name"] for e in found.json()["entities"]] == ["Ada"]
    assert client.get("/v1/entities/Ada").json()["entity"]["observations"] == [
        "wrote the first program",
        "poet",
    ]
    session = client.post("/v1/sessions")
    assert session.status_code == 201, session.text
    assert client.post(f"/v1/sessions/{session.json()['session_id']}/end").status_code == 200


def test_readiness_is_ready_and_says_legacy(legacy: tuple[TestClient, Path]) -> None:
    client, db = legacy
    ready = client.get("/health/ready")
    assert ready.status_code == 200, ready.text
    body: dict[str, Any] = ready.json()
    assert body["schema"] == "legacy" and body["mode"] == schema.LEGACY_MODE
    assert body["schema_version"] == schema.expected_version() and body["commit"]  # 006+ stay
    assert f"memory-system db migrate --db {db}" in body["schema_note"]
    deep = client.get("/health/deep")
    assert deep.status_code == 200, deep.text
    checks = deep.json()["checks"]
    assert checks["database"] == "ok" and checks["rag"] == checks["cache"] == "not started"
