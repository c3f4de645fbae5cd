"""This service's side of a peer comparison: a live ``memory-system serve`` fed and asked over HTTP.

The service runs as its own process (``python -m memory_system serve --dev``) on a free
loopback port with a fresh database and the real embedder, as an operator would run it.
Turns go in the way benchmarks/locomo.py sends them (one namespace per conversation, its
``turns_of`` items), either in batches of up to 1,000 (``POST /v1/memories/batch``) or one
``POST /v1/memories`` per turn. Two clocks start at the first write: *acknowledged* stops when
the last write has been answered (committed to SQLite, full-text indexed); *searchable by
meaning* stops when the embedding worker's backlog, read from ``/health/deep``
(``details.rag.pending``), is 0 and it has embedded every memory (``details.rag.embedded``):
from then on every memory has its vector and a dense search finds it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from _report import free_port

BATCH = 1000
POLL_S = 0.25  # the searchable clock's resolution; each poll is a /health/deep (~15 ms of work)
AGENT = "locomo"


@dataclass
class Conversation:
    """One LoCoMo conversation as both sides see it: turn items (locomo.turns_of) and questions."""

    id: str
    items: list[dict[str, Any]]
    questions: list[str]


@dataclass
class Ingest:
    mode: str
    memories: int
    ack_s: float
    searchable_s: float
    stored: int  # distinct memories: a turn restating a stored one (e.g. "Thanks!") reinforces it
    turn_of: dict[str, dict[str, list[str]]] = field(default_factory=dict)


def _headers(conversation_id: str) -> dict[str, str]:
    return {"X-Agent-Id": AGENT, "X-Namespace": f"locomo-{conversation_id}"}


@contextmanager
def served(workdir: Path) -> Iterator[httpx.Client]:
    """A fresh ``memory-system serve --dev`` with the real embedder, ready and semantic."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = workdir / "config.json"  # empty: the defaults, not what /etc/memory-system/ may hold
    config.write_text("{}")
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "MEMORY_SYSTEM_EMBEDDER": "minilm",
        "MEMORY_SYSTEM_CONFIG": str(config),
    }
    log_path = workdir / "server.log"
    with log_path.open("ab") as log:
        command = [sys.executable, "-m", "memory_system", "serve", "--dev", "--port", str(port)]
        proc = subprocess.Popen(
            [*command, "--db", str(workdir / "service.db")],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120)
    try:
        deadline = time.monotonic() + 300
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"memory-system serve exited with {proc.returncode}; see {log_path}")
            try:
                if client.get("/health/ready").status_code == 200 and _rag(client).get("semantic"):
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"memory-system serve was not ready with its model in 300 s; see {log_path}")
            time.sleep(0.2)
        yield client
    finally:
        client.close()
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _rag(client: httpx.Client) -> dict[str, Any]:
    details: dict[str, Any] = client.get("/health/deep").json().get("details", {}).get("rag", {})
    return details


def _check(response: httpx.Response, what: str) -> dict[str, Any]:
    if response.status_code not in (200, 201):  # 200: reinforced an identical memory
        raise SystemExit(f"{what} refused: {response.status_code} {response.text[:300]}")
    body: dict[str, Any] = response.json()
    return body


def ingest(client: httpx.Client, conversations: list[Conversation], mode: str) -> Ingest:
    """Every turn in, then wait until every memory is searchable by meaning (30 minutes at most)."""
    turn_of: dict[str, dict[str, list[str]]] = {}
    total = sum(len(c.items) for c in conversations)
    started = time.perf_counter()
    for conv in conversations:
        mapping: dict[str, list[str]] = defaultdict(list)
        headers = _headers(conv.id)
        if mode == "batch":
            for start in range(0, len(conv.items), BATCH):
                chunk = conv.items[start : start + BATCH]
                body = _check(
                    client.post("/v1/memories/batch", json={"items": chunk}, headers=headers), "batch"
                )
                for item, written in zip(chunk, body["items"], strict=True):
                    mapping[str(written["id"])].append(item["metadata"]["turn"])
        elif mode == "single":
            for item in conv.items:
                written = _check(client.post("/v1/memories", json=item, headers=headers), "memory")
                mapping[str(written["id"])].append(item["metadata"]["turn"])
        else:
            raise ValueError(f"unknown ingest mode {mode!r}: 'batch' or 'single'")
        turn_of[conv.id] = dict(mapping)
    ack_s = time.perf_counter() - started
    stored = sum(len(m) for m in turn_of.values())
    deadline = time.monotonic() + 1800
    while True:
        rag = _rag(client)
        if rag.get("pending") == 0 and int(rag.get("embedded", 0)) >= stored:
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"embedding not done after 30 minutes: {rag}")
        time.sleep(POLL_S)
    return Ingest(mode, total, ack_s, time.perf_counter() - started, stored, turn_of)


def ask(
    client: httpx.Client, conversations: list[Conversation], turn_of: dict[str, dict[str, list[str]]], k: int
) -> dict[str, list[dict[str, Any]]]:
    """Every question, fused (the default) and dense only; ranked turn ids and each call's ms."""
    out: dict[str, list[dict[str, Any]]] = {"fused": [], "dense": []}
    first = conversations[0]
    client.post("/v1/memories/search", json={"query": first.questions[0], "k": k}, headers=_headers(first.id))
    for name, sources in (("fused", None), ("dense", ["dense"])):
        for conv in conversations:
            headers = _headers(conv.id)
            for question in conv.questions:
                body: dict[str, Any] = {"query": question, "k": k}
                if sources:
                    body["sources"] = sources
                t0 = time.perf_counter()
                response = client.post("/v1/memories/search", json=body, headers=headers)
                ms = (time.perf_counter() - t0) * 1000
                if response.status_code != 200:
                    raise SystemExit(f"search refused: {response.status_code} {response.text[:300]}")
                result = response.json()
                ranked = [
                    t for hit in result["hits"] for t in turn_of[conv.id].get(str(hit["memory"]["id"]), [])
                ]
                out[name].append({"ranked": ranked, "ms": ms, "mode": result["mode"]})
    return out
