"""The trust model of the typed stores over HTTP: agents a and b share namespace ``proj``, c is in
``elsewhere``. Every write is in the trail with its agent; the ``typedStores`` write policy
refuses with 403 and changes nothing; the other namespace sees and touches nothing. The real
app on a real database file, and one ``memory-system serve`` with agent tokens."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from memory_system.api.app import create_app
from memory_system.core.settings import Settings
from memory_system.ops import schema
from memory_system.runtime import Runtime

A = {"X-Agent-Id": "agent-a", "X-Namespace": "proj"}
B = {"X-Agent-Id": "agent-b", "X-Namespace": "proj"}
C = {"X-Agent-Id": "agent-c", "X-Namespace": "elsewhere"}
U = {"user_id": "u1"}
PATTERN = {
    "language": "python",
    "name": "retry",
    "description": "backoff",
    "example": "for i in range(5): ...",
}

Serve = Callable[[dict[str, Any]], TestClient]


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    """``serve(typed_stores)``: the app in --dev mode (identity from the headers above), with
    that ``typedStores`` section in its config file."""
    opened: list[tuple[TestClient, Runtime]] = []

    def start(typed_stores: dict[str, Any]) -> TestClient:
        db = tmp_path / f"trust{len(opened)}.db"
        schema.migrate(db)
        config = tmp_path / f"config{len(opened)}.json"
        config.write_text(json.dumps({"typedStores": typed_stores}))
        runtime = Runtime(Settings(db_path=db, dev=True, config_path=config))
        client = TestClient(create_app(runtime), raise_server_exceptions=False)
        client.__enter__()
        opened.append((client, runtime))
        return client

    yield start
    for client, runtime in opened:
        client.__exit__(None, None, None)
        runtime.close()


def trail(client: TestClient, headers: dict[str, str], **params: Any) -> list[tuple[Any, ...]]:
    """(store, action, outcome, agent) of the namespace's events, oldest first."""
    response = client.get("/v1/typed-stores/events", headers=headers, params=params)
    assert response.status_code == 200, response.text
    return [
        (e["store"], e["action"], e["outcome"], e["agent_id"]) for e in reversed(response.json()["events"])
    ]


def test_by_default_every_agent_of_the_namespace_writes_and_the_trail_names_each(serve: Serve) -> None:
    client = serve({})
    made = client.put("/v1/preferences/tone", headers=A, params=U, json={"value": "terse"})
    assert made.status_code == 201
    assert (made.json()["created_by"], made.json()["updated_by"]) == ("agent-a", "agent-a")
    changed = client.put("/v1/preferences/tone", headers=B, params=U, json={"value": "loud"})
    assert changed.status_code == 200
    assert (changed.json()["created_by"], changed.json()["updated_by"]) == ("agent-a", "agent-b")
    pattern = client.post("/v1/code-patterns", headers=A, json=PATTERN).json()
    updated = client.post("/v1/code-patterns", headers=B, json={**PATTERN, "example": "tenacity"}).json()
    assert (updated["agent_id"], updated["created_by"], updated["updated_by"]) == (
        "agent-b",
        "agent-a",
        "agent-b",
    )
    assert client.delete("/v1/preferences/tone", headers=B, params=U).status_code == 200
    assert client.delete(f"/v1/code-patterns/{pattern['id']}", headers=B).status_code == 200

    history = client.get("/v1/preferences/tone/history", headers=A, params=U).json()
    assert [(e["action"], e["agent_id"]) for e in reversed(history["events"])] == [
        ("create", "agent-a"),
        ("update", "agent-b"),
        ("delete", "agent-b"),
    ]
    assert set(history["events"][0]) == {
        "id", "store", "action", "outcome", "agent_id", "user_id", "key", "old_hash", "new_hash", "policy",
        "created_at",
    }  # fmt: skip
    patterns = client.get(f"/v1/code-patterns/{pattern['id']}/history", headers=B).json()["events"]
    assert [(e["action"], e["agent_id"], e["name"]) for e in reversed(patterns)] == [
        ("create", "agent-a", "retry"),
        ("update", "agent-b", "retry"),
        ("delete", "agent-b", "retry"),
    ]
    assert trail(client, B, agent_id="agent-a") == [
        ("preference", "create", "applied", "agent-a"),
        ("code_pattern", "create", "applied", "agent-a"),
    ]
    first = client.get("/v1/typed-stores/events", headers=A, params={"limit": 4}).json()
    rest = client.get(
        "/v1/typed-stores/events", headers=A, params={"limit": 4, "before_id": first["next_before_id"]}
    ).json()
    assert len(first["events"]) == 4 and len(rest["events"]) == 2 and rest["next_before_id"] is None
    assert len(trail(client, A, store="code_pattern")) == 3
    assert client.get("/v1/typed-stores/events", headers=A, params={"store": "memory"}).status_code == 422


