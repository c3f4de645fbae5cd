"""POST /v1/inject over real HTTP with the real model: the block and manifest, the cache and a
write that invalidates it, bad input, the flag switched off live, the degraded path, isolation."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from memory_system.memory.injection.token_count import count_tokens

NS = "proj"
ADMIN = "admin-secret-0123456789"
FACTS = [
    "We deploy the billing service through the staging cluster before production.",
    "The login page times out when the auth token cache is cold.",
    "Postgres upgrade to 16 is planned for the next quarter.",
]


def agent(url: str, name: str = "a1") -> httpx.Client:
    return httpx.Client(base_url=url, timeout=60, headers={"X-Agent-Id": name, "X-Namespace": NS})


def remember(client: httpx.Client, content: str, **fields: Any) -> int:
    r = client.post("/v1/memories", json={"content": content, **fields})
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def inject(client: httpx.Client, **body: Any) -> dict[str, Any]:
    r = client.post("/v1/inject", json=body)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def metric(url: str, name: str) -> float:
    text = httpx.get(url + "/metrics", timeout=30).text
    total = 0.0
    for match in re.finditer(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.MULTILINE):
        total += float(match.group(1))
    return total


@pytest.fixture
def server(live_server: Callable[..., str]) -> str:
    return live_server(rag_timeout_ms=30_000.0, admin_token=ADMIN)


def test_block_manifest_and_cache_over_http(server: str) -> None:
    a1 = agent(server)
    ids = [remember(a1, text, tier="long_term") for text in FACTS]
    first = inject(a1, query="how do we deploy billing?")
    assert set(first) >= {
        "block",
        "format",
        "mode",
        "cache",
        "took_ms",
        "tokens",
        "token_budget",
        "token_counter",
        "manifest",
        "retrieval",
    }
    assert (first["mode"], first["cache"], first["format"], first["token_budget"]) == (
        "enhanced",
        "miss",
        "markdown",
        1000,
    )
    assert first["block"].startswith("## Relevant memories")
    assert "staging cluster" in first["block"]
    assert first["manifest"]["memories"][0]["id"] == ids[0]
    assert first["tokens"] == count_tokens(first["block"]) <= 1000
    assert first["retrieval"]["mode"] in ("hybrid", "fulltext")
    hits_before = metric(server, "memory_injection_cache_hits_total")
    second = inject(a1, query="How do we deploy billing?")
    assert second["cache"] == "hit" and second["block"] == first["block"]
    assert metric(server, "memory_injection_cache_hits_total") == hits_before + 1
    new = remember(a1, "Billing deploys are frozen this week for the audit.", tier="long_term")
    third = inject(a1, query="how do we deploy billing?")
    assert third["cache"] == "miss" and new in [m["id"] for m in third["manifest"]["memories"]]
    assert metric(server, "memory_injection_latency_seconds_count") >= 3


def test_json_format_and_a_small_budget(server: str) -> None:
    a1 = agent(server)
    for text in FACTS:
        remember(a1, text)
    out = inject(a1, query="postgres upgrade", format="json", token_budget=120)
    assert out["tokens"] == count_tokens(out["block"]) <= 120
    parsed = json.loads(out["block"])
    assert "Postgres" in json.dumps(parsed)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"query": "x", "token_budget": 0}, "token_budget"),
        ({"query": "x", "token_budget": 32001}, "token_budget"),
        ({"query": "x", "token_budget": "lots"}, "token_budget"),
        ({"query": "x", "format": "html"}, "format"),
        ({"query": ""}, "query"),
        ({"token_budget": 10}, "query"),
        ({"query": "x", "budget": 10}, "budget"),
    ],
)
def test_bad_input_names_the_field_and_changes_nothing(server: str, body: dict[str, Any], field: str) -> None:
    a1 = agent(server)
    before = (
        metric(server, "memory_injection_latency_seconds_count"),
        metric(server, "memory_injection_cache_misses_total"),
    )
    r = a1.post("/v1/inject", json=body)
    assert r.status_code == 422
    assert field in r.text
    after = (
        metric(server, "memory_injection_latency_seconds_count"),
        metric(server, "memory_injection_cache_misses_total"),
    )
    assert after == before


def test_flag_off_switches_to_legacy_on_the_next_request(server: str) -> None:
    a1 = agent(server)
    for text in FACTS:
        remember(a1, text)
    assert inject(a1, query="login timeout", session_id="s-1")["mode"] == "enhanced"
    admin = {"Authorization": f"Bearer {ADMIN}"}
    r = httpx.post(
        server + "/admin/feature-flags", json={"USE_ENHANCED_INJECTION": False}, headers=admin, timeout=30
    )
    assert r.status_code == 200, r.text
    legacy = inject(a1, query="login timeout", session_id="s-1")
    assert (legacy["mode"], legacy["cache"]) == ("legacy", "bypass")
    assert legacy["retrieval"]["mode"] == "none"
    assert len(legacy["manifest"]["memories"]) == 3  # the most recent memories
    r = httpx.post(
        server + "/admin/feature-flags", json={"USE_ENHANCED_INJECTION": True}, headers=admin, timeout=30
    )
    assert r.status_code == 200, r.text
    assert inject(a1, query="login timeout", session_id="s-1")["mode"] == "enhanced"


def test_slow_model_degrades_to_full_text_and_counts_a_rag_timeout(live_server: Callable[..., str]) -> None:
    url = live_server(embedder="slow:400", rag_timeout_ms=50.0)
    a1 = agent(url)
    for text in FACTS:
        remember(a1, text)
    before = metric(url, "memory_rag_timeouts_total")
    out = inject(a1, query="postgres upgrade quarter")
    assert out["mode"] == "degraded" and out["retrieval"]["degraded"] is True
    assert "Postgres upgrade to 16" in out["block"]
    assert metric(url, "memory_rag_timeouts_total") == before + 1
    assert inject(a1, query="postgres upgrade quarter")["cache"] == "miss"


def test_no_agent_gets_another_agents_private_memory(server: str) -> None:
    a1, other = agent(server), agent(server, "other")
    secret = remember(other, "The postgres admin password rotates on Mondays.")
    remember(a1, FACTS[2])
    for session in (None, "s-9"):
        out = inject(a1, query="postgres admin password", session_id=session)
        assert secret not in [m["id"] for m in out["manifest"]["memories"]]
        assert "password" not in out["block"]


def test_the_x_session_id_header_alone_picks_the_rollout_key(server: str) -> None:
    """At a 50% rollout, two sessions on either side of the line get different paths when
    each is named only by the X-Session-Id header (the key every endpoint uses); the header
    wins over the body's session_id, as for sharing."""
    from memory_system.flags.bucketing import in_rollout

    flag = "USE_ENHANCED_INJECTION"
    sessions = [f"s-{i}" for i in range(100)]
    inside = next(s for s in sessions if in_rollout(0.5, flag, s))
    outside = next(s for s in sessions if not in_rollout(0.5, flag, s))
    a1 = agent(server)
    remember(a1, FACTS[0])
    r = httpx.post(
        server + "/admin/feature-flags",
        json={flag: 0.5},
        headers={"Authorization": f"Bearer {ADMIN}"},
        timeout=30,
    )
    assert r.status_code == 200, r.text

    def mode(header: str, **body: Any) -> str:
        r = a1.post("/v1/inject", json={"query": "deploy billing", **body}, headers={"X-Session-Id": header})
        assert r.status_code == 200, r.text
        return str(r.json()["mode"])

    assert (mode(inside), mode(outside)) == ("enhanced", "legacy")
    assert (mode(inside, session_id=outside), mode(outside, session_id=inside)) == ("enhanced", "legacy")


def test_a_working_memory_of_the_header_session_reaches_its_injection(server: str) -> None:
    """A memory written under X-Session-Id lives in that session; an injection that names the
    session only by the same header sees it (the body's session_id, when given, decides)."""
    a1 = agent(server)
    headers = {"X-Session-Id": "s-work"}
    r = a1.post(
        "/v1/memories",
        json={"content": "Scratch note: the billing deploy is paused today.", "tier": "working"},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    seen = a1.post("/v1/inject", json={"query": "billing deploy paused"}, headers=headers).json()
    assert "billing deploy is paused" in seen["block"]
    other = a1.post(
        "/v1/inject", json={"query": "billing deploy paused", "session_id": "s-other"}, headers=headers
    ).json()
    assert "billing deploy is paused" not in other["block"]
