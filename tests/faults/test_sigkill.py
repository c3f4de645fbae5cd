"""SIGKILL of the real service in the middle of a write burst, then a restart on the same file.

Every write the service acknowledged (a 201 with an id) is there afterwards; the durable
indexes agree with the table (the FTS5 rows and the stored vectors are exactly the memories,
none lost, doubled or orphaned); the in-memory indexes a restart rebuilds from those tables
find what SQL finds; and ``db check`` passes.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

import httpx
import numpy as np

from memory_system.memory.retrieval.embeddings import Embedder, from_blob
from memory_system.memory.retrieval.model_spec import MODEL_DIM
from tests.conftest import CliRunner
from tests.faults._http import agent, query, wait_until

WRITERS = 6
GROUPS = 10  # a word shared by ~1/10 of the memories: a search SQL can answer exactly too
KILL_AFTER = 150  # acknowledged writes before the kill: the burst is well under way


def _content(writer: int, n: int) -> str:
    return f"burst note u{writer}x{n} grp{(writer * 7 + n) % GROUPS} from writer {writer}, step {n}"


def _burst(
    url: str, acked: dict[int, str], refused: list[str], lock: threading.Lock, stop: threading.Event
) -> None:
    def write(writer: int) -> None:
        with agent(url, timeout=30) as client:
            for n in range(10_000):
                if stop.is_set():
                    return
                content = _content(writer, n)
                try:
                    response = client.post("/v1/memories", json={"content": content})
                except httpx.TransportError:
                    return  # the process died under this request: it was never acknowledged
                with lock:
                    if response.status_code != 201:
                        refused.append(f"{response.status_code} {response.text}")
                        return
                    acked[int(response.json()["id"])] = content

    threads = [threading.Thread(target=write, args=(w,), daemon=True) for w in range(WRITERS)]
    for thread in threads:
        thread.start()
    stop.wait()
    for thread in threads:
        thread.join(timeout=60)


def test_every_acknowledged_write_survives_sigkill_and_the_indexes_agree(
    serve_process: Any, cli: CliRunner, minilm_env: dict[str, str], minilm: Embedder
) -> None:
    # The real model: a vector index to keep in step with the table. Queries in fp32, as this
    # test embeds them to rank the stored vectors itself (int8 would differ by ~1e-2).
    env = {**minilm_env, "MEMORY_SYSTEM_QUERY_PRECISION": "fp32"}
    served = serve_process(dev=True, env=env)
    acked: dict[int, str] = {}
    refused: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()
    burst = threading.Thread(target=_burst, args=(served.url, acked, refused, lock, stop), daemon=True)
    burst.start()
    wait_until(lambda: len(acked) >= KILL_AFTER or refused, "the write burst", timeout=120)
    served.send(signal.SIGKILL)
    assert served.wait(timeout=30) == -signal.SIGKILL
    stop.set()
    burst.join(timeout=90)
    assert not burst.is_alive()
    assert refused == [], refused[:3]  # before the kill, every write was taken
    assert len(acked) >= KILL_AFTER, "the burst stopped before the kill"

    db = served.db
    stored = dict(query(db, "SELECT id, content FROM memories"))
    lost = set(acked) - set(stored)
    assert not lost, f"{len(lost)} acknowledged writes lost, e.g. {sorted(lost)[:5]}"
    assert all(stored[i] == acked[i] for i in acked)
    assert len(stored) - len(acked) <= WRITERS  # at most the requests in flight at the kill
    assert len(set(stored.values())) == len(stored)  # no write stored twice

    fts = [r[0] for r in query(db, "SELECT rowid FROM memories_fts")]
    assert sorted(fts) == sorted(stored), "full-text rows differ from the memories table"
    assert query(db, "INSERT INTO memories_fts (memories_fts) VALUES ('integrity-check')") == []
    orphans = query(
        db, "SELECT memory_id FROM memory_embeddings WHERE memory_id NOT IN (SELECT id FROM memories)"
    )
    assert orphans == []
    doubled = query(db, "SELECT memory_id FROM memory_embeddings GROUP BY memory_id HAVING COUNT(*) > 1")
    assert doubled == []

    again = serve_process(db=db, dev=True, env=env)
    # The memories the worker had not embedded yet are the backlog the restart picks up.
    wait_until(
        lambda: query(db, "SELECT COUNT(DISTINCT memory_id) FROM memory_embeddings")[0][0] == len(stored),
        "every memory to have its vector after the restart",
        timeout=180,
        every=0.5,
    )
    with agent(again.url) as client:

        def hits(text: str, source: str, k: int = 100) -> list[tuple[int, float]]:
            body = {"query": text, "k": k, "sources": [source]}
            response = client.post("/v1/memories/search", json=body)
            assert response.status_code == 200, response.text
            return [(h["memory"]["id"], h["scores"].get(source, 0.0)) for h in response.json()["hits"]]

        def search(text: str, source: str) -> list[int]:
            return [memory_id for memory_id, _ in hits(text, source)]

        for group in range(GROUPS):
            word = f"grp{group}"
            matched = query(db, "SELECT rowid FROM memories_fts WHERE memories_fts MATCH ?", (word,))
            by_sql = {r[0] for r in matched}
            assert by_sql and len(by_sql) < 100
            assert set(search(word, "fulltext")) == by_sql, word
        for memory_id in sorted(stored)[:: max(1, len(stored) // 15)]:
            assert search(stored[memory_id].split()[2], "fulltext") == [memory_id]

        # The dense half against the stored vectors, ranked here by exact cosine.
        stored_vectors = query(db, "SELECT memory_id, vector FROM memory_embeddings")
        ids = [row[0] for row in stored_vectors]
        matrix = np.stack([from_blob(row[1], MODEL_DIM) for row in stored_vectors])
        for text in ("burst note from writer 2", "step 40 of writer 5", "grp7"):
            exact = matrix @ np.asarray(minilm.encode([text])[0], dtype=np.float32)
            nearest = sorted(zip(ids, exact.tolist(), strict=True), key=lambda pair: -pair[1])[:10]
            found = hits(text, "dense", k=10)
            assert len(found) == 10, found
            cosine = dict(zip(ids, exact.tolist(), strict=True))
            for memory_id, score in found:  # each hit is a stored vector, scored as stored
                assert abs(score - cosine[memory_id]) < 2e-3, (text, memory_id, score, cosine[memory_id])
            tenth = found[-1][1]
            assert {i for i, s in nearest if s > tenth + 2e-3} <= {i for i, _ in found}, (
                text,
                nearest,
                found,
            )
    assert again.stop() == 0
    check = cli("db", "check", "--db", str(db))
    assert check.returncode == 0, check.stdout + check.stderr
    assert "integrity ok, foreign keys ok" in check.stdout
