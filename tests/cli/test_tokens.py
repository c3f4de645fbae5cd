"""``memory-system tokens``: a token is printed once and stored only as its sha256."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from memory_system.store.connection import open_connection


def _rows(db: Path) -> list[tuple[Any, ...]]:
    conn = open_connection(db, create=False)
    try:
        return [
            tuple(r)
            for r in conn.execute("SELECT token_hash, agent_id, namespace, revoked_at FROM agent_tokens")
        ]
    finally:
        conn.close()


def test_create_prints_the_token_once_and_stores_only_its_hash(cli: Any, migrated_db: Path) -> None:
    created = cli(
        "tokens",
        "create",
        "--agent",
        "alice",
        "--namespace",
        "p1",
        "--label",
        "laptop",
        "--db",
        str(migrated_db),
        check=True,
    )
    token = created.stdout.strip()
    assert token.startswith("mst_") and len(token) > 40 and "\n" not in token
    assert "not shown again" in created.stderr
    assert _rows(migrated_db) == [(hashlib.sha256(token.encode()).hexdigest(), "alice", "p1", None)]
    cli("db", "status", "--db", str(migrated_db))  # fold the WAL so the file holds everything
    for path in migrated_db.parent.glob(migrated_db.name + "*"):
        assert token.encode() not in path.read_bytes()

    listed = cli("tokens", "list", "--json", "--db", str(migrated_db), check=True)
    (entry,) = json.loads(listed.stdout)
    assert entry["agent_id"] == "alice" and entry["label"] == "laptop" and entry["revoked_at"] is None
    assert token not in listed.stdout
    assert token not in cli("tokens", "list", "--db", str(migrated_db), check=True).stdout


def test_revoke_by_the_listed_id(cli: Any, migrated_db: Path) -> None:
    created = json.loads(
        cli("tokens", "create", "--agent", "bob", "--db", str(migrated_db), "--json", check=True).stdout
    )
    assert created["namespace"] == "default"
    revoked = cli("tokens", "revoke", created["id"], "--db", str(migrated_db))
    assert revoked.returncode == 0 and "revoked" in revoked.stdout
    assert _rows(migrated_db)[0][3] is not None
    active = json.loads(
        cli("tokens", "list", "--active", "--json", "--db", str(migrated_db), check=True).stdout
    )
    assert active == []


def test_bad_input_is_refused_and_changes_nothing(cli: Any, migrated_db: Path, tmp_path: Path) -> None:
    bad_agent = cli("tokens", "create", "--agent", "has space", "--db", str(migrated_db))
    assert bad_agent.returncode == 1 and "agent" in bad_agent.stderr
    bad_ns = cli("tokens", "create", "--agent", "a", "--namespace", "", "--db", str(migrated_db))
    assert bad_ns.returncode == 1 and "namespace" in bad_ns.stderr
    unknown = cli("tokens", "revoke", "0123456789ab", "--db", str(migrated_db))
    assert unknown.returncode == 1 and "tokens list" in unknown.stderr
    assert _rows(migrated_db) == []
    missing = cli("tokens", "list", "--db", str(tmp_path / "nowhere.db"))
    assert missing.returncode == 1 and "db migrate" in missing.stderr


def test_a_narrow_terminal_never_cuts_the_id_revoke_needs_nor_the_timestamps(
    cli: Any, migrated_db: Path
) -> None:
    for agent in ("a-rather-long-agent-name", "another-long-agent-name"):
        cli(
            "tokens", "create", "--agent", agent, "--label", "ci runner", "--db", str(migrated_db), check=True
        )
    first = json.loads(cli("tokens", "list", "--json", "--db", str(migrated_db), check=True).stdout)[0]
    cli("tokens", "revoke", first["id"], "--db", str(migrated_db), check=True)
    (entry, other) = json.loads(cli("tokens", "list", "--json", "--db", str(migrated_db), check=True).stdout)
    text = cli("tokens", "list", "--db", str(migrated_db), env={"COLUMNS": "60"}, check=True).stdout
    assert "…" not in text
    for shown in (entry["id"], entry["created_at"], entry["revoked_at"], other["id"]):
        assert shown in text, (shown, text)
    revoked = cli("tokens", "revoke", other["id"], "--db", str(migrated_db), check=True)
    assert other["id"] in revoked.stdout
