"""``/v1/memories`` over real HTTP against a live server and its real database file."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from memory_system.store.connection import open_connection

A = {"X-Agent-Id": "agent-a", "X-Namespace": "proj"}
B = {"X-Agent-Id": "agent-b", "X-Namespace": "proj"}


def sql_count(db: Path, sql: str, *args: Any) -> int:
    conn = open_connection(db, create=False)
    try:
        return int(conn.execute(sql, args).fetchone()[0])
    finally:
        conn.close()


@pytest.fixture
def server(live_server: Callable[..., str], tmp_path: Path) -> tuple[httpx.Client, Path]:
    url = live_server()
    with httpx.Client(base_url=url, timeout=30) as client:
        yield client, tmp_path / "server0.db"


def test_create_get_patch_delete(server: tuple[httpx.Client, Path]) -> None:
    client, _ = server
    created = client.post(
        "/v1/memories",
        headers=A,
        json={
            "content": "The user deploys with Helm",
            "kind": "fact",
            "importance": 0.7,
            "metadata": {"source": "chat", "turn": 3, "tags": ["ops", None]},
            "occurred_at": "2024-05-01T10:00:00+02:00",
        },
    )
    assert created.status_code == 201, created.text
    memory = created.json()
    assert memory["reinforced"] is False and memory["agent_id"] == "agent-a" and memory["namespace"] == "proj"
    assert memory["metadata"] == {"source": "chat", "turn": 3, "tags": ["ops", None]}
    assert memory["occurred_at"] == "2024-05-01T08:00:00.000Z" and memory["tier"] == "short_term"

    got = client.get(f"/v1/memories/{memory['id']}", headers=A)
    assert got.status_code == 200 and got.json()["content"] == "The user deploys with Helm"

    patched = client.patch(
        f"/v1/memories/{memory['id']}", headers=A, json={"importance": 0.2, "kind": "decision"}
    )
    assert patched.status_code == 200 and (patched.json()["importance"], patched.json()["kind"]) == (
        0.2,
        "decision",
    )

    bad = client.patch(f"/v1/memories/{memory['id']}", headers=A, json={"importance": 7})
    assert bad.status_code == 422 and bad.json()["field"] == "importance"
    assert client.get(f"/v1/memories/{memory['id']}", headers=A).json()["importance"] == 0.2

    assert client.delete(f"/v1/memories/{memory['id']}", headers=A).json() == {"deleted": memory["id"]}
    assert client.get(f"/v1/memories/{memory['id']}", headers=A).status_code == 404
    assert client.delete(f"/v1/memories/{memory['id']}", headers=A).status_code == 404


def test_session_header_makes_working_memories(server: tuple[httpx.Client, Path]) -> None:
    client, _ = server
    memory = client.post(
        "/v1/memories", headers={**A, "X-Session-Id": "sess-1"}, json={"content": "draft plan"}
    ).json()
    assert (memory["session_id"], memory["tier"]) == ("sess-1", "working")
    refused = client.post("/v1/memories", headers=A, json={"content": "x", "tier": "working"})
    assert refused.status_code == 422 and refused.json()["detail"]["field"] == "tier"


def test_near_identical_write_reinforces(server: tuple[httpx.Client, Path]) -> None:
    client, db = server
    first = client.post("/v1/memories", headers=A, json={"content": "Prefers dark mode."})
    again = client.post("/v1/memories", headers=A, json={"content": "prefers   DARK mode", "importance": 0.9})
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["reinforced"] is True and again.json()["id"] == first.json()["id"]
    assert again.json()["reinforcement_count"] == 1 and again.json()["importance"] == 0.9
    assert sql_count(db, "SELECT count(*) FROM memories") == 1


def test_batch_and_its_limits(server: tuple[httpx.Client, Path]) -> None:
    client, db = server
    items = [{"content": f"turn {i}", "metadata": {"turn": i}} for i in range(1000)]
    done = client.post("/v1/memories/batch", headers=A, json={"items": items})
    assert done.status_code == 201, done.text
    body = done.json()
    assert (body["created"], body["reinforced"], len(body["items"])) == (1000, 0, 1000)

    too_many = client.post(
        "/v1/memories/batch", headers=A, json={"items": [{"content": f"x{i}"} for i in range(1001)]}
    )
    assert too_many.status_code == 413 and "1000" in too_many.json()["detail"]["message"]

    bad_kind = [{"content": f"new {i}"} for i in range(5)]
    bad_kind[3]["kind"] = "Not valid"
    refused = client.post("/v1/memories/batch", headers=A, json={"items": bad_kind})
    assert refused.status_code == 422
    assert refused.json()["field"] == "items.3.kind"

    bad_type = [{"content": f"new {i}"} for i in range(5)]
    bad_type[2]["importance"] = "very"
    refused = client.post("/v1/memories/batch", headers=A, json={"items": bad_type})
    assert refused.status_code == 422 and refused.json()["detail"][0]["field"] == "items.2.importance"

    missing = client.post(
        "/v1/memories/batch", headers=A, json={"items": [{"content": "ok"}, {"kind": "fact"}]}
    )
    assert missing.status_code == 422 and missing.json()["detail"][0]["field"] == "items.1.content"
    assert sql_count(db, "SELECT count(*) FROM memories") == 1000


def test_list_paginates_and_filters(server: tuple[httpx.Client, Path]) -> None:
    client, _ = server
    client.post(
        "/v1/memories/batch",
        headers=A,
        json={
            "items": [
                {"content": f"m{i}", "kind": "fact" if i % 3 == 0 else "note", "user_id": "u1"}
                for i in range(12)
            ]
        },
    )
    client.post("/v1/memories", headers={**A, "X-Session-Id": "s9"}, json={"content": "in session"})
    ids: list[int] = []
    cursor = None
    for _ in range(20):
        params: dict[str, Any] = {"limit": 5, **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/memories", headers=A, params=params).json()
        ids.extend(m["id"] for m in page["memories"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(ids) == len(set(ids)) == 13 and ids == sorted(ids, reverse=True)
    facts = client.get("/v1/memories", headers=A, params={"kind": "fact"}).json()["memories"]
    assert sorted(m["content"] for m in facts) == ["m0", "m3", "m6", "m9"]
    working = client.get("/v1/memories", headers=A, params={"tier": "working"}).json()
    assert [m["content"] for m in working["memories"]] == ["in session"] and working[
        "tiers"
    ] == "hierarchical"
    assert (
        client.get("/v1/memories", headers=A, params={"session_id": "s9"}).json()["memories"][0]["tier"]
        == "working"
    )
    assert client.get("/v1/memories", headers=A, params={"limit": 501}).status_code == 422
    assert client.get("/v1/memories", headers=A, params={"created_after": "soon"}).status_code == 422
    assert client.get("/v1/memories", headers=A, params={"cursor": "zz"}).json()["field"] == "cursor"


def test_agent_b_never_sees_or_touches_a_private_memory(server: tuple[httpx.Client, Path]) -> None:
    client, db = server
    secret = client.post("/v1/memories", headers=A, json={"content": "A's private note"}).json()
    path = f"/v1/memories/{secret['id']}"
    assert client.get(path, headers=B).status_code == 404
    assert client.patch(path, headers=B, json={"content": "B was here"}).status_code == 404
    assert client.delete(path, headers=B).status_code == 404
    assert client.get("/v1/memories", headers=B).json()["memories"] == []
    other_ns = {"X-Agent-Id": "agent-a", "X-Namespace": "elsewhere"}
    assert client.get(path, headers=other_ns).status_code == 404
    assert client.get(path, headers=A).json()["content"] == "A's private note"
    assert sql_count(db, "SELECT count(*) FROM memories WHERE content = ?", "A's private note") == 1


def test_delete_means_gone_from_table_fts_and_vectors(server: tuple[httpx.Client, Path]) -> None:
    client, db = server
    memory = client.post("/v1/memories", headers=A, json={"content": "flamingo migration route"}).json()
    conn = open_connection(db)
    try:
        conn.execute(
            "INSERT OR REPLACE INTO memory_embeddings (memory_id, namespace, model, dim, vector)"
            " VALUES (?, 'proj', 'test', 1, x'00000000')",
            (memory["id"],),
        )
    finally:
        conn.close()
    assert sql_count(db, "SELECT count(*) FROM memories_fts WHERE memories_fts MATCH 'flamingo'") == 1
    assert client.delete(f"/v1/memories/{memory['id']}", headers=A).status_code == 200
    assert sql_count(db, "SELECT count(*) FROM memories WHERE id = ?", memory["id"]) == 0
    assert sql_count(db, "SELECT count(*) FROM memories_fts WHERE memories_fts MATCH 'flamingo'") == 0
    assert sql_count(db, "SELECT count(*) FROM memory_embeddings WHERE memory_id = ?", memory["id"]) == 0


def test_tiers_flag_off_reads_one_flat_tier(live_server: Callable[..., str], tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"featureFlags": {"USE_HIERARCHICAL_TIERS": False}}))
    url = live_server(config_path=config)
    with httpx.Client(base_url=url, timeout=30) as client:
        client.post("/v1/memories", headers={**A, "X-Session-Id": "s1"}, json={"content": "working one"})
        client.post("/v1/memories", headers=A, json={"content": "short one"})
        page = client.get("/v1/memories", headers=A, params={"tier": "working"}).json()
    assert page["tiers"] == "flat"
    assert sorted((m["content"], m["tier"]) for m in page["memories"]) == [
        ("short one", "short_term"),
        ("working one", "working"),
    ]


def test_delete_means_gone_from_the_vector_index_too(
    live_server: Callable[..., str], tmp_path: Path, minilm: Any
) -> None:
    """With the real model and embedding worker: embedded, found by meaning, deleted, never found again."""
    import time

    url = live_server()
    db = tmp_path / "server0.db"
    with httpx.Client(base_url=url, timeout=60) as client:
        client.post("/v1/memories/search", headers=A, json={"query": "warm up"})  # starts the worker
        memory = client.post(
            "/v1/memories", headers=A, json={"content": "The flamingo flock migrates south"}
        ).json()
        client.post("/v1/memories", headers=A, json={"content": "Quarterly taxes are due in April"})
        deadline = time.monotonic() + 120
        while sql_count(db, "SELECT count(*) FROM memory_embeddings") < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert sql_count(db, "SELECT count(*) FROM memory_embeddings WHERE memory_id = ?", memory["id"]) == 1
        query = {"query": "pink wading birds travelling", "sources": ["dense"]}
        before = client.post("/v1/memories/search", headers=A, json=query).json()
        assert memory["id"] in [h["memory"]["id"] for h in before["hits"]]

        assert client.delete(f"/v1/memories/{memory['id']}", headers=A).status_code == 200
        after = client.post("/v1/memories/search", headers=A, json=query).json()
    assert memory["id"] not in [h["memory"]["id"] for h in after["hits"]]
    assert sql_count(db, "SELECT count(*) FROM memories WHERE id = ?", memory["id"]) == 0
    assert sql_count(db, "SELECT count(*) FROM memories_fts WHERE memories_fts MATCH 'flamingo'") == 0
    assert sql_count(db, "SELECT count(*) FROM memory_embeddings WHERE memory_id = ?", memory["id"]) == 0
