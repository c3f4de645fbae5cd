"""A 405 names in ``Allow`` every method of every route at that path, and integer ids match only
integers: ``PATCH /v1/memories/batch`` is 405 (``Allow: POST``), not a 422 for ``memory_id``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from memory_system.api.app import create_app
from memory_system.core.settings import Settings
from memory_system.ops import schema
from memory_system.runtime import Runtime

A = {"X-Agent-Id": "a", "X-Namespace": "p"}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    tmp = tmp_path_factory.mktemp("allow")
    schema.migrate(tmp / "allow.db")
    runtime = Runtime(Settings(db_path=tmp / "allow.db", dev=True, config_path=tmp / "none.json"))
    with TestClient(create_app(runtime), raise_server_exceptions=False) as client:
        yield client
    runtime.close()


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PATCH", "/v1/memories/batch", "POST"),
        ("GET", "/v1/memories/batch", "POST"),
        ("PUT", "/v1/memories", "GET, POST"),
        ("PUT", "/v1/memories/7", "DELETE, GET, PATCH"),
        ("PUT", "/v1/memories/7/shares", "DELETE, GET, POST"),
        ("GET", "/v1/memories/search", "POST"),
        ("PUT", "/v1/entities", "DELETE, GET, POST"),
        ("PUT", "/v1/entities/ada", "DELETE, GET"),  # two routes of one path template
        ("PATCH", "/v1/preferences/tone", "DELETE, GET, PUT"),
        ("POST", "/v1/code-patterns/search", "GET"),
        ("DELETE", "/admin/feature-flags", "GET, POST"),
    ],
)
def test_allow_lists_every_method_of_the_path(client: TestClient, method: str, path: str, allow: str) -> None:
    response = client.request(method, path, headers=A, json={} if method != "GET" else None)
    assert response.status_code == 405, response.text
    assert response.headers["allow"] == allow
    assert response.json()["error"] == "method_not_allowed"


def test_the_batch_path_is_not_a_memory_id(client: TestClient) -> None:
    """Before ids matched only digits, ``{memory_id}`` captured ``batch`` and the PATCH was a 422."""
    response = client.patch("/v1/memories/batch", headers=A, json={"items": [{"content": "x"}]})
    assert (response.status_code, response.headers["allow"]) == (405, "POST")
    assert client.post("/v1/memories/batch", headers=A, json={"items": [{"content": "x"}]}).status_code == 201
    assert client.get("/v1/memories/not-a-number", headers=A).status_code == 404
