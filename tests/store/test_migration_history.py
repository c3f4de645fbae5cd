"""Databases migrated by an earlier text of migration 004 are accepted and brought to one state.

The fixtures in ``migration_history/`` are this repository's own history
(``git show fbe7396:memory_system/migrations/004_phase_2_hierarchical_memory.sql``, and
``aa2c0de:``). Each test builds a database the way those builds did (001-003, that 004 text,
optionally the current 005), with Phase 1 and Phase 2 rows, then runs today's migrate.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from memory_system.core.errors import MigrationError
from memory_system.ops import schema
from memory_system.ops.integrity import check
from memory_system.store import entities, inventory, migration_history, migrations
from memory_system.store.connection import Connection, open_connection

HISTORY = Path(__file__).parent / "migration_history"
TEXTS = {"fbe7396": HISTORY / "004_at_fbe7396.sql", "aa2c0de": HISTORY / "004_at_aa2c0de.sql"}


def _apply(conn: Connection, version: int, name: str, sql: str) -> None:
    checksum = hashlib.sha256(sql.encode()).hexdigest()
    conn.executescript(
        f"BEGIN IMMEDIATE;\n{sql}\nINSERT INTO schema_migrations (version, name, checksum) "
        f"VALUES ({version}, '{name}', '{checksum}');\nCOMMIT;"
    )


def _build(path: Path, text_004: str, *, with_005: bool) -> None:
    known = migrations.load_migrations()
    conn = open_connection(path)
    try:
        migrations.ensure_table(conn)
        for m in known[:3]:
            _apply(conn, m.version, m.name, m.sql)
        _apply(conn, 4, known[3].name, text_004)
        if with_005:
            _apply(conn, 5, known[4].name, known[4].sql)
        conn.executescript(
            "BEGIN;"
            "INSERT INTO entities (id, name, entity_type)"
            " VALUES (1, 'Ada Lovelace', 'person'), (2, 'Zoë', 'person');"
            "INSERT INTO observations (entity_id, content) VALUES (1, 'wrote the first program');"
            "INSERT INTO relations (from_id, to_id, relation_type) VALUES (2, 1, 'admires');"
            "INSERT INTO memories (agent_id, content, content_hash) VALUES ('coder', 'use errgroup', 'h1');"
            "INSERT INTO user_preferences (user_id, key, value) VALUES ('u', 'theme', '\"dark\"');"
            "COMMIT;"
        )
    finally:
        conn.close()


def _dump(path: Path) -> set[tuple[str, str, str, str]]:
    conn = open_connection(path, create=False)
    try:
        rows = conn.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
        ).fetchall()
        return {(str(t), str(n), str(b), str(s)) for t, n, b, s in rows}
    finally:
        conn.close()


def _rows(path: Path) -> dict[str, list[dict[str, object]]]:
    conn = open_connection(path, create=False)
    try:
        found: dict[str, list[dict[str, object]]] = {}
        for table in ("entities", "observations", "relations", "memories", "user_preferences"):
            names = [str(r[1]) for r in conn.execute(f"PRAGMA table_info({table})")]
            rows = conn.execute(f"SELECT {', '.join(names)} FROM {table} ORDER BY id")
            found[table] = [dict(zip(names, row, strict=True)) for row in rows]
        return found
    finally:
        conn.close()


def _kept(before: dict[str, list[dict[str, object]]], after: dict[str, list[dict[str, object]]]) -> bool:
    """Every row as it was, in the columns it had (005 adds columns to user_preferences)."""
    return all(
        [{k: row[k] for k in old} for row, old in zip(after[t], rows, strict=True)] == rows
        and len(after[t]) == len(rows)
        for t, rows in before.items()
    )


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> set[tuple[str, str, str, str]]:
    path = tmp_path_factory.mktemp("fresh") / "fresh.db"
    schema.migrate(path)
    return _dump(path)


def test_every_fixture_is_a_registered_earlier_text() -> None:
    for commit, path in TEXTS.items():
        earlier = migration_history.earlier_text(4, hashlib.sha256(path.read_text().encode()).hexdigest())
        assert earlier is not None and earlier.commit == commit


@pytest.mark.parametrize("with_005", [False, True], ids=["at-4", "at-5"])
@pytest.mark.parametrize("commit", sorted(TEXTS))
def test_a_database_of_each_history_is_mended_to_the_current_state(
    tmp_path: Path, fresh: set[tuple[str, str, str, str]], commit: str, with_005: bool
) -> None:
    db = tmp_path / "old.db"
    _build(db, TEXTS[commit].read_text(), with_005=with_005)
    before = _rows(db)

    status = schema.status(db)  # db status names the mend; readiness is not ready until it runs
    assert status.state == "behind" and status.mends and commit in status.mends[0]
    assert not check(db).ok

    schema.migrate(db)

    assert _dump(db) == fresh
    assert _kept(before, _rows(db))
    current = {m.version: m.checksum for m in migrations.load_migrations()}
    conn = open_connection(db, create=False)
    try:
        assert migrations.recorded_checksums(conn) == current
        # the entity-search index holds the rows written before the mend, and new ones
        assert [r.name for r in entities.search_entities(conn, "default", "Lovelace")] == ["Ada Lovelace"]
        assert [r.name for r in entities.search_entities(conn, "default", "first program")] == [
            "Ada Lovelace"
        ]
    finally:
        conn.close()
    after = schema.status(db)
    assert after.state == "current" and not after.problems and not after.mends
    assert check(db).ok


def test_an_unmended_database_rolls_back_cleanly(tmp_path: Path) -> None:
    """``db rollback`` of 004 mends first: the current rollback script drops a view, not a table."""
    db = tmp_path / "old.db"
    _build(db, TEXTS["aa2c0de"].read_text(), with_005=False)
    conn = open_connection(db)
    try:
        migrations.rollback(conn, 4)
        assert migrations.current_version(conn) == 3
    finally:
        conn.close()
    assert schema.status(db).state == "behind"  # 006 and later (base) still to apply
    schema.migrate(db, skip=migrations.FEATURE_MIGRATIONS)
    assert schema.status(db).state == "legacy"
    assert _rows_phase_1(db) == {"entities": 2, "observations": 1, "relations": 1}


def _rows_phase_1(path: Path) -> dict[str, int]:
    conn = open_connection(path, create=False)
    try:
        return inventory.phase_1_counts(conn)
    finally:
        conn.close()


def test_an_unknown_text_is_refused_and_named(tmp_path: Path) -> None:
    db = tmp_path / "edited.db"
    _build(db, TEXTS["fbe7396"].read_text() + "\n-- edited\n", with_005=False)
    status = schema.status(db)
    assert status.state == "damaged" and "changed after it was applied" in status.problems[0]
    with pytest.raises(MigrationError, match="004_phase_2_hierarchical_memory.sql changed"):
        schema.migrate(db)
