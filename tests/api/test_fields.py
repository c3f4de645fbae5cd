"""Request fields as the schema says: no coercion (``true`` and ``"0.5"`` are not numbers), no
empty times, and integers an SQLite row can hold, each refused with a 422 naming the field."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from memory_system.api.app import create_app
from memory_system.core.settings import Settings
from memory_system.core.validation import INT64_MAX
from memory_system.ops import schema
from memory_system.runtime import Runtime

A = {"X-Agent-Id": "a", "X-Namespace": "p"}
TOO_BIG = INT64_MAX + 1


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    tmp = tmp_path_factory.mktemp("fields")
    schema.migrate(tmp / "fields.db")
    runtime = Runtime(Settings(db_path=tmp / "fields.db", dev=True, config_path=tmp / "none.json"))
    with TestClient(create_app(runtime), raise_server_exceptions=False) as client:
        yield client
    runtime.close()


@pytest.fixture(scope="module")
def memory_id(client: TestClient) -> int:
    created = client.post(
        "/v1/memories", headers=A, json={"content": "importance is a number", "importance": 0.3}
    )
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


@pytest.mark.parametrize("value", [True, False, "0.5", "1", None, [0.5]])
def test_importance_must_be_a_number_on_create(client: TestClient, value: object) -> None:
    refused = client.post("/v1/memories", headers=A, json={"content": f"imp {value!r}", "importance": value})
    assert refused.status_code == 422, refused.text
    assert refused.json()["field"] == "importance"


@pytest.mark.parametrize("value", [True, "0.5", None])
def test_importance_must_be_a_number_on_update(client: TestClient, memory_id: int, value: object) -> None:
    refused = client.patch(f"/v1/memories/{memory_id}", headers=A, json={"importance": value})
    assert refused.status_code == 422, refused.text
    assert refused.json()["field"] == "importance"
    assert client.get(f"/v1/memories/{memory_id}", headers=A).json()["importance"] == 0.3


def test_whole_numbers_are_numbers_and_stored_as_given(client: TestClient, memory_id: int) -> None:
    created = client.post("/v1/memories", headers=A, json={"content": "importance one", "importance": 1})
    assert created.status_code == 201 and created.json()["importance"] == 1.0
    assert (
        client.post("/v1/memories/search", headers=A, json={"query": "importance", "k": 3.0}).status_code
        == 200
    )
    for k in (3.5, "3", True):
        refused = client.post("/v1/memories/search", headers=A, json={"query": "importance", "k": k})
        assert refused.status_code == 422 and refused.json()["field"] == "k", (k, refused.text)


@pytest.mark.parametrize("field", ["occurred_at", "expires_at"])
def test_an_empty_time_is_refused_not_read_as_now(client: TestClient, memory_id: int, field: str) -> None:
    created = client.post("/v1/memories", headers=A, json={"content": f"empty {field}", field: ""})
    assert created.status_code == 422 and created.json()["field"] == field, created.text
    patched = client.patch(f"/v1/memories/{memory_id}", headers=A, json={field: ""})
    assert patched.status_code == 422 and patched.json()["field"] == field, patched.text


def test_null_clears_only_what_null_can_mean(client: TestClient, memory_id: int) -> None:
    assert client.patch(f"/v1/memories/{memory_id}", headers=A, json={"expires_at": None}).status_code == 200
    for field in ("content", "kind", "tier", "occurred_at", "visibility"):
        refused = client.patch(f"/v1/memories/{memory_id}", headers=A, json={field: None})
        assert refused.status_code == 422 and refused.json()["field"] == field, refused.text


@pytest.mark.parametrize(
    ("method", "url", "field"),
    [
        ("GET", f"/v1/memories/{TOO_BIG}", "memory_id"),
        ("DELETE", f"/v1/memories/{TOO_BIG}", "memory_id"),
        ("GET", f"/v1/memories/{TOO_BIG}/shares", "memory_id"),
        ("GET", f"/v1/code-patterns/{TOO_BIG}", "pattern_id"),
        ("DELETE", f"/v1/code-patterns/{TOO_BIG}", "pattern_id"),
        ("GET", f"/v1/shares/events?before_id={TOO_BIG}", "before_id"),
        ("GET", f"/v1/shares/events?memory_id={TOO_BIG}", "memory_id"),
        ("GET", f"/v1/code-patterns?cursor={TOO_BIG}", "cursor"),
        ("GET", f"/v1/entities?offset={TOO_BIG}", "offset"),
        ("GET", f"/v1/memories?cursor={TOO_BIG}", "cursor"),
        ("GET", "/v1/memories?cursor=99999999999999999999", "cursor"),
    ],
)
def test_integers_past_int64_are_422_naming_the_parameter(
    client: TestClient, method: str, url: str, field: str
) -> None:
    refused = client.request(method, url, headers=A)
    assert refused.status_code == 422, refused.text
    assert refused.json()["field"] == field


def test_the_largest_id_is_valid_and_simply_not_found(client: TestClient) -> None:
    assert client.get(f"/v1/memories/{INT64_MAX}", headers=A).status_code == 404
    assert client.patch(f"/v1/memories/{TOO_BIG}", headers=A, json={"importance": 0.5}).status_code == 422


def test_a_state_version_past_int64_is_422_naming_it(client: TestClient) -> None:
    session = client.post("/v1/sessions", headers=A).json()["session_id"]
    refused = client.put(f"/v1/sessions/{session}/state", headers=A, json={"state": {}, "version": TOO_BIG})
    assert refused.status_code == 422 and refused.json()["field"] == "version", refused.text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"content": "x", "tier": "middle"}, "tier"),
        ({"content": "x", "visibility": "public"}, "visibility"),
        ({"content": "x", "kind": "Not A Kind"}, "kind"),
        ({"content": " \t\u3000"}, "content"),
        ({"content": "x", "session_id": "  "}, "session_id"),
    ],
)
def test_enums_patterns_and_blanks_are_refused_by_the_schema(
    client: TestClient, body: dict[str, object], field: str
) -> None:
    refused = client.post("/v1/memories", headers=A, json=body)
    assert refused.status_code == 422 and refused.json()["field"] == field, refused.text
    assert isinstance(refused.json()["detail"], list)  # the request schema answered, not the service
