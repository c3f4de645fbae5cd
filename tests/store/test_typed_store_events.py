"""Migration 005 (the typed-store audit trail) on a database that already holds typed-store rows,
its rollback, and the SQL of ``typed_store_events``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from memory_system.store import migrations
from memory_system.store import typed_store_events as events
from memory_system.store.connection import Connection, open_connection, transaction

AUDIT = 5


def columns(conn: Connection, table: str) -> list[str]:
    return [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]


def rows(conn: Connection, table: str, cols: str) -> list[tuple[object, ...]]:
    return [tuple(r) for r in conn.execute(f"SELECT {cols} FROM {table} ORDER BY id")]


@pytest.fixture
def at_004(db_file: Path) -> Iterator[Connection]:
    """A database of the release before 005, with the rows its typed stores held."""
    conn = open_connection(db_file)
    migrations.migrate(conn, to=AUDIT - 1)
    with transaction(conn):
        conn.execute(
            "INSERT INTO user_preferences (namespace, user_id, key, value) VALUES ('p', 'u', 'k', '1')"
        )
        conn.execute(
            "INSERT INTO code_patterns (namespace, agent_id, language, name, description, created_at,"
            " updated_at) VALUES ('p', 'a', 'python', 'never updated', 'retry loop', 'T1', 'T1'),"
            " ('p', 'b', 'go', 'updated later', 'context timeout', 'T1', 'T2')"
        )
    yield conn
    conn.close()


def test_005_records_what_it_can_know_of_existing_rows(at_004: Connection) -> None:
    conn = at_004
    migrations.migrate(conn, to=AUDIT)
    assert columns(conn, "user_preferences")[-2:] == ["created_by", "updated_by"]
    assert rows(conn, "user_preferences", "key, created_by, updated_by") == [("k", None, None)]
    # agent_id was always the last writer; it is the creator only where the row was never updated
    assert rows(conn, "code_patterns", "name, agent_id, created_by, updated_by") == [
        ("never updated", "a", "a", "a"),
        ("updated later", "b", None, "b"),
    ]
    matches = conn.execute("SELECT rowid FROM code_patterns_fts WHERE code_patterns_fts MATCH 'timeout'")
    assert [r[0] for r in matches] == [2]  # the full-text index followed the backfill
    assert conn.execute("SELECT COUNT(*) FROM typed_store_events").fetchone()[0] == 0


def test_rolling_005_back_keeps_every_preference_and_pattern(at_004: Connection) -> None:
    conn = at_004
    before = (rows(conn, "user_preferences", "*"), rows(conn, "code_patterns", "*"))
    migrations.migrate(conn, to=AUDIT)
    with transaction(conn):
        events.record(conn, events.TypedStoreChange("p", "preference", "update", "a", "k", user_id="u"), "T3")
    migrations.rollback(conn, AUDIT)
    assert migrations.current_version(conn) == AUDIT - 1
    assert (rows(conn, "user_preferences", "*"), rows(conn, "code_patterns", "*")) == before
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "typed_store_events" not in tables
    assert [
        r[0]
        for r in conn.execute("SELECT rowid FROM code_patterns_fts WHERE code_patterns_fts MATCH 'retry'")
    ]
    migrations.migrate(conn)  # and it applies again
    assert "created_by" in columns(conn, "code_patterns")


def test_events_are_listed_newest_first_within_one_namespace(migrated_db: Path) -> None:
    conn = open_connection(migrated_db, create=False)
    with transaction(conn):
        for namespace, store, agent, key in (
            ("p", "preference", "a", "tone"),
            ("p", "code_pattern", "b", "retry"),
            ("q", "preference", "a", "tone"),
            ("p", "preference", "b", "tone"),
        ):
            change = events.TypedStoreChange(
                namespace, store, "create", agent, key, policy="creator" if agent == "b" else None
            )
            events.record(conn, change, "T")
    listed = events.list_events(conn, "p", limit=10)
    assert [(r["id"], r["agent_id"], r["outcome"]) for r in listed] == [
        (4, "b", "refused"),
        (2, "b", "refused"),
        (1, "a", "applied"),
    ]
    assert [r["id"] for r in events.list_events(conn, "p", store="preference", key="tone", limit=10)] == [
        4,
        1,
    ]
    assert [r["id"] for r in events.list_events(conn, "p", before_id=4, limit=1)] == [2]
    assert [r["id"] for r in events.list_events(conn, "q", agent_id="b", limit=10)] == []
    conn.close()
