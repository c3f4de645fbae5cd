"""Legacy mode end to end: option C's end state served by a real ``memory-system serve``.

Data is written through a migrated service, 005 and 004 are rolled back as ``db rollback``
does it (recorded in rollback_records), and a plain ``serve`` (no flags) must not re-apply
them: it starts in legacy mode, Phase 1 reads and writes work, Phase 2-4 answer 409, and
only ``serve --migrate`` brings the tables back.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import httpx

from memory_system.ops import schema
from memory_system.ops.db_rollback import execute_rollback, plan_rollback
from memory_system.store import migrations
from memory_system.store.connection import open_connection

get = partial(httpx.get, timeout=30)
post = partial(httpx.post, timeout=30)
EXPECTED = migrations.expected_version()


def _roll_back(db: Path, *versions: int) -> None:
    for version in versions:
        execute_rollback(plan_rollback(db, version, backup_path=None, approved_by=[], emergency=True))


def _applied(db: Path) -> frozenset[int]:
    conn = open_connection(db, create=False)
    try:
        return migrations.applied_versions(conn)
    finally:
        conn.close()


ALL = frozenset(range(1, EXPECTED + 1))
LEGACY = ALL - migrations.FEATURE_MIGRATIONS  # 001-003 and 006+: what option C leaves


def test_rolled_back_on_purpose_is_read_from_rollback_records(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    assert not schema.rolled_back_on_purpose(db)  # no file yet: serve migrates it
    schema.migrate(db)
    assert not schema.rolled_back_on_purpose(db) and not schema.is_legacy(db)
    _roll_back(db, 5, 4)  # the Phase 2-4 ones, while the newer base migration 006 stays
    assert _applied(db) == LEGACY
    assert schema.rolled_back_on_purpose(db) == {4, 5} and schema.is_legacy(db)
    assert schema.status(db).to_dict()["mode"] == schema.LEGACY_MODE
    schema.migrate(db)  # an operator re-applied them: the newest rollback is undone
    assert not schema.rolled_back_on_purpose(db) and schema.status(db).state == "current"


def test_option_c_end_state_serves_legacy_mode_until_migrate_is_asked(
    serve_process: Any, tmp_path: Path
) -> None:
    db = tmp_path / "svc" / "memory.db"
    full = serve_process(db=db, dev=True)
    entity = {
        "entities": [{"name": "Ada", "entityType": "person", "observations": ["wrote the first program"]}]
    }
    assert post(full.url + "/v1/entities", json=entity).status_code == 201
    assert post(full.url + "/v1/memories", json={"content": "the deploy uses blue-green"}).status_code == 201
    assert full.stop() == 0

    _roll_back(db, 5, 4)
    legacy = serve_process(db=db, dev=True)  # no flags: the default start
    assert _applied(db) == LEGACY, "serve re-applied a migration that was rolled back on purpose"
    ready = get(legacy.url + "/health/ready")
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert body["schema"] == "legacy" and body["mode"] == schema.LEGACY_MODE and body["commit"]
    warned = [e for e in legacy.log_events() if e["event"] == "legacy_mode"]
    assert warned and warned[0]["level"] == "WARNING"
    assert f"memory-system db migrate --db {db}" in str(warned[0]["restore"])

    more = {"observations": [{"entityName": "Ada", "contents": ["poet's daughter"]}]}
    assert post(legacy.url + "/v1/observations", json=more).status_code == 201
    new = {"entities": [{"name": "Babbage", "entityType": "person", "observations": []}]}
    assert post(legacy.url + "/v1/entities", json=new).status_code == 201
    graph = get(legacy.url + "/v1/graph").json()
    assert sorted(e["name"] for e in graph["entities"]) == ["Ada", "Babbage"]
    assert post(legacy.url + "/v1/sessions").status_code == 201
    for method, path in (("GET", "/v1/memories"), ("POST", "/v1/memories/search"), ("POST", "/v1/inject")):
        answer = httpx.request(method, legacy.url + path, json={"query": "deploy"}, timeout=30)
        assert answer.status_code == 409 and answer.json()["error"] == "rolled_back", (path, answer.text)
    deep = get(legacy.url + "/health/deep", timeout=60)
    assert deep.status_code == 200, deep.text
    assert legacy.stop() == 0
    assert _applied(db) == LEGACY

    restored = serve_process("--migrate", db=db, dev=True)
    assert _applied(db) == ALL
    assert get(restored.url + "/health/ready").json()["schema"] == "current"
    assert get(restored.url + "/v1/memories").status_code == 200
    assert get(restored.url + "/v1/entities/Ada").json()["entity"]["observations"] == [
        "wrote the first program",
        "poet's daughter",
    ]


def test_schema_4_is_not_a_run_state_and_readiness_says_what_to_run(
    serve_process: Any, tmp_path: Path
) -> None:
    db = tmp_path / "four" / "memory.db"
    schema.migrate(db)
    _roll_back(db, 5)
    served = serve_process(db=db, dev=True)
    assert _applied(db) == ALL - {5}
    ready = get(served.url + "/health/ready")
    assert ready.status_code == 503
    reason = " ".join(ready.json()["reasons"])
    assert "not a state to run in" in reason and "db migrate" in reason and "--migration 004" in reason


def test_a_legacy_database_of_an_earlier_release_gets_new_base_migrations_only(
    serve_process: Any, tmp_path: Path
) -> None:
    """0.2.0's option C left 001-003; this release's serve adds 006 (operational: incidents,
    approvals...) and still not 004 or 005, and serves legacy mode."""
    db = tmp_path / "old" / "memory.db"
    schema.migrate(db)
    for version in sorted(ALL - {1, 2, 3} - migrations.FEATURE_MIGRATIONS, reverse=True):
        conn = open_connection(db)
        try:
            migrations.rollback(conn, version)  # the base ones this release added
        finally:
            conn.close()
    _roll_back(db, 5, 4)
    assert _applied(db) == {1, 2, 3} and schema.status(db).state == "behind"
    served = serve_process(db=db, dev=True)
    assert _applied(db) == LEGACY
    assert get(served.url + "/health/ready").json()["schema"] == "legacy"


def test_feature_migrations_roll_back_under_a_newer_base_one(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    schema.migrate(db)
    conn = open_connection(db)
    try:
        assert migrations.rollback_refusal(migrations.applied_versions(conn), 4) == (
            "migration 004 is not the newest applied Phase 2-4 migration (that is 005); roll back 005 first"
        )
        assert "not the newest applied (that is" in str(migrations.rollback_refusal(ALL, 3))
        assert migrations.rollback_refusal(ALL, 5) is None  # 006 stays: it never needs 005
    finally:
        conn.close()


def test_migrate_and_no_migrate_together_are_refused(serve_process: Any) -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "memory_system", "serve", "--migrate", "--no-migrate", "--dev"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0 and "contradict" in done.stderr