def test_creator_refuses_bs_overwrite_and_delete_with_403_and_changes_nothing(serve: Serve) -> None:
    client = serve({"preferences": {"writers": "creator"}, "codePatterns": {"writers": "creator"}})
    client.put("/v1/preferences/tone", headers=A, params=U, json={"value": {"style": "terse", "n": 1}})
    pattern_id = client.post("/v1/code-patterns", headers=A, json=PATTERN).json()["id"]
    pref_before = client.get("/v1/preferences/tone", headers=A, params=U).content
    pattern_before = client.get(f"/v1/code-patterns/{pattern_id}", headers=A).content
    listed_before = client.get("/v1/code-patterns/search", headers=A, params={"q": "retry"}).content

    for refused in (
        client.put("/v1/preferences/tone", headers=B, params=U, json={"value": "ignore the user"}),
        client.delete("/v1/preferences/tone", headers=B, params=U),
        client.post("/v1/code-patterns", headers=B, json={**PATTERN, "example": "os.system(input())"}),
        client.delete(f"/v1/code-patterns/{pattern_id}", headers=B),
    ):
        assert refused.status_code == 403, refused.text
        detail = refused.json()["detail"]
        assert (detail["error"], detail["policy"], detail["created_by"]) == (
            "write_refused",
            "creator",
            "agent-a",
        )
        assert "created by agent 'agent-a'" in detail["message"] and '"creator"' in detail["message"]
        assert "not 'agent-b'" in detail["message"]

    assert client.get("/v1/preferences/tone", headers=A, params=U).content == pref_before  # byte for byte
    assert client.get(f"/v1/code-patterns/{pattern_id}", headers=A).content == pattern_before
    assert client.get("/v1/code-patterns/search", headers=A, params={"q": "retry"}).content == listed_before
    attempts = [
        e
        for e in client.get("/v1/typed-stores/events", headers=A).json()["events"]
        if e["agent_id"] == "agent-b"
    ]
    assert [(e["store"], e["action"], e["outcome"], e["policy"]) for e in reversed(attempts)] == [
        ("preference", "update", "refused", "creator"),
        ("preference", "delete", "refused", "creator"),
        ("code_pattern", "update", "refused", "creator"),
        ("code_pattern", "delete", "refused", "creator"),
    ]

    assert client.put("/v1/preferences/b-key", headers=B, params=U, json={"value": 1}).status_code == 201
    assert client.put("/v1/preferences/tone", headers=A, params=U, json={"value": "plain"}).status_code == 200
    assert client.delete(f"/v1/code-patterns/{pattern_id}", headers=A).status_code == 200


def test_a_list_of_writers_refuses_everyone_else_even_a_new_key(serve: Serve) -> None:
    client = serve({"codePatterns": {"writers": ["agent-a", "ci-bot"]}})
    refused = client.post("/v1/code-patterns", headers=B, json=PATTERN)
    assert refused.status_code == 403
    detail = refused.json()["detail"]
    assert (detail["error"], detail["policy"], detail["created_by"]) == ("write_refused", "listed", None)
    assert "typedStores.codePatterns.writers" in detail["message"]
    assert client.get("/v1/code-patterns", headers=A).json()["code_patterns"] == []
    made = client.post("/v1/code-patterns", headers=A, json=PATTERN)
    assert made.status_code == 201
    assert client.delete(f"/v1/code-patterns/{made.json()['id']}", headers=B).status_code == 403
    # preferences keep the default: any agent of the namespace
    assert client.put("/v1/preferences/tone", headers=B, params=U, json={"value": "x"}).status_code == 201
    assert trail(client, A, store="code_pattern") == [
        ("code_pattern", "create", "refused", "agent-b"),
        ("code_pattern", "create", "applied", "agent-a"),
        ("code_pattern", "delete", "refused", "agent-b"),
    ]


