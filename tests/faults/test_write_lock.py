"""Another process holds the database's write lock past the busy timeout (a long CLI job, a
stuck script): the service's writes fail cleanly with 503 and ``Retry-After``, its reads go
on, and once the lock is let go the same requests succeed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.faults._http import agent, query
from tests.faults._lock import LockHolder


@pytest.fixture
def holders() -> Iterator[list[LockHolder]]:
    held: list[LockHolder] = []
    yield held
    for holder in held:
        if holder.proc.poll() is None:
            holder.proc.kill()
            holder.proc.wait(timeout=30)


def test_a_write_lock_held_elsewhere_is_a_503_with_retry_after_then_recovers(
    serve_process: Any, holders: list[LockHolder]
) -> None:
    served = serve_process(dev=True)
    with agent(served.url) as client:
        kept = client.post("/v1/memories", json={"content": "written before the lock"}).json()["id"]
        holders.append(LockHolder(served.db))

        refused = client.post("/v1/memories", json={"content": "written while another holds the lock"})
        assert refused.status_code == 503, refused.text
        assert refused.headers["retry-after"] == "1"
        body = refused.json()
        assert body["error"] == "unavailable" and body["detail"]["error"] == "store_busy"
        assert str(served.db) in body["message"] and "retry" in body["message"]
        entity = client.post("/v1/entities", json={"entities": [{"name": "x", "entityType": "t"}]})
        assert entity.status_code == 503 and entity.headers["retry-after"] == "1", entity.text

        # Reads never wait for the writer (WAL), and the probes stay truthful.
        assert client.get(f"/v1/memories/{kept}").status_code == 200
        found = client.post("/v1/memories/search", json={"query": "written before"})
        assert [h["memory"]["id"] for h in found.json()["hits"]] == [kept]
        assert client.get("/health/live").status_code == 200

        holders[-1].release()
        again = client.post("/v1/memories", json={"content": "written while another holds the lock"})
        assert again.status_code == 201, again.text
        assert (
            client.post("/v1/entities", json={"entities": [{"name": "x", "entityType": "t"}]}).status_code
            == 201
        )
    assert served.stop() == 0
    contents = [r[0] for r in query(served.db, "SELECT content FROM memories ORDER BY id")]
    assert contents == ["written before the lock", "written while another holds the lock"]  # no doubles
    assert query(served.db, "SELECT COUNT(*) FROM entities WHERE namespace = 'other'") == [(0,)]
