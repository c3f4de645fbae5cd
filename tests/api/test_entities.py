"""Phase 1 over real HTTP: the reference server's semantics, per caller namespace, bad input refused."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

Rows = Callable[[Path], object]


@pytest.fixture
def server(live_server: Callable[..., str], tmp_path: Path) -> tuple[httpx.Client, Path]:
    url = live_server()
    client = httpx.Client(base_url=url, timeout=10, headers={"X-Agent-Id": "a1", "X-Namespace": "proj"})
    return client, tmp_path / "server0.db"


def seed(client: httpx.Client, **headers: str) -> None:
    r = client.post(
        "/v1/entities",
        headers=headers,
        json={
            "entities": [
                {"name": "Ada", "entityType": "person", "observations": ["wrote the first program"]},
                {
                    "name": "Babbage",
                    "entityType": "person",
                    "observations": ["designed the Analytical Engine"],
                },
                {"name": "src/engine.py", "entityType": "file", "observations": []},
            ]
        },
    )
    assert r.status_code == 201, r.text
    r = client.post(
        "/v1/relations",
        headers=headers,
        json={
            "relations": [
                {"from": "Ada", "to": "Babbage", "relationType": "worked_with"},
                {"from": "Babbage", "to": "src/engine.py", "relationType": "wrote"},
            ]
        },
    )
    assert r.status_code == 201, r.text


def names(graph: dict[str, Any]) -> list[str]:
    return [e["name"] for e in graph["entities"]]


def test_create_read_search_open_delete_over_http(server: tuple[httpx.Client, Path]) -> None:
    client, _ = server
    seed(client)
    again = client.post(
        "/v1/entities",
        json={
            "entities": [
                {"name": "Ada", "entityType": "robot", "observations": []},
                {"name": "Paris", "entityType": "city", "observations": []},
            ]
        },
    )
    assert again.json() == {"entities": [{"name": "Paris", "entityType": "city", "observations": []}]}
    dup = client.post(
        "/v1/relations", json={"relations": [{"from": "Ada", "to": "Babbage", "relationType": "worked_with"}]}
    )
    assert dup.status_code == 201 and dup.json() == {"relations": []}

    added = client.post(
        "/v1/observations",
        json={
            "observations": [{"entityName": "Ada", "contents": ["wrote the first program", "was a countess"]}]
        },
    )
    assert added.status_code == 201
    assert added.json() == {"results": [{"entityName": "Ada", "addedObservations": ["was a countess"]}]}

    graph = client.get("/v1/graph").json()
    assert names(graph) == ["Ada", "Babbage", "src/engine.py", "Paris"] and len(graph["relations"]) == 2

    found = client.post("/v1/graph/search", json={"query": "ANALYTICAL"}).json()
    assert names(found) == ["Babbage"]
    assert found["relations"] == [
        {"from": "Ada", "to": "Babbage", "relationType": "worked_with"},
        {"from": "Babbage", "to": "src/engine.py", "relationType": "wrote"},
    ]
    opened = client.post("/v1/graph/open", json={"names": ["Ada", "Nobody"]}).json()
    assert names(opened) == ["Ada"] and len(opened["relations"]) == 1

    listed = client.get("/v1/entities", params={"q": "person", "limit": 1}).json()
    assert names(listed) == ["Ada"] and listed["next_offset"] == 1
    assert client.get("/v1/entities", params={"offset": 3}).json() == {
        "entities": [{"name": "Paris", "entityType": "city", "observations": []}],
        "next_offset": None,
    }
    assert len(client.get("/v1/entities", params={"limit": 1000}).json()["entities"]) == 4

    one = client.get("/v1/entities/src/engine.py")  # names may hold slashes
    assert one.status_code == 200
    assert one.json()["entity"]["entityType"] == "file" and len(one.json()["relations"]) == 1

    removed = client.request(
        "DELETE",
        "/v1/observations",
        json={
            "deletions": [
                {"entityName": "Ada", "observations": ["was a countess", "never said"]},
                {"entityName": "Ghost", "observations": ["boo"]},
            ]
        },
    )
    assert removed.json() == {"deleted": 1}
    gone = client.request(
        "DELETE",
        "/v1/relations",
        json={
            "relations": [
                {"from": "Ada", "to": "Babbage", "relationType": "worked_with"},
                {"from": "Ada", "to": "Babbage", "relationType": "never"},
            ]
        },
    )
    assert gone.json() == {"deleted": 1}

    assert client.delete("/v1/entities/Babbage").json() == {"deleted": 1}  # takes its relation along
    assert client.get("/v1/graph").json()["relations"] == []
    assert client.request("DELETE", "/v1/entities", json={"entityNames": ["Ada", "Nobody"]}).json() == {
        "deleted": 1
    }
    assert names(client.get("/v1/graph").json()) == ["src/engine.py", "Paris"]


def test_namespaces_are_isolated_by_the_callers_identity(server: tuple[httpx.Client, Path]) -> None:
    client, _ = server
    seed(client)
    other = {"X-Namespace": "other"}
    assert client.get("/v1/graph", headers=other).json() == {"entities": [], "relations": []}
    assert client.post("/v1/graph/search", headers=other, json={"query": ""}).json()["entities"] == []
    assert client.get("/v1/entities/Ada", headers=other).status_code == 404
    assert client.delete("/v1/entities/Ada", headers=other).status_code == 404
    refused = client.post(
        "/v1/observations", headers=other, json={"observations": [{"entityName": "Ada", "contents": ["x"]}]}
    )
    assert refused.status_code == 422 and refused.json()["detail"]["field"] == "observations[0].entityName"
    seed(client, **other)  # same names, other project: no clash
    assert client.request("DELETE", "/v1/entities", headers=other, json={"entityNames": ["Ada"]}).json() == {
        "deleted": 1
    }
    assert names(client.get("/v1/graph").json()) == ["Ada", "Babbage", "src/engine.py"]
    body_ns = client.post(
        "/v1/entities",
        json={"namespace": "other", "entities": [{"name": "X", "entityType": "t", "observations": []}]},
    )
    assert body_ns.status_code in (403, 422)
    assert "namespace" in body_ns.text
    assert "X" not in names(client.get("/v1/graph", headers=other).json())


def _field_of(response: httpx.Response) -> str:
    detail = response.json()["detail"]
    if isinstance(detail, dict):
        return str(detail["field"])
    return ".".join(str(part) for part in detail[0]["loc"][1:])


BAD_REQUESTS: list[tuple[str, str, object, str]] = [
    (
        "POST",
        "/v1/entities",
        {"entities": [{"name": "", "entityType": "t", "observations": []}]},
        "entities.0.name",
    ),
    (
        "POST",
        "/v1/entities",
        {"entities": [{"name": "  ", "entityType": "t", "observations": []}]},
        "entities.0.name",  # the schema's pattern: blank is refused before the service
    ),
    ("POST", "/v1/entities", {"entities": [{"name": "x", "entity_type": "t"}]}, "entities.0.entityType"),
    ("POST", "/v1/entities", {"entities": [{"name": "x" * 513, "entityType": "t"}]}, "entities.0.name"),
    ("POST", "/v1/entities", {"entities": []}, "entities"),
    (
        "POST",
        "/v1/entities",
        {"entities": [{"name": f"n{i}", "entityType": "t"} for i in range(1001)]},
        "entities",
    ),
    (
        "POST",
        "/v1/relations",
        {"relations": [{"from": "Ada", "to": "Nobody", "relationType": "knows"}]},
        "relations[0].to",
    ),
    ("POST", "/v1/relations", {"relations": [{"from": "Ada", "to": "Babbage"}]}, "relations.0.relationType"),
    (
        "POST",
        "/v1/observations",
        {"observations": [{"entityName": "Ghost", "contents": ["x"]}]},
        "observations[0].entityName",
    ),
    (
        "POST",
        "/v1/observations",
        {"observations": [{"entityName": "Ada", "contents": [""]}]},
        "observations.0.contents.0",
    ),
    ("DELETE", "/v1/entities", {"entityNames": "Ada"}, "entityNames"),
    (
        "DELETE",
        "/v1/relations",
        {"relations": [{"from": "Ada", "to": "", "relationType": "x"}]},
        "relations.0.to",
    ),
    ("DELETE", "/v1/observations", {"deletions": [{"entityName": "Ada"}]}, "deletions.0.observations"),
    ("POST", "/v1/graph/search", {"query": "q" * 2000}, "query"),
    ("POST", "/v1/graph/search", {}, "query"),
    ("POST", "/v1/graph/open", {"names": [""]}, "names.0"),
    ("GET", "/v1/entities?limit=0", None, "limit"),
    ("GET", "/v1/entities?limit=1001", None, "limit"),
    (
        "POST",
        "/v1/observations",
        {"observations": [{"entityName": "Ada", "contents": ["\ud800"]}]},
        "observations.0.contents.0",
    ),
]


def test_bad_input_is_a_4xx_naming_the_field_and_changes_nothing(
    server: tuple[httpx.Client, Path], graph_rows: Rows
) -> None:
    client, db = server
    seed(client)
    before = graph_rows(db)
    for method, path, body, field in BAD_REQUESTS:  # one server for all: each start costs a second
        # json.dumps escapes to ASCII, so a lone surrogate travels as "\ud800" the way JSON allows
        response = client.request(
            method,
            path,
            content=None if body is None else json.dumps(body),
            headers={"Content-Type": "application/json"},
        )
        assert response.status_code == 422, (method, path, response.text)
        assert _field_of(response) == field, (method, path, response.text)
        assert graph_rows(db) == before, (method, path)


def test_a_body_that_is_not_json_is_refused(server: tuple[httpx.Client, Path], graph_rows: Rows) -> None:
    client, db = server
    seed(client)
    before = graph_rows(db)
    response = client.post("/v1/entities", content=b"{not json", headers={"Content-Type": "application/json"})
    assert 400 <= response.status_code < 500 and "Traceback" not in response.text
    assert graph_rows(db) == before


def test_with_agent_tokens_the_namespace_is_the_tokens(
    live_server: Callable[..., str], tmp_path: Path
) -> None:
    from memory_system.auth.agent_tokens import TokenService
    from memory_system.store.connection import Database

    url = live_server(dev=False)
    db = Database(tmp_path / "server0.db")
    alice = TokenService(db).create("alice", "proj-a").token
    bob = TokenService(db).create("bob", "proj-b").token
    db.close()
    as_alice = httpx.Client(base_url=url, timeout=10, headers={"Authorization": f"Bearer {alice}"})
    as_bob = httpx.Client(base_url=url, timeout=10, headers={"Authorization": f"Bearer {bob}"})
    seed(as_alice)
    assert names(as_alice.get("/v1/graph").json()) == ["Ada", "Babbage", "src/engine.py"]
    assert as_bob.get("/v1/graph").json() == {"entities": [], "relations": []}
    assert as_bob.get("/v1/graph", headers={"X-Namespace": "proj-a"}).status_code == 403
    assert httpx.get(url + "/v1/graph", timeout=10).status_code == 401
