"""The ``metadata`` filter of GET /v1/memories and of search: memories by strings in their metadata."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

A = {"X-Agent-Id": "a", "X-Namespace": "p"}


def store(url: str, items: list[dict[str, Any]], headers: dict[str, str] = A) -> list[int]:
    resp = httpx.post(f"{url}/v1/memories/batch", json={"items": items}, headers=headers, timeout=30)
    assert resp.status_code == 201, resp.text
    return [item["id"] for item in resp.json()["items"]]


def listed(url: str, metadata: list[str], headers: dict[str, str] = A) -> httpx.Response:
    return httpx.get(f"{url}/v1/memories", params={"metadata": metadata}, headers=headers, timeout=30)


def searched(url: str, metadata: Any, query: str = "deploy") -> httpx.Response:
    body = {"query": query, "filters": {"metadata": metadata}}
    return httpx.post(f"{url}/v1/memories/search", json=body, headers=A, timeout=30)


ITEMS = [
    {"content": "deploy on monday", "metadata": {"app": {"key": "k1", "ns": "a.b"}, "n": 1}},
    {"content": "deploy on tuesday", "metadata": {"app": {"key": "k2", "ns": "a.b"}}},
    {"content": "deploy on friday", "metadata": {"app": {"key": "k1", "ns": "a.c"}, "n": "1"}},
]


def test_list_keeps_memories_whose_metadata_holds_every_pair(live_server: Callable[..., str]) -> None:
    url = live_server(embedder="none")
    first, second, third = store(url, ITEMS)
    store(url, ITEMS[:1], headers={"X-Agent-Id": "b", "X-Namespace": "p"})  # b's own copy

    def ids(resp: httpx.Response) -> list[int]:
        return [m["id"] for m in resp.json()["memories"]]

    assert ids(listed(url, ["app.ns:a.b"])) == [second, first]
    assert ids(listed(url, ["app.ns:a.b", "app.key:k1"])) == [first]
    assert ids(listed(url, ["app.key:k1"])) == [third, first]
    # A number is never the string: "n": 1 does not match n:1, "n": "1" does.
    assert ids(listed(url, ["n:1"])) == [third]
    assert ids(listed(url, ["app.key:k9"])) == []
    assert ids(listed(url, ["app:a.b"])) == []  # an object is not a string either


def test_search_narrows_to_the_same_pairs(live_server: Callable[..., str]) -> None:
    url = live_server(embedder="none")
    first, second, _ = store(url, ITEMS)
    resp = searched(url, {"app.ns": "a.b"})
    assert resp.status_code == 200, resp.text
    assert sorted(h["memory"]["id"] for h in resp.json()["hits"]) == [first, second]
    only = searched(url, {"app.ns": "a.b", "app.key": "k2"}).json()["hits"]
    assert [h["memory"]["id"] for h in only] == [second]


def test_bad_metadata_filters_are_422_naming_the_field(live_server: Callable[..., str]) -> None:
    url = live_server(embedder="none")
    store(url, ITEMS)
    for params in (["no-colon"], ["bad path:x"], ["a..b:x"], ["k:1", "k:2"], [f"p{i}:x" for i in range(9)]):
        resp = listed(url, params)
        assert resp.status_code == 422, (params, resp.text)
        assert resp.json()["field"].startswith("metadata"), resp.json()
    for metadata in ({"bad path": "x"}, {"k": 1}, {"k": "x" * 1001}, "k:v"):
        resp = searched(url, metadata)
        assert resp.status_code == 422, (metadata, resp.text)
        assert resp.json()["field"].startswith("filters.metadata"), resp.json()