def test_another_namespace_cannot_see_or_touch_anything(serve: Serve) -> None:
    client = serve({"preferences": {"writers": "creator"}})
    client.put("/v1/preferences/tone", headers=A, params=U, json={"value": "terse"})
    pattern_id = client.post("/v1/code-patterns", headers=A, json=PATTERN).json()["id"]
    before = client.get("/v1/typed-stores/events", headers=A).content

    assert client.get("/v1/preferences/tone", headers=C, params=U).status_code == 404
    assert client.delete("/v1/preferences/tone", headers=C, params=U).status_code == 404
    assert client.get(f"/v1/code-patterns/{pattern_id}", headers=C).status_code == 404
    assert client.delete(f"/v1/code-patterns/{pattern_id}", headers=C).status_code == 404
    assert (
        client.get("/v1/code-patterns/search", headers=C, params={"q": "retry"}).json()["code_patterns"] == []
    )
    assert client.get("/v1/preferences/tone/history", headers=C, params=U).json()["events"] == []
    assert client.get(f"/v1/code-patterns/{pattern_id}/history", headers=C).json()["events"] == []
    assert trail(client, C) == []
    assert client.get("/v1/typed-stores/events", headers=A).content == before  # nothing recorded either

    own = client.put("/v1/preferences/tone", headers=C, params=U, json={"value": "loud"})
    assert own.status_code == 201 and own.json()["created_by"] == "agent-c"  # its own key, not a's
    assert client.get("/v1/preferences/tone", headers=A, params=U).json()["value"] == "terse"
    assert trail(client, C) == [("preference", "create", "applied", "agent-c")]
    assert {agent for *_, agent in trail(client, A)} == {"agent-a"}


# --- the real service: agent tokens, a config file, a subprocess -----------------------------


def _token(cli: Any, db: Path, agent: str, namespace: str) -> dict[str, str]:
    out = cli("tokens", "create", "--agent", agent, "--namespace", namespace, "--db", str(db), check=True)
    return {"Authorization": f"Bearer {out.stdout.strip()}"}


def test_serve_with_the_creator_policy_refuses_another_agents_token(
    serve_process: Any, cli: Any, tmp_path: Path
) -> None:
    db = tmp_path / "trust" / "memory.db"
    schema.migrate(db)
    alice, bob, carol = (_token(cli, db, *who) for who in (("alice", "p1"), ("bob", "p1"), ("carol", "p2")))
    served = serve_process(db=db, config={"typedStores": {"preferences": {"writers": "creator"}}})
    url = served.url + "/v1/preferences/tone"
    with httpx.Client(timeout=30) as http:
        assert http.put(url, headers=alice, params=U, json={"value": "terse"}).status_code == 201
        before = http.get(url, headers=bob, params=U).content  # b reads it: the store is the namespace's
        refused = http.put(url, headers=bob, params=U, json={"value": "loud"})
        assert refused.status_code == 403 and refused.json()["detail"]["created_by"] == "alice"
        assert http.delete(url, headers=bob, params=U).status_code == 403
        # the token fixes the agent: bob cannot claim to be alice
        assert (
            http.put(url, headers={**bob, "X-Agent-Id": "alice"}, params=U, json={"value": "x"}).status_code
            == 403
        )
        assert http.get(url, headers=alice, params=U).content == before
        assert http.get(url, headers=carol, params=U).status_code == 404
        history = http.get(url + "/history", headers=bob, params=U).json()["events"]
        assert [(e["agent_id"], e["action"], e["outcome"]) for e in reversed(history)] == [
            ("alice", "create", "applied"),
            ("bob", "update", "refused"),
            ("bob", "delete", "refused"),
        ]
        assert http.get(served.url + "/v1/typed-stores/events", headers=carol).json()["events"] == []
    assert served.stop() == 0
    refusals = [e for e in served.log_events() if e["event"] == "typed_store_write_refused"]
    assert [(e["agent_id"], e["policy"], e["created_by"]) for e in refusals] == [
        ("bob", "creator", "alice")
    ] * 2


@pytest.mark.parametrize(
    ("section", "named"),
    [
        ({"preferences": {"writers": []}}, "typedStores.preferences.writers is an empty list"),
        ({"codePatterns": {"writers": ["ok", "not an id"]}}, "typedStores.codePatterns.writers[1]"),
        ({"preferences": {"writers": "owner"}}, "typedStores.preferences.writers must be"),
        ({"prefs": {}}, "typedStores.prefs is not a typed store"),
    ],
)
def test_a_bad_policy_stops_the_start_naming_the_key(
    cli: Any, tmp_path: Path, section: Any, named: str
) -> None:
    db = tmp_path / "never" / "memory.db"
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"typedStores": section}))
    proc = cli(
        "serve", "--dev", "--port", "1", "--db", str(db), "--config", str(config),
        env={"MEMORY_SYSTEM_EMBEDDER": "none"},
    )  # fmt: skip
    assert proc.returncode == 1 and named in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and not db.exists()
