"""A damaged database page under the running service: the service's periodic ``quick_check``
reports it (CRITICAL log line, ``memory_integrity_ok`` 0), ``db check`` names it, and
``db restore`` of the backup made before brings every row back, to a service that checks clean."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.conftest import CliRunner
from tests.faults._corrupt import damage_page_type
from tests.faults._http import agent, events, query, wait_until

FAST_CHECKS = {"MEMORY_SYSTEM_INTEGRITY_CHECK_INTERVAL_S": "0.3"}


def _gauge(url: str, name: str) -> float:
    text = httpx.get(url + "/metrics", timeout=30).text
    found = re.search(rf"^{name} (\S+)$", text, re.M)
    assert found, f"{name} not exported"
    return float(found.group(1))


def test_a_damaged_page_is_reported_by_the_service_and_db_check_and_undone_by_restore(
    serve_process: Any, cli: CliRunner, tmp_path: Any
) -> None:
    served = serve_process(dev=True, env=FAST_CHECKS)
    with agent(served.url) as client:
        ids = [client.post("/v1/memories", json={"content": f"kept fact {n}"}).json()["id"] for n in range(5)]
        entities = [{"name": f"service-{n}", "entityType": "service"} for n in range(30)]
        assert client.post("/v1/entities", json={"entities": entities}).status_code == 201
    wait_until(
        lambda: _gauge(served.url, "memory_integrity_last_check_timestamp_seconds") > 0, "a first check"
    )
    assert _gauge(served.url, "memory_integrity_ok") == 1 and not events(served, "integrity_check_failed")

    backup = cli("db", "backup", "--db", str(served.db), "--dest", str(tmp_path / "backups"), check=True)
    backup_path = backup.stdout.strip().splitlines()[-1]
    before = {
        "memories": query(served.db, "SELECT id, content FROM memories ORDER BY id"),
        "entities": query(served.db, "SELECT name FROM entities ORDER BY id"),
    }

    damage_page_type(served.db)
    failed = wait_until(lambda: events(served, "integrity_check_failed"), "the periodic check to see it")
    assert failed[0]["level"] == "CRITICAL" and failed[0]["problems"], failed[0]
    assert "db restore" in str(failed[0]["action"])
    assert _gauge(served.url, "memory_integrity_ok") == 0
    assert served.stop() == 0

    check = cli("db", "check", "--db", str(served.db))
    assert check.returncode == 1, check.stdout + check.stderr
    assert "problem:" in check.stderr and "integrity_check" in check.stderr

    restored = cli("db", "restore", backup_path, "--db", str(served.db), "--yes")
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert cli("db", "check", "--db", str(served.db)).returncode == 0
    after = {
        "memories": query(served.db, "SELECT id, content FROM memories ORDER BY id"),
        "entities": query(served.db, "SELECT name FROM entities ORDER BY id"),
    }
    assert after == before and [r[0] for r in after["memories"]] == ids

    again = serve_process(dev=True, db=served.db, env=FAST_CHECKS)
    with agent(again.url) as client:
        assert client.get(f"/v1/memories/{ids[0]}").json()["content"] == "kept fact 0"
        assert client.get("/v1/entities/service-29").status_code == 200
    checked = _gauge(again.url, "memory_integrity_last_check_timestamp_seconds")
    wait_until(
        lambda: _gauge(again.url, "memory_integrity_last_check_timestamp_seconds") > checked,
        "a check after the restore",
    )
    assert _gauge(again.url, "memory_integrity_ok") == 1 and not events(again, "integrity_check_failed")
    assert again.stop() == 0
