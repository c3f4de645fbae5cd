"""``memory-system maintain`` as an operator runs it: a real subprocess on a real database file."""

from __future__ import annotations

import json
from pathlib import Path

from memory_system.memory.records.events import MemoryEvents
from memory_system.memory.records.memories import MemoryService
from memory_system.store.connection import Database


def seed(db_path: Path) -> dict[str, int]:
    """An ended session with one important and one unused working memory, ended long ago."""
    with Database(db_path) as db:
        service = MemoryService(db, MemoryEvents())
        keep = service.create(
            namespace="p",
            agent_id="a",
            item={"content": "key decision", "session_id": "s1", "importance": 0.9},
        ).memory.id
        drop = service.create(
            namespace="p", agent_id="a", item={"content": "scratch", "session_id": "s1"}
        ).memory.id
        with db.write() as conn:
            conn.execute(
                "INSERT INTO sessions (id, namespace, agent_id, ended_at) VALUES"
                " ('s1', 'p', 'a', '2000-01-01T00:00:00.000Z')"
            )
    return {"keep": keep, "drop": drop}


def tiers(db_path: Path) -> dict[int, str]:
    with Database(db_path) as db:
        return {r[0]: r[1] for r in db.reader().execute("SELECT id, tier FROM memories")}


def test_maintain_applies_the_rules(cli, migrated_db: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ids = seed(migrated_db)
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"tiers": {"workingGraceSeconds": 60}}))
    proc = cli("maintain", "--db", str(migrated_db), "--config", str(config), "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["enabled"] is True
    assert (report["promoted_to_short_term"], report["expired_working"], report["deleted"]) == (1, 1, 1)
    assert tiers(migrated_db) == {ids["keep"]: "short_term"}
    text = cli("maintain", "--db", str(migrated_db), "--config", str(config))
    # Important enough (0.9) to go on to long_term at the next pass.
    assert text.returncode == 0 and "maintenance done: 1 promoted, 0 decayed, 0 deleted" in text.stdout
    assert tiers(migrated_db) == {ids["keep"]: "long_term"}


def test_maintain_does_nothing_with_the_flag_off(cli, migrated_db: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    seed(migrated_db)
    before = tiers(migrated_db)
    proc = cli(
        "maintain",
        "--db",
        str(migrated_db),
        "--config",
        str(tmp_path / "none.json"),
        env={"USE_HIERARCHICAL_TIERS": "false"},
    )
    assert proc.returncode == 0, proc.stderr
    assert "USE_HIERARCHICAL_TIERS is off" in proc.stdout
    assert tiers(migrated_db) == before


def test_maintain_refuses_bad_config_and_missing_database(cli, migrated_db: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    seed(migrated_db)
    before = tiers(migrated_db)
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"tiers": {"gracePeriod": 5}}))
    bad = cli("maintain", "--db", str(migrated_db), "--config", str(config))
    assert bad.returncode == 1 and "tiers.gracePeriod" in bad.stderr
    assert tiers(migrated_db) == before
    missing = cli("maintain", "--db", str(tmp_path / "nope.db"), "--config", str(tmp_path / "none.json"))
    assert missing.returncode == 1 and "does not exist" in missing.stderr
    assert not (tmp_path / "nope.db").exists()


def test_end_to_end_session_end_then_maintain_against_a_running_service(  # type: ignore[no-untyped-def]
    cli, live_server, tmp_path: Path
) -> None:
    """HTTP writes in a session, the session ends over HTTP, the operator runs maintain on the
    live database: the used memory is promoted, the unused one is gone, as the API then shows."""
    import httpx

    url = live_server()
    headers = {"X-Agent-Id": "a", "X-Namespace": "p"}
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"tiers": {"workingGraceSeconds": 0}}))
    with httpx.Client(base_url=url, timeout=30, headers=headers) as client:
        session = client.post("/v1/sessions").json()["session_id"]
        in_session = {**headers, "X-Session-Id": session}
        kept = client.post(
            "/v1/memories", headers=in_session, json={"content": "chose Postgres", "importance": 0.9}
        )
        dropped = client.post("/v1/memories", headers=in_session, json={"content": "scratch note"})
        assert kept.json()["tier"] == dropped.json()["tier"] == "working"
        assert client.post(f"/v1/sessions/{session}/end").status_code == 200
        proc = cli("maintain", "--db", str(tmp_path / "server0.db"), "--config", str(config), "--json")
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["promoted_to_short_term"] == 1
        assert client.get(f"/v1/memories/{kept.json()['id']}").json()["tier"] == "short_term"
        assert client.get(f"/v1/memories/{dropped.json()['id']}").status_code == 404
