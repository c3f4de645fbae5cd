"""The embedding model hangs or fails inside the real service: injection degrades to full text
within the RAG time budget instead of failing or waiting, no write is lost for want of a
vector, and once a working model is back the backlog is embedded.

The ``slow:<ms>`` embedder is the real model behind a real delay (a hang, as far as a 50 ms
budget can tell); ``failing`` raises on every call, as a model whose files went missing.
"""

from __future__ import annotations

import re
import signal
from typing import Any

import httpx

from tests.faults._http import agent, events, query, wait_until

FACTS = [
    "We deploy the billing service through the staging cluster before production.",
    "The login page times out when the auth token cache is cold.",
    "Postgres upgrade to 16 is planned for the next quarter.",
]


def _rag_timeouts(url: str) -> float:
    text = httpx.get(url + "/metrics", timeout=30).text
    return sum(float(v) for v in re.findall(r"^memory_rag_timeouts_total(?:\{[^}]*\})? (\S+)$", text, re.M))


def _inject(client: httpx.Client, query_text: str) -> dict[str, Any]:
    response = client.post("/v1/inject", json={"query": query_text})
    assert response.status_code == 200, response.text
    return dict(response.json())


def _vectors(served: Any) -> int:
    return int(query(served.db, "SELECT COUNT(DISTINCT memory_id) FROM memory_embeddings")[0][0])


def test_a_hung_then_failing_model_degrades_injection_and_the_backlog_is_embedded_after(
    serve_process: Any, minilm_env: dict[str, str]
) -> None:
    # 1. The model hangs (5 s a call against a 50 ms budget): injection answers from full text.
    hung = serve_process(
        dev=True,
        env={**minilm_env, "MEMORY_SYSTEM_EMBEDDER": "slow:5000", "MEMORY_SYSTEM_RAG_TIMEOUT_MS": "50"},
    )
    with agent(hung.url) as client:
        for fact in FACTS[:2]:
            assert client.post("/v1/memories", json={"content": fact}).status_code == 201
        before = _rag_timeouts(hung.url)
        out = _inject(client, "how do we deploy billing?")
        assert out["mode"] == "degraded" and out["retrieval"]["degraded"] is True, out["retrieval"]
        assert FACTS[0] in out["block"]
        assert _rag_timeouts(hung.url) == before + 1
    hung.send(signal.SIGKILL)  # what an operator does to a process stuck on its model
    assert hung.wait(timeout=30) == -signal.SIGKILL

    # 2. The model fails on every call: writes still succeed, injection degrades, the worker
    #    says why in the log and keeps the backlog; SIGTERM still drains and exits 0.
    failing = serve_process(dev=True, db=hung.db, env={"MEMORY_SYSTEM_EMBEDDER": "failing"})
    with agent(failing.url) as client:
        assert client.post("/v1/memories", json={"content": FACTS[2]}).status_code == 201
        out = _inject(client, "postgres upgrade quarter")
        assert out["mode"] == "degraded" and out["retrieval"]["degraded"] is True, out["retrieval"]
        assert FACTS[2] in out["block"]
        failed = wait_until(lambda: events(failing, "embedding_failed"), "the worker to report the failure")
        assert "embedder configured to fail" in str(failed[0]["error"])
    assert failing.stop() == 0
    stored = query(hung.db, "SELECT COUNT(*) FROM memories")[0][0]
    assert stored == len(FACTS) and _vectors(failing) < stored

    # 3. A working model again: every memory gets its vector, and injection is whole again.
    healthy = serve_process(
        dev=True,
        db=hung.db,
        env={**minilm_env, "MEMORY_SYSTEM_RAG_TIMEOUT_MS": "30000"},
    )
    wait_until(lambda: _vectors(healthy) == stored, "the backlog to be embedded", timeout=120, every=0.5)
    with agent(healthy.url) as client:
        out = _inject(client, "when is the postgres upgrade?")
        assert out["mode"] == "enhanced" and out["retrieval"]["degraded"] is False, out["retrieval"]
        assert FACTS[2] in out["block"]
        dense = client.post(
            "/v1/memories/search", json={"query": "database version upgrade", "sources": ["dense"], "k": 3}
        )
        assert dense.status_code == 200 and len(dense.json()["hits"]) == stored, dense.text
    assert healthy.stop() == 0
