"""POST /v1/memories/search over real HTTP: ranked memories with scores, the mode, the caller's view."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

FACTS = [
    "The deploy pipeline pushes container images to the Kubernetes cluster on every merge.",
    "Invoices for the billing service are kept in PostgreSQL.",
    "Bananas are rich in potassium.",
]


def as_agent(agent: str, ns: str = "p") -> dict[str, str]:
    return {"X-Agent-Id": agent, "X-Namespace": ns}


def store(url: str, items: list[dict[str, Any]], agent: str = "a") -> list[int]:
    resp = httpx.post(f"{url}/v1/memories/batch", json={"items": items}, headers=as_agent(agent), timeout=30)
    assert resp.status_code == 201, resp.text
    return [item["id"] for item in resp.json()["items"]]


def search(url: str, body: dict[str, Any], agent: str = "a") -> httpx.Response:
    return httpx.post(f"{url}/v1/memories/search", json=body, headers=as_agent(agent), timeout=30)


def test_ranked_memories_with_scores_and_hybrid_mode(live_server: Callable[..., str], minilm: Any) -> None:
    url = live_server()
    ids = store(url, [{"content": c} for c in FACTS])
    query = {"query": "how do new releases reach production?", "k": 2, "sources": ["dense"]}
    deadline = time.monotonic() + 60
    while not search(url, query).json()["hits"]:  # vectors follow the write in the background
        assert time.monotonic() < deadline, "no vector was written within 60 s"
        time.sleep(0.1)
    body = search(url, {"query": "how do new releases reach production?", "k": 2}).json()
    assert body["mode"] == "hybrid" and body["reason"] is None
    top = body["hits"][0]
    assert top["memory"]["id"] == ids[0] and top["memory"]["content"] == FACTS[0]
    assert top["ranks"]["dense"] == 1 and top["score"] > 0 and "dense" in top["scores"]
    assert len(body["hits"]) == 2
    words = search(url, {"query": "PostgreSQL invoices", "sources": ["fulltext"]}).json()
    assert words["mode"] == "fulltext" and [h["memory"]["id"] for h in words["hits"]] == [ids[1]]


def test_the_caller_sees_only_its_own_view(live_server: Callable[..., str]) -> None:
    url = live_server(embedder="none")
    mine = store(url, [{"content": "my note on the database migration"}], agent="a")
    store(url, [{"content": "bob's private note on the database migration"}], agent="b")
    hits = search(url, {"query": "database migration"}, agent="a").json()["hits"]
    assert [h["memory"]["id"] for h in hits] == mine
    other_ns = httpx.post(
        f"{url}/v1/memories/search",
        json={"query": "database migration"},
        headers=as_agent("a", "elsewhere"),
        timeout=30,
    ).json()
    assert other_ns["hits"] == []


def test_without_a_model_every_answer_says_full_text(live_server: Callable[..., str]) -> None:
    url = live_server(embedder="none")
    ids = store(url, [{"content": c} for c in FACTS])
    body = search(url, {"query": "bananas", "filters": {"kind": "note"}}).json()
    assert body["mode"] == "fulltext" and body["reason"]
    assert [h["memory"]["id"] for h in body["hits"]] == [ids[2]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"query": "x", "k": 0}, "k"),
        ({"query": "x", "k": 101}, "k"),
        ({"query": "  "}, "query"),
        ({"query": "x", "filters": {"colour": "red"}}, "filters.colour"),
        ({"query": "x", "filters": {"occurred_after": "yesterday"}}, "filters.occurred_after"),
        ({"query": "x", "sources": ["magic"]}, "sources.0"),
    ],
)
def test_bad_input_is_refused_naming_the_field(
    live_server: Callable[..., str], body: dict[str, Any], field: str
) -> None:
    url = live_server(embedder="none")
    ids = store(url, [{"content": "bananas are yellow"}])
    resp = search(url, body)
    assert resp.status_code == 422
    assert resp.json()["field"] == field
    listed = httpx.get(f"{url}/v1/memories", headers=as_agent("a"), timeout=30).json()
    assert [m["id"] for m in listed["memories"]] == ids  # nothing changed


def test_unknown_body_field_is_refused(live_server: Callable[..., str]) -> None:
    url = live_server(embedder="none")
    resp = search(url, {"query": "x", "top": 3})
    assert resp.status_code == 422 and "top" in resp.text


def test_ready_says_when_vectors_come_from_another_model(
    live_server: Callable[..., str], tmp_path: Any, minilm: Any
) -> None:
    from memory_system.store import embeddings as vec_store
    from memory_system.store.connection import open_connection

    url = live_server()
    store(url, [{"content": "tea"}])
    search(url, {"query": "tea"})  # the retrieval service is up
    assert httpx.get(f"{url}/health/ready", timeout=30).json()["vectors"] == "current"
    conn = open_connection(tmp_path / "server0.db", create=False)
    vec_store.record_model(conn, "old-model", 384)
    conn.close()
    ready = httpx.get(f"{url}/health/ready", timeout=30).json()
    assert ready["vectors"].startswith("stale") and "--reembed" in ready["vectors"]
