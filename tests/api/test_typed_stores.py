"""``/v1/preferences`` and ``/v1/code-patterns`` over real HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

A = {"X-Agent-Id": "agent-a", "X-Namespace": "proj"}
OTHER_NS = {"X-Agent-Id": "agent-a", "X-Namespace": "elsewhere"}


@pytest.fixture
def client(live_server: Callable[..., str]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server(), timeout=30) as http:
        yield http


def test_preferences_roundtrip(client: httpx.Client) -> None:
    put = client.put(
        "/v1/preferences/indent", headers=A, params={"user_id": "u1"}, json={"value": {"tabs": True}}
    )
    assert put.status_code == 201 and put.json()["value"] == {"tabs": True}
    again = client.put(
        "/v1/preferences/indent", headers=A, params={"user_id": "u1"}, json={"value": "spaces"}
    )
    assert again.status_code == 200
    client.put("/v1/preferences/lang", headers=A, params={"user_id": "u1"}, json={"value": None})
    listed = client.get("/v1/preferences", headers=A, params={"user_id": "u1"}).json()
    assert [(p["key"], p["value"]) for p in listed["preferences"]] == [("indent", "spaces"), ("lang", None)]
    assert client.get("/v1/preferences/indent", headers=OTHER_NS, params={"user_id": "u1"}).status_code == 404
    assert client.delete("/v1/preferences/indent", headers=A, params={"user_id": "u1"}).status_code == 200
    assert client.get("/v1/preferences/indent", headers=A, params={"user_id": "u1"}).status_code == 404


def test_preferences_bad_input(client: httpx.Client) -> None:
    client.put("/v1/preferences/theme", headers=A, params={"user_id": "u1"}, json={"value": "dark"})
    no_user = client.put("/v1/preferences/theme", headers=A, json={"value": "light"})
    assert no_user.status_code == 422 and no_user.json()["detail"][0]["field"] == "user_id"
    no_value = client.put("/v1/preferences/theme", headers=A, params={"user_id": "u1"}, json={"val": "light"})
    assert no_value.status_code == 422
    bad_key = client.put("/v1/preferences/bad%20key", headers=A, params={"user_id": "u1"}, json={"value": 1})
    assert bad_key.status_code == 422 and bad_key.json()["field"] == "key"
    assert client.get("/v1/preferences/theme", headers=A, params={"user_id": "u1"}).json()["value"] == "dark"


def test_code_patterns_roundtrip_and_search(client: httpx.Client) -> None:
    made = client.post(
        "/v1/code-patterns",
        headers=A,
        json={
            "language": "python",
            "name": "context manager for temp dirs",
            "description": "Clean up temporary directories",
            "example": "with tempfile.TemporaryDirectory() as d: ...",
        },
    )
    assert made.status_code == 201, made.text
    client.post(
        "/v1/code-patterns",
        headers=A,
        json={"language": "rust", "name": "error enum", "description": "thiserror derive for library errors"},
    )
    hits = client.get(
        "/v1/code-patterns/search", headers=A, params={"q": "temporary directory cleanup"}
    ).json()
    assert [p["name"] for p in hits["code_patterns"]] == ["context manager for temp dirs"]
    assert "score" in hits["code_patterns"][0]
    assert (
        client.get("/v1/code-patterns/search", headers=OTHER_NS, params={"q": "temporary"}).json()[
            "code_patterns"
        ]
        == []
    )
    updated = client.post(
        "/v1/code-patterns",
        headers=A,
        json={"language": "python", "name": "context manager for temp dirs", "description": "Prefer pathlib"},
    )
    assert updated.status_code == 200 and updated.json()["id"] == made.json()["id"]
    page = client.get("/v1/code-patterns", headers=A, params={"limit": 1}).json()
    assert len(page["code_patterns"]) == 1 and page["next_cursor"] is not None
    rest = client.get(
        "/v1/code-patterns", headers=A, params={"limit": 1, "cursor": page["next_cursor"]}
    ).json()
    assert rest["next_cursor"] is None and rest["code_patterns"][0]["id"] != page["code_patterns"][0]["id"]
    pattern_id = made.json()["id"]
    assert client.get(f"/v1/code-patterns/{pattern_id}", headers=A).json()["description"] == "Prefer pathlib"
    assert client.delete(f"/v1/code-patterns/{pattern_id}", headers=A).status_code == 200
    assert client.get(f"/v1/code-patterns/{pattern_id}", headers=A).status_code == 404


def test_code_patterns_bad_input(client: httpx.Client) -> None:
    no_lang = client.post("/v1/code-patterns", headers=A, json={"name": "x"})
    assert no_lang.status_code == 422 and no_lang.json()["detail"][0]["field"] == "language"
    bad_lang = client.post("/v1/code-patterns", headers=A, json={"language": "two words", "name": "x"})
    assert bad_lang.status_code == 422 and bad_lang.json()["field"] == "language"
    assert client.get("/v1/code-patterns/search", headers=A).status_code == 422
    assert client.get("/v1/code-patterns", headers=A).json()["code_patterns"] == []
